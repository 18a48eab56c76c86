"""Use case: the one-minute report (``budget report``) and what-if plans over several budgets.

A report joins a plan (made now for ``--task/--dollars``, read from ``--plan plan.json``, or
remade for a stored run's task, models and cap) with what stands behind it: each model's
coverage curve (fitted, with its interval band, and the observed points), prices with their
dates, the verifier's measured false-positive rate where a run verified on both tiers, and the
run's check results.  Rendering (terminal, HTML, Markdown) lives in ``budget.report``.

The check results come from the ``budget check`` service (``budget.service.check``, its
``check_run(run_id, db, refit=False)``: read-only) when it is present, summarised per model
as a :class:`CheckSummary`; :func:`register_check` replaces that provider (tests, other
checks).  Without a check service the report says the run was not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from budget import SCHEMA_VERSION
from budget.errors import BudgetError, DataError, InputError
from budget.money import USD
from budget.planner import Candidate, PlanResult
from budget.service.planning import BudgetRow as BudgetRow  # the what-if table: re-exported
from budget.service.planning import PlanRequest, UserCandidates, make_plan
from budget.service.planning import PlanSweep as PlanSweep
from budget.service.planning import allocation_text as allocation_text
from budget.service.planning import parse_budgets as parse_budgets
from budget.service.planning import plan_sweep as plan_sweep

if TYPE_CHECKING:
    from budget.pricing import SampleCost
    from budget.store import Store
    from budget.store.records import PriceSnapshot, ProblemCounts, StoredCurve

#: Where curves are drawn: 1 to 10,000 samples, geometric.
CURVE_KS = sorted({round(k) for k in np.geomspace(1, 10_000, 41)})


class CurvePoint(BaseModel):
    """A fitted curve's coverage at ``k`` with its interval."""
    k: int
    coverage: float
    low: float
    high: float


class ObservedPoint(BaseModel):
    """Observed pass@k at ``k``."""
    k: int
    coverage: float


class ModelCurve(BaseModel):
    """A model's coverage against samples per problem: the fit with its band, and the data."""

    model: str
    display: str
    form: str
    max_observed_k: int | None
    fitted: list[CurvePoint]
    observed: list[ObservedPoint]
    source: str


class PriceLine(BaseModel):
    """The price behind a model's cost per sample, with where it comes from and its date."""

    model: str
    display: str
    kind: str
    #: None: unknown (a run or import whose samples carry no cost), never $0
    cost_per_sample: USD | None
    formula: str
    sources: list[str]


class VerifierRate(BaseModel):
    """How often the production verifier accepted a sample the ground truth rejected."""

    model: str
    accepted: int
    wrongly_accepted: int

    @property
    def rate(self) -> float:
        """The share of accepted samples the ground truth rejected (0 when none was accepted)."""
        return self.wrongly_accepted / self.accepted if self.accepted else 0.0


class CheckItem(BaseModel):
    """One check of a run and its result."""
    name: str
    status: Literal["pass", "fail", "warn", "skip"]
    detail: str = ""


class CheckSummary(BaseModel):
    """The results of ``budget check`` on a run (filled by the check service)."""

    run_id: str
    items: list[CheckItem]


class RunFacts(BaseModel):
    """A stored run as the report shows it."""
    run_id: str
    task: str
    status: str
    models: list[str]
    samples: int
    #: None: unknown (an import whose samples carry no cost)
    spent: USD | None
    cap: USD | None
    created_at: datetime


class Report(BaseModel):
    """Everything ``budget report`` shows, in every format."""

    schema_version: int = SCHEMA_VERSION
    generated_at: datetime
    title: str
    headline: str
    assumption: str
    #: None for a run with nothing to plan with (no budget, or no curve and a task outside the catalog)
    plan: PlanResult | None
    plan_note: str = ""
    curves: list[ModelCurve]
    prices: list[PriceLine]
    verifier: list[VerifierRate] = Field(default_factory=list)
    run: RunFacts | None = None
    check: CheckSummary | None = None
    check_note: str = ""


