"""Where the planner finds the user's own curves: the store.

``user_candidates(db)`` returns a lookup for :func:`budget.service.planning.make_plan`, or
None when there is no store.  It is on ``budget plan``'s start-up path, so it checks that the
database file exists *before* SQLAlchemy is imported: without a store, planning pays nothing.

**Snapshot.**  Opening the store imports SQLAlchemy and SQLModel (~0.4 s) and sums the cost
of every stored sample; so the answer of a lookup is also written beside an SQLite store, as
``<store>.plan-snapshot.json`` (atomically), keyed by the store file's size and modification
time (and its WAL file's).  The next plan reads the snapshot with ``json`` when the key still
matches; any write to the store changes the key, and the snapshot is rebuilt from the store on
the next plan.  A snapshot that cannot be read or validated is ignored.  ``budget calibrate``
writes it as soon as it stores curves.

A candidate from the store pairs the latest curve fitted to the user's own samples of a
(model, task) with the user's measured cost per sample: the exact mean of the stored costs
of that model's samples on that task (worst case: the largest one seen).  Without an
explicit task, the task of the most recently fitted curve is the user's default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from budget.planner import Candidate
from budget.service.planning import UserCandidates, UserCurves
from budget.store import location

if TYPE_CHECKING:
    from budget.store.records import CostStats, StoredCurve


def user_candidates(db: str | os.PathLike[str] | None = None) -> UserCandidates | None:
    """A lookup of the user's own fitted curves in the store at ``db``; None when there is none.

    ``db`` is resolved like ``--db`` (then ``BUDGET_DB``, then the user's data directory).
    """
    url = location.resolve(db)
    if not location.exists(url):
        return None

    def lookup(task: str | None) -> UserCurves:
        cached = read_snapshot(url, task)
        if cached is not None:
            return cached
        before = snapshot_key(url)
        got = own_curves(url, task)
        write_snapshot(url, task, got, before)
        return got

    return lookup


SNAPSHOT_SUFFIX = ".plan-snapshot.json"
SNAPSHOT_FORMAT = 2


class _Entry(BaseModel):
    task: str | None
    candidates: list[Candidate]
    problems: int | None = None
    excluded: list[str] = []


class _Snapshot(BaseModel):
    format: int = SNAPSHOT_FORMAT
    key: list[int]
    lookups: dict[str, _Entry]


def _paths(url: str) -> tuple[Path, Path] | None:
    db = location.sqlite_path(url)
    return None if db is None else (db, db.with_name(db.name + SNAPSHOT_SUFFIX))


def _key(db: Path) -> list[int] | None:
    """Size and mtime of the store file and of its WAL file: any write changes one of them."""
    out: list[int] = []
    for p in (db, db.with_name(db.name + "-wal")):
        try:
            st = p.stat()
        except FileNotFoundError:
            out += [-1, -1]
            continue
        out += [st.st_size, st.st_mtime_ns]
    return out if out[0] >= 0 else None


def snapshot_key(url: str) -> list[int] | None:
    """What identifies the store's state for the snapshot (None: not a file store)."""
    paths = _paths(url)
    return None if paths is None else _key(paths[0])


def read_snapshot(url: str, task: str | None) -> UserCurves | None:
    """The snapshot's answer for ``task`` when it is current; None otherwise."""
    paths = _paths(url)
    if paths is None:
        return None
    db, snap = paths
    try:
        doc = _Snapshot.model_validate_json(snap.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None
    entry = doc.lookups.get(json.dumps(task))
    if doc.format != SNAPSHOT_FORMAT or doc.key != _key(db) or entry is None:
        return None
    return UserCurves(entry.task, entry.candidates, entry.problems, entry.excluded)


def write_snapshot(url: str, task: str | None, got: UserCurves, read_at: list[int] | None) -> None:
    """Record ``got`` (read from the store when its key was ``read_at``) as the answer for ``task``.

    Skipped when the store changed while it was read (a run writing beside the plan): the
    snapshot would describe an older store under a newer key.  Best effort: a read-only
    directory skips it.
    """
    paths = _paths(url)
    if paths is None:
        return
    db, snap = paths
    key = _key(db)
    if key is None or key != read_at:
        return
    try:
        doc = _Snapshot.model_validate_json(snap.read_bytes())
        if doc.key != key or doc.format != SNAPSHOT_FORMAT:
            raise ValueError("stale")
    except (OSError, ValidationError, ValueError):
        doc = _Snapshot(key=key, lookups={})
    doc.lookups[json.dumps(task)] = _Entry(
        task=got.task, candidates=got.candidates, problems=got.problems, excluded=got.excluded
    )
    tmp = snap.with_name(f"{snap.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(doc.model_dump_json(), encoding="utf-8")
        os.replace(tmp, snap)
    except OSError:
        tmp.unlink(missing_ok=True)


def refresh_snapshot(db: str | os.PathLike[str] | None, tasks: list[str | None]) -> None:
    """Rebuild the snapshot for ``tasks`` now (after curves are stored), so the next plan is fast."""
    url = location.resolve(db)
    if _paths(url) is None or not location.exists(url):
        return
    for task in tasks:
        before = snapshot_key(url)
        write_snapshot(url, task, own_curves(url, task), before)


def own_curves(url: str, task: str | None) -> UserCurves:
    """The user's candidates for ``task`` (default: their latest fitted task) from ``url``."""
    from budget.store.database import NoStoreError, Store

    try:
        store = Store(url, create=False)
    except NoStoreError:  # a server database without budget's tables yet
        return UserCurves(task, [])
    with store:
        curves = store.curves(task)
        if not curves:
            return UserCurves(task, [])
        chosen = task or curves[0].task
        curves = [c for c in curves if c.task == chosen]
        stats = {s.model: s for s in store.cost_stats(chosen)}
        size = store.task_size(chosen)
        where = location.display(store.url)
    cands: list[Candidate] = []
    excluded: list[str] = []
    for c in curves:
        if c.model not in stats:
            continue
        priced = _priced(candidate(c, stats[c.model], where), stats[c.model], chosen)
        if priced is None:
            excluded.append(
                f"{c.model} left out: its samples carry no cost or tokens (imported) and it has no "
                f"catalog price, so its cost per sample is unknown (not free)"
            )
        else:
            cands.append(priced)
    return UserCurves(chosen, cands, size, excluded)


def _priced(cand: Candidate, cost: CostStats, task: str) -> Candidate | None:
    """Samples imported without costs or tokens measured nothing: price them at the catalog's
    token counts for the task by the model's per-token API price, or, for a local model, by a
    machine's $/hour at the model's measured throughput on it (the price book's); otherwise
    the cost is unknown (None): an unknown cost is never planned as $0.
    """
    if cost.known:
        return cand
    from budget.catalog import load_catalog
    from budget.errors import BudgetError
    from budget.pricing import api_sample_cost, default_price_book, local_sample_cost

    d = load_catalog().defaults.get(task, {})
    prompt = int(d.get("prompt_tokens", 1000))
    output = float(d.get("output_tokens", 256))
    most = int(d.get("max_output_tokens", 512))
    book = default_price_book()
    try:
        price = book.token_price(cand.model)
    except BudgetError:
        measured = [t for (m, _), t in sorted(book.throughputs.items()) if m == book.canonical(cand.model)]
        if not measured:
            return None
        machine = book.machine(measured[0].machine)
        sample_cost = local_sample_cost(
            machine,
            prompt_tokens=prompt,
            output_tokens=output,
            max_output_tokens=most,
            throughput=measured[0],
        )
    else:
        sample_cost = api_sample_cost(
            price, prompt_tokens=prompt, output_tokens=output, max_output_tokens=most
        )
    note = f"{sample_cost.formula}; your samples carry no cost (imported): priced at {task}'s token counts"
    return cand.model_copy(update={"cost": sample_cost.model_copy(update={"formula": note})})


def candidate(stored: StoredCurve, cost: CostStats, where: str = "") -> Candidate:
    """A planner candidate from a stored curve and the measured cost of the same samples."""
    from budget.money import fmt_usd
    from budget.pricing import SampleCost

    sample_cost = SampleCost(
        kind="measured",
        first=cost.mean,
        repeat=cost.mean,
        worst_first=cost.max,
        worst_repeat=cost.max,
        formula=(
            f"measured: mean {fmt_usd(cost.mean)} per sample over {cost.samples} of your samples "
            f"({cost.mean_prompt_tokens:.0f} prompt + {cost.mean_output_tokens:.0f} output tokens); "
            f"worst case the largest seen, {fmt_usd(cost.max)}"
        ),
        sources=[f"your runs in {where}" if where else "your runs"],
        worst_basis=f"the largest cost seen in {cost.samples} of your samples (measured, not a bound)",
    )
    fitted = stored.fitted_at.strftime("%Y-%m-%d %H:%M UTC")
    source = (
        f"fitted to your samples: {stored.samples} samples of {stored.problems} problems "
        f"({stored.correct} accepted), {fitted}"
    )
    tokens = (round(cost.mean_prompt_tokens), cost.mean_output_tokens, max(1, cost.max_output_tokens))
    return Candidate(model=stored.model, curve=stored.curve, cost=sample_cost, source=source, tokens=tokens)
