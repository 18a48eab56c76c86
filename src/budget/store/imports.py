"""Writing a whole run at once: results users already have, imported (one part of the store).

An import is all or nothing: the run, its task and problems, every sample and every verdict
are written in one transaction, so a failure (a bad value, a full disk, a kill) leaves the
store as it was.  Samples go in by SQLAlchemy's batched ``INSERT ... RETURNING`` (the
"insertmanyvalues" mode of SQLAlchemy 2), so 10^6 samples take seconds, not an hour of
one-row statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select

from budget.errors import DataError, StoreError
from budget.money import to_micro
from budget.store.engine import StoreBase, _utc, new_run_id, text_hash
from budget.store.records import RunRecord, RunStatus, utcnow
from budget.store.samples import storable_text
from budget.store.tables import ProblemRow, RunRow, SampleRow, TaskRow, VerdictRow

#: Samples per INSERT batch: bounds the memory of one batch's parameter rows.
BATCH = 20_000


@dataclass
class SampleExtra:
    """What an imported sample may carry beyond its verdicts (budget's own samples JSONL)."""

    completion: str | None = None
    prompt_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    latency_s: float = 0.0
    finish_reason: str = ""
    seed: int | None = None
    sample_index: int | None = None


@dataclass
class ImportBlock:
    """The imported samples of one (model, problem): per tier, one outcome per sample."""

    model: str
    problem_id: str
    tiers: dict[str, list[bool]]
    extras: list[SampleExtra] | None = None
    prompt: str | None = None

    @property
    def samples(self) -> int:
        """How many samples this block holds."""
        return max((len(v) for v in self.tiers.values()), default=len(self.extras or ()))


@dataclass
class ImportSummary:
    """What an import stored: its run and, per model, the problems and samples."""
    run: RunRecord
    per_model: dict[str, tuple[int, int]] = field(default_factory=dict)  # model -> (problems, samples)


class ImportStore(StoreBase):
    """Store a run of imported results in one transaction."""

    def import_run(
        self,
        task: str,
        blocks: Sequence[ImportBlock],
        *,
        settings: dict[str, Any],
        note: str = "",
        source: str = "",
        progress: Callable[[int], None] | None = None,
        fingerprint: str | None = None,
        origins: Sequence[str] = (),
    ) -> ImportSummary:
        """Write ``blocks`` as one finished run of ``task``; nothing is written if anything fails.

        ``progress`` hears the number of samples written so far, after each block or batch.
        ``fingerprint`` (stored in ``settings["imported"]``): when a run of ``task`` already
        carries it, the import is refused (:class:`DataError` naming that run), checked inside
        the write transaction so that two imports of one file at once store it once.  Likewise
        when a run named in ``origins`` (the runs exported rows came from) is in this store.
        """
        from budget import __version__

        models = list(dict.fromkeys(b.model for b in blocks))
        spent = sum((x.cost for b in blocks for x in b.extras or ()), Decimal(0))
        now = _utc(utcnow())
        run_id = new_run_id()
        per_model: dict[str, tuple[int, int]] = {}
        for b in blocks:
            p, n = per_model.get(b.model, (0, 0))
            per_model[b.model] = (p + 1, n + b.samples)
        with self._guard(), self.engine.begin() as conn:
            self._ensure_task(conn, task, blocks, source)
            conn.execute(
                insert(_RUNS),
                {
                    "id": run_id,
                    "task": task,
                    "models_json": json.dumps(models),
                    "status": RunStatus.FINISHED.value,
                    "cap_usd": None,
                    "spent_usd": str(spent),
                    "spent_micro": to_micro(spent),
                    "plan_json": None,
                    "settings_json": json.dumps(settings, default=str),
                    "created_at": now,
                    "updated_at": now,
                    "budget_version": __version__,
                    "note": note,
                },
            )
            if fingerprint is not None:
                _refuse_duplicate(conn, task, run_id, fingerprint)
            if origins:
                _refuse_own_samples(conn, origins)
            # SQLite: the run row above took the database's write lock, so the next sample ids are
            # ours to assign, and plain executemany (no RETURNING) is several times faster.
            next_id = None
            if conn.dialect.name == "sqlite":
                next_id = (
                    int(conn.execute(select(func.coalesce(func.max(_SAMPLES.c.id), 0))).scalar_one()) + 1
                )
            if next_id is not None:
                self._insert_sqlite(conn, run_id, task, blocks, next_id, now, progress)
            else:
                written = 0
                for batch in _batches(run_id, task, blocks, now):
                    ids = list(
                        conn.execute(
                            insert(_SAMPLES).returning(_SAMPLES.c.id, sort_by_parameter_order=True),
                            [dict(zip(_SAMPLE_COLUMNS, row, strict=True)) for row, _ in batch],
                        ).scalars()
                    )
                    verdicts = [
                        {
                            "sample_id": sid,
                            "tier": tier,
                            "passed": ok,
                            "outcome": _outcome(ok),
                            "duration_s": 0.0,
                            "detail": "imported",
                        }
                        for sid, (_, tiers) in zip(ids, batch, strict=True)
                        for tier, ok in tiers
                    ]
                    if verdicts:
                        conn.execute(insert(_VERDICTS), verdicts)
                    written += len(batch)
                    if progress is not None:
                        progress(written)
        return ImportSummary(run=self.get_run(run_id), per_model=per_model)  # type: ignore[attr-defined]

    @staticmethod
    def _insert_sqlite(
        conn: Connection,
        run_id: str,
        task: str,
        blocks: Sequence[ImportBlock],
        next_id: int,
        now: Any,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """SQLite: rows straight to the driver's executemany, streamed from generators (no list of
        10^6 rows in memory); the same values SQLAlchemy would bind (its own DateTime bind
        processor formats the timestamp, once).
        """
        process = _SAMPLES.c.created_at.type.bind_processor(conn.dialect)
        stamp = process(now) if process is not None else now
        sample_sql = (
            f"INSERT INTO {_SAMPLES.name} (id, {', '.join(_SAMPLE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(_SAMPLE_COLUMNS) + 1))})"
        )
        verdict_sql = (
            f"INSERT INTO {_VERDICTS.name} (sample_id, tier, passed, outcome, duration_s, detail) "
            "VALUES (?, ?, ?, ?, 0.0, 'imported')"
        )
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        start = next_id
        try:
            for b in blocks:
                n = _checked_size(b)
                first = next_id
                if b.extras is None:
                    plain = (run_id, b.model, task, b.problem_id)
                    rest = (None, "", None, "", 0, 0, "0", 0, 0.0, "", stamp)
                    cur.executemany(sample_sql, ((first + i, *plain, i, *rest) for i in range(n)))
                else:
                    rows = (row for row, _ in _block_rows(run_id, task, b, stamp))
                    cur.executemany(sample_sql, ((first + i, *row) for i, row in enumerate(rows)))
                for tier, outcomes in b.tiers.items():
                    cur.executemany(
                        verdict_sql,
                        ((first + i, tier, 1 if ok else 0, _outcome(ok)) for i, ok in enumerate(outcomes)),
                    )
                next_id += n
                if progress is not None:
                    progress(next_id - start)
        finally:
            cur.close()

    @staticmethod
    def _ensure_task(conn: Connection, task: str, blocks: Sequence[ImportBlock], source: str) -> None:
        t = _TASKS.c
        row = conn.execute(select(t.problems).where(t.name == task)).first()
        known = set(conn.execute(select(_PROBLEMS.c.problem_id).where(_PROBLEMS.c.task == task)).scalars())
        if row is None:
            conn.execute(
                insert(_TASKS), {"name": task, "problems": 0, "source": source, "added_at": _utc(utcnow())}
            )
        fresh: dict[str, str | None] = {}
        for b in blocks:
            if b.problem_id not in known and b.problem_id not in fresh:
                fresh[b.problem_id] = b.prompt
        if fresh:
            conn.execute(
                insert(_PROBLEMS),
                [
                    {"task": task, "problem_id": pid, "prompt_hash": text_hash(p) if p else "", "prompt": p}
                    for pid, p in fresh.items()
                ],
            )
        size = len(known) + len(fresh)
        if row is None or size > int(row[0] or 0):
            conn.execute(_TASKS.update().where(t.name == task).values(problems=size))


def _refuse_duplicate(conn: Connection, task: str, run_id: str, fingerprint: str) -> None:
    """Raise when another run of ``task`` was imported with ``fingerprint``.  Runs after this
    run's row is written: on SQLite that write holds the database's write lock, so a concurrent
    import of the same file waits and then finds this one.
    """
    r = _RUNS.c
    rows = conn.execute(
        select(r.id, r.created_at, r.settings_json).where(
            r.task == task, r.id != run_id, r.settings_json.contains(fingerprint)
        )
    )
    for other, created, settings in rows:
        imported = json.loads(settings or "{}").get("imported") or {}
        if imported.get("fingerprint") == fingerprint:
            when = f"{created:%Y-%m-%d %H:%M}" if created is not None else "earlier"
            raise DataError(
                f"this content is already imported as run {other} of {task} ({when}); importing it "
                "again would count its samples twice (pass --again to store it as another run)"
            )


def _refuse_own_samples(conn: Connection, origins: Sequence[str]) -> None:
    """Raise when a run the imported rows came from is in this store (its samples are here)."""
    r = _RUNS.c
    found = conn.execute(select(r.id, r.task).where(r.id.in_(list(origins))).limit(1)).first()
    if found is not None:
        raise DataError(
            f"these samples come from run {found[0]} of {found[1]}, which is in this store; importing "
            "them would count them twice (pass --again to store them as another run)"
        )


def _checked_size(b: ImportBlock) -> int:
    n = b.samples
    for tier, outcomes in b.tiers.items():
        if len(outcomes) != n:
            raise StoreError(f"{b.model} {b.problem_id}: tier {tier} has {len(outcomes)} outcomes, not {n}")
    if b.extras is not None and len(b.extras) != n:
        raise StoreError(f"{b.model} {b.problem_id}: {len(b.extras)} samples but {n} outcomes")
    return n


def _block_rows(
    run_id: str, task: str, b: ImportBlock, now: Any
) -> Iterator[tuple[tuple[Any, ...], list[tuple[str, bool]]]]:
    """One block's sample rows (values in :data:`_SAMPLE_COLUMNS` order) with their verdicts."""
    n = _checked_size(b)
    tiers = list(b.tiers.items())
    plain = (run_id, b.model, task, b.problem_id)
    for i in range(n):
        x = b.extras[i] if b.extras is not None else None
        if x is None:
            row: tuple[Any, ...] = (*plain, i, None, "", None, "", 0, 0, "0", 0, 0.0, "", now)
        else:
            # the text as every other write path stores it (lone surrogates and NUL as U+FFFD,
            # runaway replies cut): a JSON "\ud800" in a completion cannot fail the import
            text = storable_text(x.completion) if x.completion is not None else None
            row = (
                *plain,
                x.sample_index if x.sample_index is not None else i,
                x.seed,
                "",
                text,
                text_hash(text) if text is not None else "",
                x.prompt_tokens,
                x.output_tokens,
                str(x.cost),
                to_micro(x.cost),
                x.latency_s,
                storable_text(x.finish_reason, limit=200),
                now,
            )
        yield row, [(tier, v[i]) for tier, v in tiers]


def _batches(
    run_id: str, task: str, blocks: Sequence[ImportBlock], now: Any
) -> Iterator[list[tuple[tuple[Any, ...], list[tuple[str, bool]]]]]:
    """:func:`_block_rows` of every block, in batches of :data:`BATCH` samples."""
    batch: list[tuple[tuple[Any, ...], list[tuple[str, bool]]]] = []
    for b in blocks:
        for item in _block_rows(run_id, task, b, now):
            batch.append(item)
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _outcome(ok: bool) -> str:
    return "pass" if ok else "fail"


_SAMPLE_COLUMNS = (
    "run_id",
    "model",
    "task",
    "problem_id",
    "sample_index",
    "seed",
    "prompt_hash",
    "completion",
    "completion_hash",
    "prompt_tokens",
    "output_tokens",
    "cost_usd",
    "cost_micro",
    "latency_s",
    "finish_reason",
    "created_at",
)
_RUNS: Table = RunRow.__table__  # type: ignore[attr-defined]
_TASKS: Table = TaskRow.__table__  # type: ignore[attr-defined]
_PROBLEMS: Table = ProblemRow.__table__  # type: ignore[attr-defined]
_SAMPLES: Table = SampleRow.__table__  # type: ignore[attr-defined]
_VERDICTS: Table = VerdictRow.__table__  # type: ignore[attr-defined]
