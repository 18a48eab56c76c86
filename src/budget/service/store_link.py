"""Where the planner finds the user's own curves: the store.

``user_candidates(db)`` returns a lookup for :func:`budget.service.planning.make_plan`, or
None when there is no store.  It is on ``budget plan``'s start-up path, so it checks that the
database file exists *before* SQLAlchemy is imported: without a store, planning pays nothing.

A candidate from the store pairs the latest curve fitted to the user's own samples of a
(model, task) with the user's measured cost per sample: the exact mean of the stored costs
of that model's samples on that task (worst case: the largest one seen).  Without an
explicit task, the task of the most recently fitted curve is the user's default.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

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
        return own_curves(url, task)

    return lookup


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
    cands = [
        _priced(candidate(c, stats[c.model], where), stats[c.model], chosen)
        for c in curves
        if c.model in stats
    ]
    return UserCurves(chosen, cands, size)


def _priced(cand: Candidate, cost: CostStats, task: str) -> Candidate:
    """Samples imported without costs or tokens measured nothing: price them by the model's
    per-token API price at the catalog's token counts for the task, when it has one; otherwise
    they stay at $0 and the cost model says so."""
    if cost.total > 0 or cost.mean_output_tokens > 0:
        return cand
    from budget.catalog import load_catalog
    from budget.errors import BudgetError
    from budget.pricing import api_sample_cost, default_price_book

    d = load_catalog().defaults.get(task, {})
    try:
        price = default_price_book().token_price(cand.model)
    except BudgetError:
        note = (
            cand.cost.formula + "; your samples carry no cost or tokens (imported): $0 is unknown, not free"
        )
        return cand.model_copy(update={"cost": cand.cost.model_copy(update={"formula": note})})
    sample_cost = api_sample_cost(
        price,
        prompt_tokens=int(d.get("prompt_tokens", 1000)),
        output_tokens=float(d.get("output_tokens", 256)),
        max_output_tokens=int(d.get("max_output_tokens", 512)),
    )
    return cand.model_copy(update={"cost": sample_cost})


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
    )
    fitted = stored.fitted_at.strftime("%Y-%m-%d %H:%M UTC")
    source = (
        f"fitted to your samples: {stored.samples} samples of {stored.problems} problems "
        f"({stored.correct} accepted), {fitted}"
    )
    return Candidate(model=stored.model, curve=stored.curve, cost=sample_cost, source=source)
