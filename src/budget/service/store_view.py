"""Use cases: look into the store -- ``budget runs`` (the runs, what each solved and spent),
``budget show RUN_ID`` (one run per model) and ``budget export RUN_ID --samples FILE``.

"Solved" counts distinct problems with at least one accepted sample, per verifier tier:
``verifier`` (what production has) and ``ground_truth`` (hidden tests) side by side, so the
gap between them (accepted but wrong) is visible.  Spend is what the run recorded (the
executor's ledger); for a run that recorded none, the sum of its samples' costs.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from budget import SCHEMA_VERSION
from budget.errors import InputError, StoreError
from budget.money import USD

if TYPE_CHECKING:
    from budget.store import RunRecord, Store
    from budget.store.inspection import RunModelStats

GROUND_TRUTH, VERIFIER = "ground_truth", "verifier"


class RunSummary(BaseModel):
    """One run of the store as ``budget runs`` lists it."""
    run_id: str
    task: str
    status: str
    models: list[str]
    samples: int
    problems: int = 0
    solved_ground_truth: int | None = None
    solved_verifier: int | None = None
    #: None: unknown (an import whose samples carry no cost), never $0
    spent: USD | None
    cap: USD | None
    created_at: datetime
    imported: bool = False
    #: why a failed run failed (recorded by ``budget run``); empty otherwise
    reason: str = ""


class RunList(BaseModel):
    """The runs in the store (``budget runs --json``)."""
    schema_version: int = SCHEMA_VERSION
    db: str
    runs: list[RunSummary]


def _spent(store: Store, run: RunRecord, stats: list[RunModelStats] | None = None) -> Decimal:
    """What a run has spent at most: its record's spend (which the store already floors at its
    reservations: a process killed mid-run recorded its spend late, its open reservations count
    whole); for a run that recorded none, the sum of its samples' costs (``stats``, else the
    store's).
    """
    spent = run.spent
    if spent:
        return spent
    if stats is not None:
        return sum((st.spent for st in stats), Decimal(0))
    return store.sample_spend(run.run_id)


def known_cost(run: RunRecord, spent: Decimal) -> Decimal | None:
    """``spent``, or None where it is unknown: an imported run whose samples carry no cost
    (``budget import`` of counts or pass/fail records) measured nothing, and $0 would read as free.
    """
    return None if spent == 0 and "imported" in run.settings else spent


@contextmanager
def _open(db: str | None) -> Iterator[tuple[Store | None, str]]:
    from budget.store import location
    from budget.store.database import NoStoreError, Store

    url = location.resolve(db)
    if not location.exists(url):
        yield None, location.display(url)
        return
    try:
        store = Store(url, create=False)
    except NoStoreError:
        yield None, location.display(url)
        return
    with store:
        yield store, location.display(store.url)


def list_runs(db: str | None = None, *, task: str | None = None, limit: int | None = 20) -> RunList:
    """The newest runs in the store at ``db`` (resolved like ``--db``); none when there is no store."""
    with _open(db) as (store, where):
        if store is None:
            return RunList(db=where, runs=[])
        runs = store.runs(task=task, limit=limit)
        ids = [r.run_id for r in runs]
        stats: dict[str, list[RunModelStats]] = {}
        for st in store.run_model_stats(ids):
            stats.setdefault(st.run_id, []).append(st)
        # distinct problems across a run's models: the per-model figure when there is one model
        solved = {r: dict(mine[0].solved) for r, mine in stats.items() if len(mine) == 1}
        solved.update(store.run_solved([r for r, mine in stats.items() if len(mine) > 1]))
        tiers = {r: {t for st in stats.get(r, []) for t in st.solved} for r in ids}
        out = []
        for r in runs:
            mine = stats.get(r.run_id, [])
            got = solved.get(r.run_id, {})
            out.append(
                RunSummary(
                    run_id=r.run_id,
                    task=r.task,
                    status=r.status.value,
                    models=r.models,
                    samples=sum(st.samples for st in mine),
                    problems=max((st.problems for st in mine), default=0),
                    solved_ground_truth=got.get(GROUND_TRUTH, 0) if GROUND_TRUTH in tiers[r.run_id] else None,
                    solved_verifier=got.get(VERIFIER, 0) if VERIFIER in tiers[r.run_id] else None,
                    spent=known_cost(r, _spent(store, r, mine)),
                    cap=r.cap,
                    created_at=r.created_at,
                    imported="imported" in r.settings,
                    reason=r.note if r.status.value == "failed" else "",
                )
            )
        return RunList(db=where, runs=out)


class ModelDetail(BaseModel):
    """One model of a stored run: problems, samples, solved."""
    model: str
    problems: int
    samples: int
    solved_ground_truth: int | None
    solved_verifier: int | None
    #: None: unknown (an import whose samples carry no cost), never $0
    spent: USD | None


class RunDetail(BaseModel):
    """``budget show RUN_ID --json``."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    task: str
    status: str
    stop_reason: str
    error: str
    cap: USD | None = None
    #: None: unknown (an import whose samples carry no cost), never $0
    spent: USD | None = Decimal(0)
    created_at: datetime | None = None
    imported: dict[str, str] | None = None
    db: str = ""
    models: list[ModelDetail]