CheckProvider = Callable[[str, str | None], CheckSummary | None]


def service_check(run_id: str, db: str | None) -> CheckSummary | None:
    """The ``budget check`` service's verdicts on a run, per model (no refit: a report only reads)."""
    from budget.service.check import check_run

    result = check_run(run_id, db, refit=False)
    items = []
    for m in result.models:
        status: Literal["pass", "fail", "warn", "skip"] = (
            "skip" if m.inside is None else "pass" if m.inside else "fail"
        )
        detail = f"verified {m.verified.coverage:.1%} on {m.verified.tier}"
        if m.predicted is not None:
            lo, hi = m.predicted.interval
            detail = f"predicted {m.predicted.coverage:.1%} ({lo:.1%}-{hi:.1%}); " + detail
        if m.note:
            detail += f"; {m.note}"
        items.append(CheckItem(name=f"{m.model}: coverage inside its interval", status=status, detail=detail))
    return CheckSummary(run_id=run_id, items=items)


_check_provider: CheckProvider = service_check


def register_check(provider: CheckProvider) -> CheckProvider:
    """Replace the check provider (``provider(run_id, db)``); returns the previous one."""
    global _check_provider
    previous, _check_provider = _check_provider, provider
    return previous


class ReportRequest(BaseModel):
    """What ``budget report`` asks for: a run, a plan file, or a task and dollars."""
    run_id: str | None = None
    plan_file: Path | None = None
    task: str | None = None
    dollars: Decimal | None = None
    db: str | None = None
    seed: int = 0


def _read_plan(path: Path) -> PlanResult:
    try:
        return PlanResult.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise InputError(f"no plan file {path}") from exc
    except ValidationError as exc:
        raise DataError(f"{path} is not a plan written by budget plan --export") from exc


def _curve(c: Candidate, display: str, points: Sequence[tuple[float, float]]) -> ModelCurve:
    ks = np.asarray(CURVE_KS, dtype=float)
    mid = c.curve.coverage(ks)
    lo, hi = c.curve.interval(ks) if c.curve.draws else (mid, mid)
    return ModelCurve(
        model=c.model,
        display=display,
        form=c.curve.form,
        max_observed_k=c.curve.max_observed_k,
        fitted=[
            CurvePoint(k=int(k), coverage=float(m), low=float(a), high=float(b))
            for k, m, a, b in zip(ks, mid, lo, hi, strict=True)
        ],
        observed=[ObservedPoint(k=int(k), coverage=float(v)) for k, v in points],
        source=c.source,
    )


def _candidates(task: str, models: Sequence[str], user: UserCandidates | None, seed: int) -> list[Candidate]:
    """The candidates a plan for ``task`` used: the catalog's, overridden by the user's own."""
    from budget.catalog import catalog_candidates, load_catalog
    from budget.pricing import default_price_book

    found: dict[str, Candidate] = {}
    if task in load_catalog().tasks:
        found.update({c.model: c for c in catalog_candidates(task, default_price_book(), seed=seed)})
    if user is not None:
        found.update({c.model: c for c in user(task).candidates})
    return [found[m] for m in models if m in found]


def _observed(task: str) -> dict[str, list[tuple[float, float]]]:
    from budget.catalog import load_catalog

    return {e.model: list(e.points or []) for e in load_catalog().for_task(task) if e.points}


def _observed_in_store(
    db: str | None, task: str, models: Sequence[str]
) -> dict[str, list[tuple[float, float]]]:
    """Observed pass@k of the counts each of the user's latest curves for ``task`` was fitted to.

    Chen et al.'s unbiased estimator, at k = 1, 2, 4, ... up to the fewest samples.
    """
    from budget.store import location

    url = location.resolve(db)
    if not location.exists(url):
        return {}
    from budget.store.database import NoStoreError, Store

    try:
        store = Store(url, create=False)
    except NoStoreError:
        return {}
    out: dict[str, list[tuple[float, float]]] = {}
    with store:
        for stored in store.curves(task):
            if stored.model not in models or stored.curve_id is None or stored.model in out:
                continue
            counts = store.curve_counts(stored.curve_id)
            if counts:
                out[stored.model] = _passk_points(counts)
    return out


