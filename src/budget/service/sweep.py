"""Use case: what-if plans over several budgets (``budget plan --dollars 10,50,500``).

Apart from :mod:`budget.service.reporting` (the one-minute report, whose many models cost
``budget plan`` ~10 ms to import): a plan needs only this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from pydantic import BaseModel

from budget import SCHEMA_VERSION
from budget.errors import InputError
from budget.money import USD, usd
from budget.planner import PlanResult


class BudgetRow(BaseModel):
    """One budget of a what-if table: the best plan at that budget, in brief."""

    dollars: USD
    recommendation: str
    expected_solved: float
    solved_interval: tuple[float, float]
    expected_cost: USD
    dollars_per_solved: USD | None
    headline: str


class PlanSweep(BaseModel):
    """``budget plan --dollars 10,50,500``: the recommendation at each budget, then each plan."""

    schema_version: int = SCHEMA_VERSION
    task: str
    problems: int
    unit: str
    rows: list[BudgetRow]
    plans: list[PlanResult]


def parse_budgets(text: str) -> list[Decimal]:
    """``"10,50,500"`` -> three positive amounts (order kept, duplicates dropped)."""
    amounts: list[Decimal] = []
    for part in text.split(","):
        if not part.strip():
            continue
        amount = usd(part, what="--dollars")
        if amount <= 0:
            raise InputError(f"--dollars must be positive, got {part.strip()}")
        if amount not in amounts:
            amounts.append(amount)
    if not amounts:
        raise InputError("--dollars needs at least one amount")
    return amounts


def allocation_text(plan: PlanResult) -> str:
    """``DeepSeek-Coder-V2-Instruct x23-24`` for the best plan's allocations."""
    labels = {a.model: a.display for a in plan.alternatives}
    by_model: dict[str, list[int]] = {}
    for a in plan.recommendation.allocations:
        by_model.setdefault(a.model, []).append(a.samples_per_problem)
    parts = []
    for model, ks in by_model.items():
        lo, hi = min(ks), max(ks)
        k = f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"
        parts.append(f"{labels.get(model, model)} x{k}")
    return " + ".join(parts) or "nothing affordable"


def plan_sweep(budgets: Sequence[Decimal], plan_one: Callable[[Decimal], PlanResult]) -> PlanSweep:
    """Plan each budget with ``plan_one`` and tabulate the recommendations."""
    plans = [plan_one(d) for d in budgets]
    rows = [
        BudgetRow(
            dollars=p.inputs.dollars,
            recommendation=allocation_text(p),
            expected_solved=p.recommendation.expected_solved,
            solved_interval=p.recommendation.solved_interval,
            expected_cost=p.recommendation.expected_cost,
            dollars_per_solved=p.recommendation.dollars_per_solved,
            headline=p.recommendation.headline,
        )
        for p in plans
    ]
    first = plans[0].inputs
    return PlanSweep(task=first.task, problems=first.problems, unit=first.unit, rows=rows, plans=plans)