def show_run(run_id: str, db: str | None = None) -> RunDetail:
    """One run in detail: per model, problems, samples, solved on each tier, spend."""
    with _open(db) as (store, where):
        if store is None:
            raise StoreError(f"no store at {where}")
        run = store.get_run(run_id)
        stats = {st.model: st for st in store.run_model_stats([run_id])}
        models = []
        for m in dict.fromkeys([*run.models, *stats]):
            st = stats.get(m)
            models.append(
                ModelDetail(
                    model=m,
                    problems=st.problems if st else 0,
                    samples=st.samples if st else 0,
                    solved_ground_truth=st.solved.get(GROUND_TRUTH) if st else None,
                    solved_verifier=st.solved.get(VERIFIER) if st else None,
                    spent=known_cost(run, st.spent) if st else Decimal(0),
                )
            )
        found = run.settings.get("outcome")
        outcome: dict[str, object] = found if isinstance(found, dict) else {}
        imported = run.settings.get("imported")
        return RunDetail(
            run_id=run.run_id,
            task=run.task,
            status=run.status.value,
            stop_reason=str(
                outcome.get("stop_reason", "imported" if imported else _stopped(run.status.value))
            ),
            error=str(outcome.get("error", "")) or (run.note if run.status.value == "failed" else ""),
            cap=run.cap,
            spent=known_cost(run, _spent(store, run, list(stats.values()))),
            created_at=run.created_at,
            imported={str(k): str(v) for k, v in imported.items()} if isinstance(imported, dict) else None,
            db=where,
            models=models,
        )


def _store_files(url: str) -> list[Path]:
    """The files of an SQLite store (the database and its journals); none for a server."""
    from budget.store import location

    db = location.sqlite_path(url)
    if db is None:
        return []
    db = db.resolve()
    return [db, *(db.with_name(db.name + x) for x in ("-wal", "-shm", "-journal"))]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stopped(status: str) -> str:
    """A run that recorded no outcome: what its status says (killed, or still running)."""
    return {"interrupted": "interrupted", "failed": "error", "running": "running or killed"}.get(status, "")


class ExportResult(BaseModel):
    """The outcome of ``budget show --export`` (``--json`` prints it)."""
    schema_version: int = SCHEMA_VERSION
    run_id: str
    file: str
    samples: int


def export_samples(run_id: str, path: Path, db: str | None = None) -> ExportResult:
    """Write a run's samples as JSON Lines, one sample a line (``budget import --format samples``
    reads it back): ``run_id, task, task_id, model, sample_index, completion, passed`` (every
    tier passed), ``verdicts`` ({tier: passed}), tokens, ``cost`` (exact decimal string),
    ``latency_s``, ``finish_reason``.

    Written to a fresh temporary file beside the target, flushed to disk and renamed over it:
    never half a file, also with two exports at once.  A symlink is followed (the file it
    points to is replaced, the link kept); an existing file keeps its permissions.  The store's
    own files are refused (renaming over them would destroy the store).
    """
    with _open(db) as (store, where):
        if store is None:
            raise StoreError(f"no store at {where}")
        run = store.get_run(run_id)
        samples = store.samples(run_id=run_id)
        store_files = _store_files(store.url)
    target = path.resolve()
    if target.is_dir():
        raise InputError(
            f"cannot write {path}: it is a directory (give a file name, e.g. {path}/{run_id}.jsonl)"
        )
    if any(target == f or (target.exists() and f.exists() and target.samefile(f)) for f in store_files):
        raise InputError(f"cannot write {path}: it is the store's own file ({where})")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for x in samples:
                verdicts = {t: v.passed for t, v in sorted(x.verdicts.items())}
                fh.write(
                    json.dumps(
                        {
                            "run_id": x.run_id,
                            "task": run.task,
                            "task_id": x.problem_id,
                            "model": x.model,
                            "sample_index": x.sample_index,
                            "completion": x.completion,
                            "passed": all(verdicts.values()) if verdicts else None,
                            "verdicts": verdicts,
                            "prompt_tokens": x.prompt_tokens,
                            "output_tokens": x.output_tokens,
                            "cost": str(x.cost),
                            "latency_s": x.latency_s,
                            "finish_reason": x.finish_reason,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except (OSError, UnicodeEncodeError) as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"cannot write {path}: {reason}") from None
    return ExportResult(run_id=run_id, file=str(path), samples=len(samples))