def _verifier_rates(store: object, run_id: str) -> list[VerifierRate]:
    """Per model: accepted by the verifier tier, and of those rejected by the ground truth."""
    counts: dict[str, list[int]] = {}
    for s in store.samples(run_id=run_id):  # type: ignore[attr-defined]
        v, g = s.verdicts.get("verifier"), s.verdicts.get("ground_truth")
        if v is None or g is None or not v.passed:
            continue
        c = counts.setdefault(s.model, [0, 0])
        c[0] += 1
        c[1] += 0 if g.passed else 1
    return [VerifierRate(model=m, accepted=a, wrongly_accepted=w) for m, (a, w) in sorted(counts.items())]


def _run_facts(run_id: str, db: str | None) -> tuple[RunFacts, list[VerifierRate]]:
    from budget.service.store_view import list_runs
    from budget.store import location
    from budget.store.database import Store

    url = location.resolve(db)
    if not location.exists(url):
        raise InputError(f"no store at {location.display(url)} (pass --db)")
    summary = next((r for r in list_runs(db, limit=None).runs if r.run_id == run_id), None)
    if summary is None:
        raise InputError(f"no run {run_id} in {location.display(url)} (see budget runs)")
    with Store(url, create=False) as store:
        rates = _verifier_rates(store, run_id)
    return RunFacts(**summary.model_dump()), rates


def assumption_line(plan: PlanResult | None, verifier: Sequence[VerifierRate]) -> str:
    """The headline's assumption, with the verifier's measured false-positive rate when known."""
    accepted = sum(v.accepted for v in verifier)
    if not accepted:
        return (
            "Assumes your verifier accepts a sample exactly when it is correct; its false-positive "
            "rate is not measured here (a run verified on both tiers measures it)."
        )
    wrong = sum(v.wrongly_accepted for v in verifier)
    text = (
        f"Your verifier accepted {wrong:,} wrong sample{'s' if wrong != 1 else ''} of {accepted:,} "
        f"it accepted ({wrong / accepted:.1%}) in this run: read solved counts as up to that share too high"
    )
    return text + "."


def make_report(request: ReportRequest, *, user_candidates: UserCandidates | None = None) -> Report:
    """Build the report for a run, a plan file, or a task and budget."""
    chosen = [x for x in (request.run_id, request.plan_file, request.task or request.dollars) if x]
    if len(chosen) != 1:
        raise InputError("give one of RUN_ID, --plan FILE, or --task/--dollars")
    run: RunFacts | None = None
    verifier: list[VerifierRate] = []
    check: CheckSummary | None = None
    note = ""
    if request.plan_file is not None:
        plan = _read_plan(request.plan_file)
        title = f"Plan for {plan.inputs.task} ({request.plan_file.name})"
    elif request.run_id is not None:
        return _run_report(request, user_candidates)
    else:
        if request.dollars is None:
            raise InputError("--task needs --dollars")
        plan = make_plan(
            PlanRequest(dollars=request.dollars, task=request.task, seed=request.seed),
            user_candidates=user_candidates,
        )
        title = f"{plan.inputs.task}: what {plan.inputs.dollars:,} dollars buy"
    curves, prices = _behind(plan, user_candidates, request.db, request.seed)
    return Report(
        generated_at=datetime.now(UTC).replace(microsecond=0),
        title=title,
        headline=plan.recommendation.headline,
        assumption=assumption_line(plan, verifier),
        plan=plan,
        curves=curves,
        prices=prices,
        verifier=verifier,
        run=run,
        check=check,
        check_note=note,
    )


