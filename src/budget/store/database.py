"""The results store: one class, :class:`Store`, over any SQLAlchemy URL.

SQLite (the default, one file) and PostgreSQL are tested.  Every write is idempotent on
its natural key, so a resumed run can write the same sample again without counting it
twice: a sample is keyed on ``(run, model, problem, sample index)``, a verdict on
``(sample, tier)``, a price snapshot on ``(run, model)``.

Thread safety: each method opens its own session, so one ``Store`` may be shared by the
executor's worker threads (SQLite runs in WAL mode with a busy timeout).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, case, create_engine, event, func, inspect
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, select

from budget.curves import CoverageCurve
from budget.errors import StoreError
from budget.money import to_micro
from budget.store import location
from budget.store.records import (
    CostStats,
    PriceSnapshot,
    ProblemCounts,
    ProblemRecord,
    RunRecord,
    RunStatus,
    SampleKey,
    SampleRecord,
    StoredCurve,
    utcnow,
)
from budget.store.tables import (
    ADDITIVE_TABLES,
    STORE_SCHEMA_VERSION,
    TABLES,
    CurveCountRow,
    CurveRow,
    PriceRow,
    ProblemRow,
    RunRow,
    SampleRow,
    SchemaRow,
    TaskRow,
    VerdictRow,
    metadata,
)
from budget.verify.protocol import Outcome, Verdict


class NoStoreError(StoreError):
    """There is no budget store at the location (opened with ``create=False``)."""


def text_hash(text: str) -> str:
    """SHA-256 of the UTF-8 text, hex: how prompts and completions are identified."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def _utc(dt: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken to be UTC already)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class Store:
    """The results store at ``url`` (an SQLAlchemy URL; see :func:`budget.store.location.resolve`).

    Opening checks the schema version: a database written by another store version raises
    :class:`~budget.errors.StoreError` with a one-line message; an empty one is created.
    """

    def __init__(
        self, url: str | os.PathLike[str] | None = None, *, create: bool = True, echo: bool = False
    ) -> None:
        self.url = location.resolve(url)
        self._run_tasks: dict[str, str] = {}
        self.engine = self._engine(self.url, create=create, echo=echo)
        try:
            self._check_schema(create=create)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(
                f"cannot open the store at {location.display(self.url)}: {_first_line(exc)}"
            ) from exc
        except BaseException:
            self.engine.dispose()
            raise

    # --- opening -------------------------------------------------------------------
    @staticmethod
    def _engine(url: str, *, create: bool, echo: bool) -> Engine:
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            path = location.sqlite_path(url)
            if path is None:
                kwargs["poolclass"] = StaticPool
            elif create:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create the store directory {path.parent}: {exc}") from exc
            elif not path.is_file():
                raise NoStoreError(f"no store at {path}")
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        try:
            engine = create_engine(url, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot open the store at {location.display(url)}: {_first_line(exc)}") from exc
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def _check_schema(self, *, create: bool) -> None:
        names = set(inspect(self.engine).get_table_names())
        ours = {t.__tablename__ for t in TABLES}  # type: ignore[attr-defined]
        where = location.display(self.url)
        if SchemaRow.__tablename__ not in names:
            if names & ours:
                raise StoreError(
                    f"the database at {where} has budget tables but no schema version; "
                    "it was not written by this budget (use another --db)"
                )
            if not create:
                raise NoStoreError(f"no budget store at {where}")
            self._create()
            return
        with Session(self.engine) as s:
            row = s.get(SchemaRow, 1)
        if row is None:
            raise StoreError(f"the store at {where} has an empty schema version table (use another --db)")
        if row.version != STORE_SCHEMA_VERSION:
            newer = "a newer" if row.version > STORE_SCHEMA_VERSION else "an older"
            raise StoreError(
                f"the store at {where} is from {newer} budget (store schema version {row.version}; "
                f"this budget reads version {STORE_SCHEMA_VERSION}); use another --db or the matching budget"
            )
        missing = ours - names
        if missing - ADDITIVE_TABLES:
            raise StoreError(f"the store at {where} lacks tables {', '.join(sorted(missing))}")
        if missing:
            tables = [t.__table__ for t in TABLES if t.__tablename__ in missing]  # type: ignore[attr-defined]
            metadata.create_all(self.engine, tables=tables)

    def _create(self) -> None:
        from budget import __version__

        metadata.create_all(self.engine, tables=[t.__table__ for t in TABLES])  # type: ignore[attr-defined]
        with Session(self.engine) as s:
            s.add(
                SchemaRow(
                    id=1, version=STORE_SCHEMA_VERSION, created_by=__version__, created_at=_utc(utcnow())
                )
            )
            try:
                s.commit()
            except IntegrityError:  # another process created it at the same moment
                s.rollback()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._guard(), Session(self.engine, expire_on_commit=False) as s:
            yield s

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Database failures (other than key conflicts, handled where they occur) as StoreError."""
        try:
            yield
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"store {location.display(self.url)}: {_first_line(exc)}") from exc

    @property
    def schema_version(self) -> int:
        return STORE_SCHEMA_VERSION

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
        with self._session() as s:
            return list(s.exec(select(TaskRow.name).order_by(TaskRow.name)).all())

    def task_size(self, task: str) -> int | None:
        """How many problems the task has, as recorded (None for an unknown or empty task)."""
        with self._session() as s:
            row = s.get(TaskRow, task)
        return row.problems if row is not None and row.problems > 0 else None

    def problems(self, task: str) -> list[ProblemRecord]:
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
        with self._session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"no run {run_id!r} in the store at {location.display(self.url)}")
            return _run(row)

    def runs(self, *, task: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first."""
        with self._session() as s:
            q = select(RunRow).order_by(col(RunRow.created_at).desc(), col(RunRow.id).desc())
            if task is not None:
                q = q.where(RunRow.task == task)
            if limit is not None:
                q = q.limit(limit)
            return [_run(r) for r in s.exec(q)]

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        spent: Decimal | None = None,
        plan: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> RunRecord:
        """Change a run's status, recorded spend (exact), plan, settings or note."""
        with self._session() as s:
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
        digest = x.completion_hash or (text_hash(x.completion) if x.completion is not None else "")
        return {
            "run_id": x.run_id,
            "model": x.model,
            "task": x.task or self._run_task(x.run_id),
            "problem_id": x.problem_id,
            "sample_index": x.sample_index,
            "seed": x.seed,
            "prompt_hash": x.prompt_hash,
            "completion": x.completion,
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

    # --- aggregation for fitting ----------------------------------------------------------
    def problem_counts(
        self,
        task: str,
        *,
        model: str | None = None,
        tier: str | None = None,
        run_ids: Sequence[str] | None = None,
    ) -> list[ProblemCounts]:
        """Per (model, problem): ``n`` verified samples and ``c`` accepted ones.

        A sample counts once it has a verdict.  With ``tier`` given, that tier decides;
        without, a sample is accepted when every tier that judged it passed it (the
        strictest check wins).  Unverified samples are left out of ``n``.
        """
        ok = func.min(case((col(VerdictRow.passed), 1), else_=0)).label("ok")
        per_sample = (
            select(SampleRow.model, SampleRow.problem_id, ok)
            .join(VerdictRow, col(VerdictRow.sample_id) == SampleRow.id)
            .where(SampleRow.task == task)
        )
        if model is not None:
            per_sample = per_sample.where(SampleRow.model == model)
        if tier is not None:
            per_sample = per_sample.where(VerdictRow.tier == tier)
        if run_ids is not None:
            per_sample = per_sample.where(col(SampleRow.run_id).in_(list(run_ids)))
        sub = per_sample.group_by(col(SampleRow.id), SampleRow.model, SampleRow.problem_id).subquery()
        q = (
            sa_select(sub.c.model, sub.c.problem_id, func.count(), func.sum(sub.c.ok))
            .group_by(sub.c.model, sub.c.problem_id)
            .order_by(sub.c.model, sub.c.problem_id)
        )
        with self._session() as s:
            return [
                ProblemCounts(model=m, task=task, problem_id=p, n=int(n), c=int(c or 0))
                for m, p, n, c in s.execute(q)
            ]

    def cost_stats(self, task: str, model: str | None = None) -> list[CostStats]:
        """Measured cost per sample of each model on ``task`` (exact sums, from all runs)."""
        q = sa_select(
            col(SampleRow.model),
            func.count(),
            func.avg(SampleRow.prompt_tokens),
            func.avg(SampleRow.output_tokens),
            func.max(SampleRow.output_tokens),
        ).where(col(SampleRow.task) == task)
        if model is not None:
            q = q.where(col(SampleRow.model) == model)
        q = q.group_by(SampleRow.model).order_by(SampleRow.model)
        with self._session() as s:
            groups = list(s.execute(q))
            out = []
            for m, n, mean_p, mean_o, max_o in groups:
                costs = [
                    Decimal(c)
                    for c in s.exec(
                        select(SampleRow.cost_usd).where(SampleRow.task == task, SampleRow.model == m)
                    )
                ]
                total = sum(costs, Decimal(0))
                out.append(
                    CostStats(
                        model=m,
                        task=task,
                        samples=int(n),
                        total=total,
                        mean=total / len(costs) if costs else Decimal(0),
                        max=max(costs, default=Decimal(0)),
                        mean_prompt_tokens=float(mean_p or 0),
                        mean_output_tokens=float(mean_o or 0),
                        max_output_tokens=int(max_o or 0),
                    )
                )
            return out

    # --- fitted curves ---------------------------------------------------------------------
    def save_curve(
        self,
        curve: CoverageCurve,
        *,
        counts: Sequence[ProblemCounts] = (),
        problems: int | None = None,
        samples: int | None = None,
        correct: int | None = None,
        run_ids: Sequence[str] = (),
        tier: str | None = None,
        fitted_at: datetime | None = None,
    ) -> StoredCurve:
        """Keep a curve fitted from the user's samples, with the per-problem counts behind it.

        ``problems``/``samples``/``correct`` default to the totals of ``counts``.
        """
        row = CurveRow(
            model=curve.model,
            task=curve.task,
            fitted_at=_utc(fitted_at or utcnow()),
            problems=len(counts) if problems is None else problems,
            samples=sum(c.n for c in counts) if samples is None else samples,
            correct=sum(c.c for c in counts) if correct is None else correct,
            tier=tier,
            run_ids_json=json.dumps(list(run_ids)),
            curve_json=curve.model_dump_json(),
        )
        with self._session() as s:
            s.add(row)
            s.flush()
            assert row.id is not None
            for c in counts:
                s.add(CurveCountRow(curve_id=row.id, problem_id=c.problem_id, n=c.n, c=c.c))
            s.commit()
            return _curve(row)

    def curve_counts(self, curve_id: int) -> list[ProblemCounts]:
        """The per-problem counts a stored curve was fitted to."""
        with self._session() as s:
            curve = s.get(CurveRow, curve_id)
            if curve is None:
                raise StoreError(f"no curve {curve_id} in the store")
            rows = s.exec(
                select(CurveCountRow)
                .where(CurveCountRow.curve_id == curve_id)
                .order_by(col(CurveCountRow.problem_id))
            )
            return [
                ProblemCounts(model=curve.model, task=curve.task, problem_id=r.problem_id, n=r.n, c=r.c)
                for r in rows
            ]

    def curves(self, task: str | None = None, *, latest: bool = True) -> list[StoredCurve]:
        """Stored curves (the latest per (model, task) unless ``latest=False``), newest first."""
        with self._session() as s:
            q = select(CurveRow).order_by(col(CurveRow.fitted_at).desc(), col(CurveRow.id).desc())
            if task is not None:
                q = q.where(CurveRow.task == task)
            rows = list(s.exec(q))
        out, seen = [], set()
        for r in rows:
            if latest and (r.model, r.task) in seen:
                continue
            seen.add((r.model, r.task))
            out.append(_curve(r))
        return out

    def latest_task(self) -> str | None:
        """The task of the most recently fitted curve, else of the most recent run."""
        with self._session() as s:
            c = s.exec(
                select(CurveRow.task).order_by(col(CurveRow.fitted_at).desc(), col(CurveRow.id).desc())
            ).first()
            if c is not None:
                return c
            return s.exec(select(RunRow.task).order_by(col(RunRow.created_at).desc())).first()

    # --- helpers ---------------------------------------------------------------------------
    def _run_task(self, run_id: str) -> str:
        task = self._run_tasks.get(run_id)
        if task is None:
            with self._session() as s:
                row = s.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"cannot store a sample of run {run_id!r}: no such run")
            task = self._run_tasks[run_id] = row.task
        return task


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        cur.close()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _verdict_values(sample_id: int, tier: str, v: Verdict) -> dict[str, Any]:
    return {
        "sample_id": sample_id,
        "tier": tier,
        "passed": v.passed,
        "outcome": v.outcome.value,
        "duration_s": v.duration_s,
        "detail": v.detail,
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


def _run(r: RunRow) -> RunRecord:
    return RunRecord(
        run_id=r.id,
        task=r.task,
        models=json.loads(r.models_json),
        status=RunStatus(r.status),
        cap=_dec(r.cap_usd),
        spent=Decimal(r.spent_usd),
        plan=None if r.plan_json is None else json.loads(r.plan_json),
        settings=json.loads(r.settings_json),
        created_at=_aware(r.created_at),
        updated_at=_aware(r.updated_at),
        budget_version=r.budget_version,
        note=r.note,
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


def _curve(r: CurveRow) -> StoredCurve:
    return StoredCurve(
        curve_id=r.id,
        model=r.model,
        task=r.task,
        curve=CoverageCurve.model_validate_json(r.curve_json),
        fitted_at=_aware(r.fitted_at),
        problems=r.problems,
        samples=r.samples,
        correct=r.correct,
        run_ids=json.loads(r.run_ids_json),
        tier=r.tier,
    )
