"""Tasks, problems, runs and the price snapshots a run used (one part of the store)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from budget.errors import StoreError
from budget.money import from_micro, to_micro
from budget.store import location
from budget.store.engine import StoreBase, _aware, _dec, _s, _utc, new_run_id, text_hash
from budget.store.records import PriceSnapshot, ProblemRecord, RunRecord, RunStatus, utcnow
from budget.store.tables import PriceRow, ProblemRow, RunRow, SampleRow, TaskRow


class RunStore(StoreBase):
    """Tasks and their problems, runs (status, spend, plan, settings) and price snapshots."""

    # --- tasks and problems ----------------------------------------------------------
    def add_task(self, name: str, problems: Sequence[ProblemRecord] = (), *, source: str = "") -> None:
        """Record a task and its problems (idempotent; known problems are kept as they are)."""
        with self._session() as s:
            task = s.get(TaskRow, name)
            if task is None:
                s.add(TaskRow(name=name, problems=len(problems), source=source, added_at=_utc(utcnow())))
                s.flush()
            known = set(s.exec(select(ProblemRow.problem_id).where(ProblemRow.task == name)).all())
            for p in problems:
                if p.problem_id not in known:
                    digest = p.prompt_hash or (text_hash(p.prompt) if p.prompt is not None else "")
                    s.add(ProblemRow(task=name, problem_id=p.problem_id, prompt_hash=digest, prompt=p.prompt))
                    known.add(p.problem_id)
            row = s.get(TaskRow, name)
            assert row is not None
            row.problems = max(row.problems, len(known))
            if source and not row.source:
                row.source = source
            s.commit()

    def tasks(self) -> list[str]:
        """The tasks recorded in the store, by name."""
        with self._session() as s:
            return list(s.exec(select(TaskRow.name).order_by(TaskRow.name)).all())

    def task_size(self, task: str) -> int | None:
        """How many problems the task has, as recorded (None for an unknown or empty task)."""
        with self._session() as s:
            row = s.get(TaskRow, task)
        return row.problems if row is not None and row.problems > 0 else None

    def problems(self, task: str) -> list[ProblemRecord]:
        """The problems recorded for ``task``, by id."""
        with self._session() as s:
            rows = s.exec(select(ProblemRow).where(ProblemRow.task == task).order_by(ProblemRow.problem_id))
            return [
                ProblemRecord(problem_id=r.problem_id, prompt_hash=r.prompt_hash, prompt=r.prompt)
                for r in rows
            ]

    # --- runs ------------------------------------------------------------------------
    def create_run(
        self,
        task: str,
        *,
        models: Sequence[str] = (),
        cap: Decimal | None = None,
        plan: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        run_id: str | None = None,
        note: str = "",
    ) -> RunRecord:
        """Start a run (status ``created``); also records the task if it is new."""
        from budget import __version__

        self.add_task(task)
        now = _utc(utcnow())
        row = RunRow(
            id=run_id or new_run_id(),
            task=task,
            models_json=json.dumps(list(models)),
            status=RunStatus.CREATED.value,
            cap_usd=_s(cap),
            plan_json=None if plan is None else json.dumps(plan, default=str),
            settings_json=json.dumps(settings or {}, default=str),
            created_at=now,
            updated_at=now,
            budget_version=__version__,
            note=note,
        )
        with self._session() as s:
            if s.get(RunRow, row.id) is not None:
                raise StoreError(f"run {row.id} already exists")
            s.add(row)
            s.commit()
            return _run(row)

    def get_run(self, run_id: str) -> RunRecord:
        """The run ``run_id``; a :class:`StoreError` (one line) if there is none."""
        with self._session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"no run {run_id!r} in the store at {location.display(self.url)}")
            return _run(row, _ledger(s, [row.id]))

    def runs(self, *, task: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first."""
        with self._session() as s:
            q = select(RunRow).order_by(col(RunRow.created_at).desc(), col(RunRow.id).desc())
            if task is not None:
                q = q.where(RunRow.task == task)
            if limit is not None:
                q = q.limit(limit)
            rows = list(s.exec(q))
            book = _ledger(s, [r.id for r in rows])
            return [_run(r, book) for r in rows]

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        spent: Decimal | None = None,
        plan: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        note: str | None = None,
        cap: Decimal | None = None,
        lease_token: str | None = None,
    ) -> RunRecord:
        """Change a run's status, recorded spend (exact), plan, settings, note or cap.

        With ``lease_token``: only while that token holds the run's lease, else
        :class:`~budget.errors.RunBusyError` and nothing written (:func:`budget.store.ledger.fence`).
        """
        with self._session() as s:
            if lease_token is not None:
                from budget.store.ledger import fence

                fence(s, run_id, lease_token)
            row = s.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"no run {run_id!r} in the store at {location.display(self.url)}")
            if status is not None:
                row.status = RunStatus(status).value
            if spent is not None:
                row.spent_usd, row.spent_micro = str(spent), to_micro(spent)
            if plan is not None:
                row.plan_json = json.dumps(plan, default=str)
            if settings is not None:
                row.settings_json = json.dumps(settings, default=str)
            if note is not None:
                row.note = note
            if cap is not None:
                row.cap_usd = _s(cap)
            row.updated_at = _utc(utcnow())
            s.add(row)
            s.commit()
            return _run(row)

    def sample_spend(self, run_id: str) -> Decimal:
        """Exact sum of the costs of a run's stored samples."""
        with self._session() as s:
            costs = s.exec(select(SampleRow.cost_usd).where(SampleRow.run_id == run_id)).all()
        return sum((Decimal(c) for c in costs), Decimal(0))

    # --- price snapshots ---------------------------------------------------------------
    def record_prices(self, run_id: str, prices: Iterable[PriceSnapshot]) -> None:
        """Keep the prices a run used (one per model; a later call replaces a model's row)."""
        with self._session() as s:
            for p in prices:
                row = s.exec(
                    select(PriceRow).where(PriceRow.run_id == run_id, PriceRow.model == p.model)
                ).first()
                row = row or PriceRow(run_id=run_id, model=p.model)
                row.kind = p.kind
                row.input_per_mtok = _s(p.input_per_mtok)
                row.output_per_mtok = _s(p.output_per_mtok)
                row.cached_input_per_mtok = _s(p.cached_input_per_mtok)
                row.usd_per_hour = _s(p.usd_per_hour)
                row.machine = p.machine
                row.source = p.source
                row.as_of = p.as_of
                row.litellm_version = p.litellm_version
                s.add(row)
            s.commit()

    def prices(self, run_id: str) -> list[PriceSnapshot]:
        """The price snapshots a run used, by model."""
        with self._session() as s:
            rows = s.exec(select(PriceRow).where(PriceRow.run_id == run_id).order_by(PriceRow.model))
            return [
                PriceSnapshot(
                    model=r.model,
                    kind=r.kind,
                    input_per_mtok=_dec(r.input_per_mtok),
                    output_per_mtok=_dec(r.output_per_mtok),
                    cached_input_per_mtok=_dec(r.cached_input_per_mtok),
                    usd_per_hour=_dec(r.usd_per_hour),
                    machine=r.machine,
                    source=r.source,
                    as_of=r.as_of,
                    litellm_version=r.litellm_version,
                )
                for r in rows
            ]


def _ledger(s: Any, run_ids: Sequence[str]) -> dict[str, int]:
    from budget.store.ledger import ledger_spend

    return ledger_spend(s, run_ids)


def _run(r: RunRow, ledger: dict[str, int] | None = None) -> RunRecord:
    """The run's record; its spend is never below its ledger's (reservations left open by a
    killed process count whole: :func:`budget.store.ledger.ledger_spend`).
    """
    spent = Decimal(r.spent_usd)
    booked = (ledger or {}).get(r.id)
    if booked is not None and from_micro(booked) > spent:
        spent = from_micro(booked)
    return RunRecord(
        run_id=r.id,
        task=r.task,
        models=json.loads(r.models_json),
        status=RunStatus(r.status),
        cap=_dec(r.cap_usd),
        spent=spent,
        plan=None if r.plan_json is None else json.loads(r.plan_json),
        settings=json.loads(r.settings_json),
        created_at=_aware(r.created_at),
        updated_at=_aware(r.updated_at),
        budget_version=r.budget_version,
        note=r.note,
    )