def _behind(
    plan: PlanResult,
    user_candidates: UserCandidates | None,
    db: str | None,
    seed: int,
    *,
    skip: Sequence[str] = (),
) -> tuple[list[ModelCurve], list[PriceLine]]:
    """The curves and prices behind a plan's alternatives (those in ``skip`` left out)."""
    models = [a.model for a in plan.alternatives if a.model not in skip]
    displays = {a.model: a.display for a in plan.alternatives}
    cands = _candidates(plan.inputs.task, models, user_candidates, seed)
    observed = _observed(plan.inputs.task)
    measured = [c.model for c in cands if c.cost.kind == "measured"]
    if measured:  # the user's own curves: their own data, not the catalog's published points
        observed.update({m: [] for m in measured})
        observed.update(_observed_in_store(db, plan.inputs.task, measured))
    curves = [_curve(c, displays[c.model], observed.get(c.model, [])) for c in cands]
    prices = [
        PriceLine(
            model=c.model,
            display=displays[c.model],
            kind=c.cost.kind,
            cost_per_sample=c.cost.first,
            formula=c.cost.formula,
            sources=c.cost.sources or [c.source],
        )
        for c in cands
    ]
    return curves, prices


# --- a report on a stored run: the run's own records first, the catalog for comparison ------
class _RunOwn(BaseModel):
    """What a run itself says about each of its models: curve, cost, price, observed coverage."""

    candidates: list[Candidate]
    curves: list[ModelCurve]
    prices: list[PriceLine]
    excluded: list[str]


def _passk_points(counts: Sequence[ProblemCounts]) -> list[tuple[float, float]]:
    """Observed pass@k (Chen et al. 2021's unbiased estimator) at k = 1, 2, 4, ... up to the
    fewest samples of any problem.
    """
    from budget.curves.passk import pass_at_k

    if not counts:
        return []
    n = np.array([x.n for x in counts], dtype=float)
    c = np.array([x.c for x in counts], dtype=float)
    top = int(n.min())
    ks = [2**i for i in range(top.bit_length()) if 2**i <= top]
    values = pass_at_k(n, c, ks)
    return [(float(k), float(v)) for k, v in zip(ks, values, strict=True)]


def _price_text(snap: PriceSnapshot) -> tuple[str, list[str]]:
    """The price a run recorded for a model, as a formula and its source with its date."""
    from budget.money import fmt_usd

    if snap.kind == "local_machine":
        text = f"{snap.machine} at {fmt_usd(snap.usd_per_hour)}/h"
    elif snap.input_per_mtok is not None:
        text = f"{fmt_usd(snap.input_per_mtok)} in / {fmt_usd(snap.output_per_mtok)} out per million tokens"
    else:
        text = snap.kind or "price recorded"
    source = snap.source or "recorded by the run"
    return text, [f"{source} ({snap.as_of})" if snap.as_of else source]


def _run_own(store: Store, run: RunFacts) -> _RunOwn:
    """Per model of the run: the curve its prediction used (else the latest fitted to the user's
    samples), the cost per sample the run measured (its bill over its samples; unknown when
    its samples carry no cost), and its observed coverage.
    """
    from budget.pricing import SampleCost

    st = {x.model: x for x in store.run_model_stats([run.run_id])}
    snaps = {p.model: p for p in store.prices(run.run_id)}
    preds = {p.model: p for p in store.predictions([run.run_id])}
    stored = store.curves(run.task, latest=False)
    by_id = {c.curve_id: c for c in stored}
    latest: dict[str, StoredCurve] = {}
    for c in stored:  # newest first
        latest.setdefault(c.model, c)
    out = _RunOwn(candidates=[], curves=[], prices=[], excluded=[])
    for model in dict.fromkeys([*run.models, *st]):
        stats = st.get(model)
        samples = stats.samples if stats is not None else 0
        spent = stats.spent if stats is not None else Decimal(0)
        pred = preds.get(model)
        used = pred.curve.curve_id if pred is not None and pred.curve is not None else None
        curve = by_id.get(used) if used is not None else latest.get(model)
        price, sources = _price_text(snaps[model]) if model in snaps else ("", [f"run {run.run_id}"])
        cost: SampleCost | None = None
        if samples and spent > 0:
            mean = spent / samples
            cost = SampleCost.flat(
                "measured",
                mean,
                f"this run's bill: {spent} over {samples:,} samples" + (f" ({price})" if price else ""),
                sources=sources,
                worst_basis="the run's mean cost per sample (its largest is not bounded here)",
            )
            line = PriceLine(
                model=model,
                display=model,
                kind="measured",
                cost_per_sample=mean,
                formula=cost.formula,
                sources=sources,
            )
        else:
            line = PriceLine(
                model=model,
                display=model,
                kind="unknown",
                cost_per_sample=None,
                formula="unknown: the run's samples carry no cost (imported), which is not free",
                sources=sources,
            )
        out.prices.append(line)
        points = _passk_points(store.problem_counts(run.task, model=model, run_ids=[run.run_id]))
        if curve is None:
            out.excluded.append(f"{model}: no curve fitted to its samples (budget fit --db makes one)")
            continue
        source = f"curve {curve.curve_id} fitted to your samples ({curve.fitted_at:%Y-%m-%d %H:%M} UTC)"
        cand = Candidate(model=model, curve=curve.curve, cost=cost or _no_cost(), source=source)
        out.curves.append(_curve(cand, model, points))
        if cost is None:
            out.excluded.append(f"{model} left out of the plan: its cost per sample is unknown, not free")
        else:
            out.candidates.append(cand)
    return out


