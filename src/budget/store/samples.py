"""Samples and their verdicts per tier (one part of the store).

Writes are idempotent on the natural key: a sample on ``(run, model, problem, sample index)``,
a verdict on ``(sample, tier)``; the first write of a key wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from budget.errors import StoreError
from budget.money import to_micro
from budget.store.engine import StoreBase, _aware, _utc, text_hash
from budget.store.records import SampleKey, SampleRecord
from budget.store.tables import SampleRow, VerdictRow
from budget.verify.protocol import Outcome, Verdict

#: The most characters of one text (a completion, a verdict's detail) the store keeps; the rest
#: is cut and a marker says how long the text was.  A sample that long is a runaway reply.
MAX_STORED_TEXT = 1_000_000

_UNSTORABLE = {0: "\ufffd"}  # NUL: PostgreSQL's text cannot hold it


def storable_text(text: str, *, limit: int = MAX_STORED_TEXT) -> str:
    """``text`` as the store keeps it: valid Unicode with no NUL, at most ``limit`` characters.

    Lone surrogates (which no UTF-8 database can encode) and NUL become U+FFFD; a longer text
    is cut and ends with ``[budget: truncated, N characters in all]``.  Everything else (terminal
    escapes included) is kept as is: it is data, escaped when shown (``budget.report.text``).
    """
    if len(text) > limit:
        text = f"{text[:limit]}\n[budget: truncated, {len(text)} characters in all]"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. from a JSON "\\ud800" escape)
        text = "".join("\ufffd" if 0xD800 <= ord(c) < 0xE000 else c for c in text)
    return text.translate(_UNSTORABLE) if "\x00" in text else text


class SampleStore(StoreBase):
    """Writing samples (in bulk, idempotently), setting verdicts, reading samples back."""

    # --- samples -----------------------------------------------------------------------
    def add_sample(self, sample: SampleRecord) -> bool:
        """Write a sample and its verdicts; False (and nothing changed) if its key exists.

        The first write of a key wins: a resumed run that sends the same sample again is
        not counted twice.  Add later verdict tiers with :meth:`set_verdict`.
        """
        return self.add_samples([sample]) == 1

    def add_samples(self, samples: Iterable[SampleRecord]) -> int:
        """Write several samples in one transaction; returns how many were new.

        Each key is written at most once (see :meth:`add_sample`), also when another
        writer stores the same key at the same moment.
        """
        with self._guard():
            return self._add_samples([(x, self._sample_values(x)) for x in samples])

    def _add_samples(self, rows: list[tuple[SampleRecord, dict[str, Any]]]) -> int:
        if not rows:
            return 0
        try:
            with self.engine.begin() as conn:
                return sum(self._insert(conn, x, values) for x, values in rows)
        except IntegrityError:
            pass  # a concurrent writer won a key between our check and insert: one by one
        new = 0
        for x, values in rows:
            try:
                with self.engine.begin() as conn:
                    new += self._insert(conn, x, values)
            except IntegrityError:
                with self.engine.connect() as conn:
                    if self._find_id(conn, x.key) is None:
                        raise StoreError(f"cannot store sample {tuple(x.key)}: no run {x.run_id!r}") from None
        return new

    def _sample_values(self, x: SampleRecord) -> dict[str, Any]:
        completion = None if x.completion is None else storable_text(x.completion, limit=len(x.completion))
        digest = x.completion_hash or (text_hash(completion) if completion is not None else "")
        if completion is not None:
            completion = storable_text(completion)
        return {
            "run_id": x.run_id,
            "model": x.model,
            "task": x.task or self._run_task(x.run_id),
            "problem_id": x.problem_id,
            "sample_index": x.sample_index,
            "seed": x.seed,
            "prompt_hash": x.prompt_hash,
            "completion": completion,
            "completion_hash": digest,
            "prompt_tokens": x.prompt_tokens,
            "output_tokens": x.output_tokens,
            "cost_usd": str(x.cost),
            "cost_micro": to_micro(x.cost),
            "latency_s": x.latency_s,
            "finish_reason": x.finish_reason,
            "created_at": _utc(x.created_at),
        }

    def _insert(self, conn: Connection, x: SampleRecord, values: dict[str, Any]) -> bool:
        if self._find_id(conn, x.key) is not None:
            return False
        sid = conn.execute(_INSERT_SAMPLE, values).inserted_primary_key[0]  # type: ignore[index]
        if x.verdicts:
            conn.execute(_INSERT_VERDICT, [_verdict_values(sid, t, v) for t, v in x.verdicts.items()])
        return True

    @staticmethod
    def _find_id(conn: Connection, key: SampleKey) -> int | None:
        found = conn.execute(
            _FIND_SAMPLE,
            {"run_id": key.run_id, "model": key.model, "problem_id": key.problem_id, "idx": key.sample_index},
        ).scalar()
        return None if found is None else int(found)

    def set_verdict(self, key: SampleKey, tier: str, verdict: Verdict) -> None:
        """Record (or replace) the verdict of one verifier tier for a stored sample."""
        with self._guard(), self.engine.begin() as conn:
            sid = self._find_id(conn, key)
            if sid is None:
                raise StoreError(f"no sample {tuple(key)} in the store")
            v = _VERDICTS.c
            conn.execute(_VERDICTS.delete().where(v.sample_id == sid, v.tier == tier))
            conn.execute(_INSERT_VERDICT, _verdict_values(sid, tier, verdict))

    def finished_keys(self, run_id: str) -> set[SampleKey]:
        """Keys of the samples of a run already stored: what a resume must not buy again."""
        with self._session() as s:
            q = select(SampleRow.model, SampleRow.problem_id, SampleRow.sample_index).where(
                SampleRow.run_id == run_id
            )
            return {SampleKey(run_id, m, p, i) for m, p, i in s.exec(q)}

    def samples(
        self,
        *,
        run_id: str | None = None,
        task: str | None = None,
        model: str | None = None,
        with_verdicts: bool = True,
    ) -> list[SampleRecord]:
        """Stored samples, in key order, with their verdicts."""
        with self._session() as s:
            q = select(SampleRow)
            if run_id is not None:
                q = q.where(SampleRow.run_id == run_id)
            if task is not None:
                q = q.where(SampleRow.task == task)
            if model is not None:
                q = q.where(SampleRow.model == model)
            q = q.order_by(
                col(SampleRow.run_id),
                col(SampleRow.model),
                col(SampleRow.problem_id),
                col(SampleRow.sample_index),
            )
            rows = list(s.exec(q))
            verdicts: dict[int, dict[str, Verdict]] = {}
            if with_verdicts and rows:
                vq = select(VerdictRow, SampleRow.id).join(
                    SampleRow, col(SampleRow.id) == VerdictRow.sample_id
                )
                if run_id is not None:
                    vq = vq.where(SampleRow.run_id == run_id)
                if task is not None:
                    vq = vq.where(SampleRow.task == task)
                if model is not None:
                    vq = vq.where(SampleRow.model == model)
                for v, sid in s.exec(vq):
                    assert sid is not None
                    verdicts.setdefault(sid, {})[v.tier] = Verdict(
                        passed=v.passed, outcome=Outcome(v.outcome), duration_s=v.duration_s, detail=v.detail
                    )
            return [_sample(r, verdicts.get(r.id or -1, {})) for r in rows]


def _verdict_values(sample_id: int, tier: str, v: Verdict) -> dict[str, Any]:
    return {
        "sample_id": sample_id,
        "tier": tier,
        "passed": v.passed,
        "outcome": v.outcome.value,
        "duration_s": v.duration_s,
        "detail": storable_text(v.detail),
    }


_SAMPLES: Table = SampleRow.__table__  # type: ignore[attr-defined]
_VERDICTS: Table = VerdictRow.__table__  # type: ignore[attr-defined]
_INSERT_SAMPLE = _SAMPLES.insert()
_INSERT_VERDICT = _VERDICTS.insert()
_FIND_SAMPLE = sa_select(_SAMPLES.c.id).where(
    _SAMPLES.c.run_id == bindparam("run_id"),
    _SAMPLES.c.model == bindparam("model"),
    _SAMPLES.c.problem_id == bindparam("problem_id"),
    _SAMPLES.c.sample_index == bindparam("idx"),
)


def _sample(r: SampleRow, verdicts: dict[str, Verdict]) -> SampleRecord:
    return SampleRecord(
        run_id=r.run_id,
        model=r.model,
        problem_id=r.problem_id,
        sample_index=r.sample_index,
        task=r.task,
        seed=r.seed,
        prompt_hash=r.prompt_hash,
        completion=r.completion,
        completion_hash=r.completion_hash,
        prompt_tokens=r.prompt_tokens,
        output_tokens=r.output_tokens,
        cost=Decimal(r.cost_usd),
        latency_s=r.latency_s,
        finish_reason=r.finish_reason,
        created_at=_aware(r.created_at),
        verdicts=verdicts,
    )
