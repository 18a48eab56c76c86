"""Use case: plan a budget.  Joins the catalog (or the user's own curves), prices and planner.

Also the what-if table over several budgets (``budget plan --dollars 10,50,500``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from budget import SCHEMA_VERSION
from budget.catalog import catalog_candidates, load_catalog
from budget.errors import InputError, UnknownNameError
from budget.money import USD, positive_dollars, usd
from budget.planner import Candidate, PlanResult, PlanSettings, Policy, plan
from budget.pricing import PriceBook, default_price_book

DEFAULT_TASK = "swe-bench-lite"


class UserCurves(NamedTuple):
    """The user's own candidates for a task (from the store), and the task's size if known."""

    task: str | None
    candidates: list[Candidate]
    problems: int | None = None
    #: One line per model left out because its cost per sample is unknown (never planned as $0).
    excluded: tuple[str, ...] | list[str] = ()


#: Looks up the user's own candidates for a task (None: the user's latest); [] when none.
UserCandidates = Callable[[str | None], UserCurves]


class PlanRequest(BaseModel):
    """A request for a plan, as the CLI or a script builds it."""

    model_config = ConfigDict(frozen=True)

    dollars: Decimal
    task: str | None = None
    problems: int | None = Field(default=None, gt=0)
    models: list[str] | None = None
    policy: Policy = Policy.FIXED
    hard_cap: bool = False
    max_extrapolation: float = Field(default=10.0, gt=0)
    seed: int = 0
    prices: list[str] = Field(
        default_factory=list, description="--price MODEL=IN,OUT or MODEL=USD_PER_ATTEMPT"
    )
    machine: str | None = Field(default=None, description="--machine NAME or NAME=USD_PER_HOUR")
    worst_attempt_multiple: Decimal | None = Field(default=None, ge=1)

    @classmethod
    def parse(cls, dollars: str, **kw: object) -> PlanRequest:
        """A request from the CLI's ``--dollars`` text (checked: positive, finite, not absurd) and options."""
        return cls.model_validate({"dollars": positive_dollars(dollars, what="--dollars"), **kw})


def _select(
    cands: Sequence[Candidate], models: list[str] | None, task: str, book: PriceBook
) -> list[Candidate]:
    if not models:
        return list(cands)
    known = {c.model: c for c in cands}
    displays = {c.model: c.display for c in cands}
    chosen = []
    for name in models:
        chosen.append(known[book.resolve(name, displays, context=f"task {task}")])
    return list({c.model: c for c in chosen}.values())


def with_published(task: str, cands: list[Candidate]) -> list[Candidate]:
    """Catalog candidates with the published points behind their curves (see provenance)."""
    points = {e.model: e.points for e in load_catalog().for_task(task) if e.points}
    return [
        c.model_copy(update={"published": {int(k): float(v) for k, v in points[c.model]}})
        if c.model in points
        else c
        for c in cands
    ]


def _book(request: PlanRequest, book: PriceBook) -> PriceBook:
    """The price book with the user's re-pricing on top (``--price``, ``--machine``)."""
    if not (request.prices or request.machine or request.worst_attempt_multiple):
        return book
    from budget.pricing.overrides import RepricedBook, parse_machine, parse_overrides

    machine = parse_machine(request.machine, book.machines) if request.machine else None
    return RepricedBook(book, parse_overrides(request.prices), machine, request.worst_attempt_multiple)


def _tokens(task: str, cand: Candidate) -> tuple[int, float, int] | None:
    """(prompt, mean output, max output) tokens of one sample, when known."""
    if cand.tokens is not None:
        return cand.tokens
    d = load_catalog().defaults.get(task, {})
    if "prompt_tokens" in d and "output_tokens" in d:
        return (
            int(d["prompt_tokens"]),
            float(d["output_tokens"]),
            int(d.get("max_output_tokens", d["output_tokens"])),
        )
    return None


def _reprice_tokens(cands: list[Candidate], task: str, book: PriceBook) -> list[Candidate]:
    """Candidates re-priced per token where ``--price MODEL=IN,OUT`` names them."""
    if "budget.pricing.overrides" not in sys.modules:  # no re-priced book can exist: skip the import
        return cands
    from budget.pricing import api_sample_cost
    from budget.pricing.overrides import RepricedBook

    if not isinstance(book, RepricedBook):
        return cands
    known = {c.model for c in cands}
    for name in book.user:
        if name not in known:
            raise UnknownNameError("model", name, sorted(known), context=f"--price on task {task}")
    out = []
    for c in cands:
        price = book.token_override(c.model)
        if price is None:
            out.append(c)
            continue
        tokens = _tokens(task, c)
        if tokens is None:
            raise InputError(
                f"--price {c.model}=IN,OUT: tokens per sample on {task} are not known (only a cost per "
                f"attempt is published); give {c.model}=USD_PER_ATTEMPT"
            )
        prompt, output, max_out = tokens
        cost = api_sample_cost(price, prompt_tokens=prompt, output_tokens=output, max_output_tokens=max_out)
        formula = f"{cost.formula}; prices {price.source}, as of {price.as_of}"
        out.append(c.model_copy(update={"cost": cost.model_copy(update={"formula": formula})}))
    return out


def make_plan(
    request: PlanRequest,
    *,
    book: PriceBook | None = None,
    user_candidates: UserCandidates | None = None,
) -> PlanResult:
    """Plan ``request``: the user's own curves for the task win over the bundled catalog."""
    book = _book(request, book or default_price_book())
    task = request.task
    own: list[Candidate] = []
    own_problems: int | None = None
    excluded: tuple[str, ...] | list[str] = ()
    if user_candidates is not None:
        task, own, own_problems, excluded = user_candidates(task)
    if request.task is not None:
        why = "the task you asked for"
    elif task is not None:
        why = "your latest task in the store (--task to choose another)"
    else:
        why = "the default task: no --task and no curves of yours in the store"
    task = task or DEFAULT_TASK
    catalog = load_catalog()
    if task in catalog.tasks:
        info = catalog.task(task)
        base = {c.model: c for c in with_published(task, catalog_candidates(task, book, seed=request.seed))}
        problems, unit = request.problems or info.problems, info.unit
    elif own:
        size = own_problems or own[0].curve.n_problems or 100
        base, problems, unit = {}, request.problems or size, "problems"
    elif excluded:
        raise InputError(f"nothing to plan on {task}: " + "; ".join(excluded))
    else:
        raise UnknownNameError("task", task, list(catalog.tasks))
    base.update({c.model: c for c in own})
    settings = PlanSettings(
        dollars=request.dollars,
        task=task,
        problems=problems,
        policy=request.policy,
        hard_cap=request.hard_cap,
        max_extrapolation=request.max_extrapolation,
        seed=request.seed,
        unit=unit,
    )
    chosen = _reprice_tokens(_select(list(base.values()), request.models, task, book), task, book)
    result = plan(chosen, settings)
    name = catalog.tasks[task].name if task in catalog.tasks else task
    headline = f"{name}, {why}: {result.recommendation.headline}"
    return result.model_copy(
        update={
            "recommendation": result.recommendation.model_copy(update={"headline": headline}),
            "warnings": [*result.warnings, *excluded],
        }
    )


# What-if plans over several budgets (``budget plan --dollars 10,50,500``): part of this use
# case, so that ``budget plan`` never imports the one-minute report's models (~10 ms).


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