def _no_cost() -> SampleCost:
    """A placeholder cost for drawing a curve whose cost is unknown (never planned with)."""
    from budget.pricing import SampleCost

    return SampleCost.flat("measured", Decimal(0), "")


def _run_report(request: ReportRequest, user_candidates: UserCandidates | None) -> Report:
    """A report on a stored run from the run's own records (its bill, prices, predictions,
    check); the catalog's models are planned beside it, for comparison, where its task is in
    the catalog.  Works for any run: imported, local, or models the catalog never heard of.
    """
    from budget.money import fmt_usd
    from budget.service.planning import UserCurves
    from budget.store import location
    from budget.store.database import Store

    assert request.run_id is not None
    run, verifier = _run_facts(request.run_id, request.db)
    with Store(location.resolve(request.db), create=False) as store:
        own = _run_own(store, run)
        size = store.task_size(run.task)
    title = f"Run {run.run_id} on {run.task}"
    try:
        check = _check_provider(run.run_id, request.db)
    except BudgetError as exc:  # e.g. no prediction stored for an older run
        check, note = None, f"not checked: {exc}"
    else:
        note = "" if check is not None else "not checked: no check service in this installation"
    dollars = run.cap or run.spent
    plan: PlanResult | None = None
    plan_note = ""
    if not dollars or dollars <= 0:
        plan_note = (
            f"no plan: the run had no cap and its cost is unknown (budget report --task {run.task} "
            "--dollars D plans one)"
        )
    else:

        def lookup(_task: str | None) -> UserCurves:
            return UserCurves(run.task, own.candidates, size)

        try:
            plan = make_plan(
                PlanRequest(dollars=dollars, task=run.task, seed=request.seed), user_candidates=lookup
            )
        except BudgetError as exc:
            plan_note = f"no plan at {fmt_usd(dollars)}: {exc}"
    notes = [*own.excluded, *([plan_note] if plan_note else [])]
    spent = fmt_usd(run.spent)
    facts = f"Run {run.run_id} on {run.task}: {run.samples:,} samples, spent {spent}"
    if plan is not None:
        plan = plan.model_copy(update={"warnings": [*plan.warnings, *own.excluded]})
        curves, prices = _behind(plan, None, request.db, request.seed, skip=[p.model for p in own.prices])
        headline = f"{facts}. At its {fmt_usd(dollars)}: {plan.recommendation.headline}"
    else:
        curves, prices = [], []
        headline = f"{facts}; " + "; ".join(notes)
    return Report(
        generated_at=datetime.now(UTC).replace(microsecond=0),
        title=title,
        headline=headline,
        assumption=assumption_line(plan, verifier),
        plan=plan,
        plan_note="; ".join(notes),
        curves=[*own.curves, *curves],
        prices=[*own.prices, *prices],
        verifier=verifier,
        run=run,
        check=check,
        check_note=note,
    )
