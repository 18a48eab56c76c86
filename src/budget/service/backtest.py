"""Use case: ``budget backtest`` -- would budget's prediction have been right on *your* data?

From recorded outcomes (a counts CSV ``model, problem_id, num_samples, num_correct``, or a
run in the store), for each seed and model:

1. **Pilot.**  Keep ``T`` of the recorded samples as a pilot (``--pilot-samples M``: ``T =
   M x problems``; ``--pilot-dollars D``: ``T = floor(D / cost per sample)``), chosen by the
   pilot rule (:mod:`budget.planner.pilot`: uniform, or adaptive -- the next sample to the
   problem with the fewest successes).  Drawing without replacement from the recorded
   counts is an exact replay when a problem's samples are exchangeable.
2. **Fit** the pilot's counts with budget's fitting API (:func:`budget.curves.fit_counts`).
3. **Predict**: coverage with its interval at each ``--predict K``; and with ``--dollars B``
   the planner's plan for this model alone (:func:`budget.planner.plan`), never past the
   recorded samples per problem.
4. **Replay** the same ``k`` on the held-back samples: the exact expected coverage of ``k``
   draws without replacement from each problem's held-back samples (unbiased pass@k, Chen
   et al. 2021), or from all its recorded samples when fewer than ``k`` are held back; the
   replayed cost is the cost of the samples the plan buys (fixed policy: ``k`` each).

The summary is the mean absolute error in coverage points, the share of cases whose interval
holds the replayed coverage, and the mean interval width in points.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from budget import SCHEMA_VERSION
from budget.errors import BudgetError, InputError
from budget.money import USD
from budget.planner.pilot import DEFAULT_PILOT, PilotRule, replay

LEVEL = 0.9


class BacktestRequest(BaseModel):
    """What ``budget backtest`` asks."""

    model_config = ConfigDict(frozen=True)

    source: str
    pilot_samples: int | None = Field(default=None, gt=0)
    pilot_dollars: Decimal | None = None
    dollars: Decimal | None = None
    predict: list[int] = Field(default_factory=list)
    pilot: PilotRule = DEFAULT_PILOT
    seeds: int = Field(default=5, gt=0, le=1000)
    models: list[str] | None = None
    prices: list[str] = Field(default_factory=list)
    task: str | None = None
    db: str | None = None
    max_extrapolation: float = Field(default=10.0, gt=0)
    fitter: str | None = None

    @model_validator(mode="after")
    def _one_pilot(self) -> BacktestRequest:
        if (self.pilot_samples is None) == (self.pilot_dollars is None):
            raise InputError("give exactly one of --pilot-samples M or --pilot-dollars D")
        for name, amount in (("--pilot-dollars", self.pilot_dollars), ("--dollars", self.dollars)):
            if amount is not None and (not amount.is_finite() or amount <= 0):
                raise InputError(f"{name} must be a positive amount of dollars, got {amount}")
        if any(k < 1 for k in self.predict):
            raise InputError("--predict values must be at least 1")
        return self


class Recorded(BaseModel):
    """One model's recorded outcomes on a task, with its cost per sample when known."""

    model: str
    task: str
    num_samples: list[int]
    num_correct: list[int]
    cost_per_sample: USD | None = None
    cost_source: str = ""


class BacktestCase(BaseModel):
    """One backtest case: a seed and model, its pilot, the prediction and the outcome."""
    seed: int
    model: str
    pilot: PilotRule
    pilot_samples: float = Field(description="pilot samples per problem (mean over problems)")
    k: int
    predicted_coverage: float
    interval: tuple[float, float]
    replayed_coverage: float
    predicted_cost: USD | None = None
    replayed_cost: USD | None = None
    fitter: str = ""
    replayed_from: Literal["held-back", "all recorded"] = "held-back"


class BacktestSummary(BaseModel):
    """The cases in numbers: error, interval hit rate and width."""
    cases: int
    mae_points: float
    interval_hit_rate: float
    mean_interval_width_points: float


class BacktestInputs(BaseModel):
    """What the backtest ran on: the data, task, problems and pilot."""
    source: str
    task: str
    problems: int
    pilot: PilotRule
    pilot_samples: int | None
    pilot_dollars: USD | None
    dollars: USD | None
    predict: list[int]
    seeds: int
    interval_level: float = LEVEL
    costs: dict[str, str] = Field(
        default_factory=dict, description="cost per sample of each model, with source"
    )


class BacktestResult(BaseModel):
    """The outcome of ``budget backtest`` (``--json`` prints it)."""
    schema_version: int = SCHEMA_VERSION
    inputs: BacktestInputs
    cases: list[BacktestCase]
    summary: BacktestSummary
    by_model: dict[str, BacktestSummary] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- inputs
def load_recorded(request: BacktestRequest) -> list[Recorded]:
    """The recorded counts of ``request.source``: a counts CSV, else a run id in the store."""
    path = Path(request.source)
    if path.is_file():
        from budget.service.fitting import read_counts

        rows = [
            Recorded(model=m.model, task=m.task, num_samples=m.num_samples, num_correct=m.num_correct)
            for m in read_counts(path, request.task)
        ]
    else:
        rows = _from_store(request)
    if request.models:
        known = {r.model: r for r in rows}
        missing = [m for m in request.models if m not in known]
        if missing:
            from budget.errors import UnknownNameError

            raise UnknownNameError("model", missing[0], list(known), context=request.source)
        rows = [known[m] for m in request.models]
    return _priced(rows, request)


def _from_store(request: BacktestRequest) -> list[Recorded]:
    from budget.store import location

    url = location.resolve(request.db)
    if not location.exists(url):
        raise InputError(
            f"{request.source!r} is neither a counts file nor a run (no store at {location.display(url)})"
        )
    from budget.store.database import NoStoreError, Store

    try:
        store = Store(url, create=False)
    except NoStoreError:
        raise InputError(f"{request.source!r} is neither a counts file nor a run in the store") from None
    with store:
        run = store.get_run(request.source)
        counts = store.problem_counts(run.task, run_ids=[run.run_id])
        costs = {s.model: s for s in store.cost_stats(run.task)}
    by: dict[str, Recorded] = {}
    for c in counts:
        if c.n == 0:
            continue
        r = by.setdefault(
            c.model,
            Recorded(
                model=c.model,
                task=run.task,
                num_samples=[],
                num_correct=[],
                cost_per_sample=costs[c.model].mean if c.model in costs else None,
                cost_source=f"measured mean over {costs[c.model].samples} stored samples"
                if c.model in costs
                else "",
            ),
        )
        r.num_samples.append(c.n)
        r.num_correct.append(c.c)
    if not by:
        raise InputError(f"run {request.source} has no verified samples to replay")
    return list(by.values())


def _priced(rows: list[Recorded], request: BacktestRequest) -> list[Recorded]:
    from budget.pricing.overrides import USER_SOURCE, parse_overrides

    overrides = parse_overrides(request.prices)
    unknown = set(overrides) - {r.model for r in rows}
    if unknown:
        raise InputError(f"--price names {sorted(unknown)[0]}, which is not in {request.source}")
    out = []
    for r in rows:
        o = overrides.get(r.model)
        if o is not None:
            if o.usd_per_attempt is None:
                raise InputError(
                    f"--price {r.model}: recorded counts have no token counts; "
                    "give a price per sample (MODEL=USD)"
                )
            r = r.model_copy(
                update={"cost_per_sample": o.usd_per_attempt, "cost_source": f"{USER_SOURCE}, {o.as_of}"}
            )
        needs = request.pilot_dollars is not None or request.dollars is not None
        if needs and r.cost_per_sample is None:
            raise InputError(
                f"{r.model}: dollars need a cost per sample; give --price {r.model}=USD_PER_SAMPLE"
            )
        out.append(r)
    return out


# --------------------------------------------------------------------------- one case
def _pilot_total(rec: Recorded, request: BacktestRequest) -> int:
    problems = len(rec.num_samples)
    if request.pilot_samples is not None:
        return request.pilot_samples * problems
    assert request.pilot_dollars is not None and rec.cost_per_sample is not None
    return int((request.pilot_dollars / rec.cost_per_sample).to_integral_value(rounding=ROUND_FLOOR))


def _replayed(n: np.ndarray, c: np.ndarray, n_p: np.ndarray, c_p: np.ndarray, k: int) -> tuple[float, bool]:
    """Exact expected coverage of k draws from the held-back samples (all recorded if short)."""
    from budget.curves.passk import pass_at_k_per_problem

    held_n, held_c = n - n_p, c - c_p
    short = held_n < k
    held = pass_at_k_per_problem(np.maximum(held_n, 1), np.where(held_n > 0, held_c, 0), [k])[:, 0]
    full = pass_at_k_per_problem(n, c, [k])[:, 0]
    return float(np.mean(np.where(short, full, held))), bool(short.any())


def _cases_for(rec: Recorded, seed: int, request: BacktestRequest) -> tuple[list[BacktestCase], list[str]]:
    from budget.curves.selection import fit_counts_detailed

    n = np.asarray(rec.num_samples, dtype=np.int64)
    c = np.asarray(rec.num_correct, dtype=np.int64)
    total = _pilot_total(rec, request)
    if total < 2 * n.size and request.pilot is PilotRule.UNIFORM:
        return [], [f"{rec.model}: a pilot of {total} samples gives fewer than 2 per problem; skipped"]
    rng = np.random.default_rng([seed, n.size, total])
    n_p, c_p = replay(request.pilot, n, c, total, rng)
    used = n_p > 0
    if c_p.sum() == 0:
        return [], [f"{rec.model} (seed {seed}): no pilot sample passed; nothing to fit"]
    try:
        outcome = fit_counts_detailed(
            rec.model, rec.task, n_p[used], c_p[used], seed=seed, fitter=request.fitter
        )
    except BudgetError as exc:
        return [], [f"{rec.model} (seed {seed}): cannot fit the pilot: {exc}"]
    curve = outcome.curve
    if not used.all():  # problems the pilot never reached are unknown: counted at the fitted mean
        curve = curve.model_copy(update={"n_problems": int(n.size)})
    mean_pilot = float(n_p.mean())
    out: list[BacktestCase] = []
    for k in request.predict or ([int(n.min())] if request.dollars is None else []):
        if k > int(n.min()):
            raise InputError(
                f"--predict {k} exceeds the {int(n.min())} recorded samples of some problem of {rec.model}"
            )
        lo, hi = curve.interval([k], LEVEL)
        truth, short = _replayed(n, c, n_p, c_p, k)
        cost = rec.cost_per_sample * k * n.size if rec.cost_per_sample is not None else None
        out.append(
            BacktestCase(
                seed=seed,
                model=rec.model,
                pilot=request.pilot,
                pilot_samples=mean_pilot,
                k=k,
                predicted_coverage=float(curve.coverage([k])[0]),
                interval=(float(lo[0]), float(hi[0])),
                replayed_coverage=truth,
                predicted_cost=cost,
                replayed_cost=cost,
                fitter=outcome.fitter,
                replayed_from="all recorded" if short else "held-back",
            )
        )
    if request.dollars is not None:
        out.extend(_plan_case(rec, curve, outcome.fitter, n, c, n_p, c_p, seed, request))
    return out, []


def _plan_case(
    rec: Recorded,
    curve: object,
    fitter: str,
    n: np.ndarray,
    c: np.ndarray,
    n_p: np.ndarray,
    c_p: np.ndarray,
    seed: int,
    request: BacktestRequest,
) -> list[BacktestCase]:
    """The planner's plan for this model alone at ``--dollars``, replayed group by group."""
    from budget.curves import CoverageCurve
    from budget.planner import Candidate, PlanSettings, plan
    from budget.pricing import SampleCost

    assert (
        isinstance(curve, CoverageCurve) and rec.cost_per_sample is not None and request.dollars is not None
    )
    cost = rec.cost_per_sample
    cand = Candidate(
        model=rec.model,
        curve=curve,
        cost=SampleCost.flat("per_attempt", cost, rec.cost_source),
    )
    settings = PlanSettings(
        dollars=request.dollars,
        task=rec.task,
        problems=int(n.size),
        max_samples=int(n.min()),
        max_extrapolation=request.max_extrapolation,
        seed=seed,
    )
    try:
        result = plan([cand], settings)
    except BudgetError:
        return []
    rec_ = result.recommendation
    # which problems get which k: a seeded random split, as a run would assign them
    order = np.random.default_rng([seed, 7]).permutation(n.size)
    replayed, bought, start = 0.0, Decimal(0), 0
    for a in rec_.allocations:
        idx = order[start : start + a.problems]
        start += a.problems
        truth, _ = _replayed(n[idx], c[idx], n_p[idx], c_p[idx], a.samples_per_problem)
        replayed += truth * a.problems
        bought += cost * a.samples_per_problem * a.problems
    k = max((a.samples_per_problem for a in rec_.allocations), default=0)
    return [
        BacktestCase(
            seed=seed,
            model=rec.model,
            pilot=request.pilot,
            pilot_samples=float(n_p.mean()),
            k=k,
            predicted_coverage=rec_.expected_coverage,
            interval=rec_.expected_coverage_interval,
            replayed_coverage=replayed / n.size,
            predicted_cost=rec_.expected_cost,
            replayed_cost=bought,
            fitter=fitter,
        )
    ]


def summarize(cases: list[BacktestCase]) -> BacktestSummary:
    """The summary of ``cases`` (NaN figures when there are none)."""
    if not cases:
        return BacktestSummary(
            cases=0,
            mae_points=float("nan"),
            interval_hit_rate=float("nan"),
            mean_interval_width_points=float("nan"),
        )
    err = [abs(x.predicted_coverage - x.replayed_coverage) for x in cases]
    hit = [x.interval[0] <= x.replayed_coverage <= x.interval[1] for x in cases]
    width = [x.interval[1] - x.interval[0] for x in cases]
    return BacktestSummary(
        cases=len(cases),
        mae_points=100 * float(np.mean(err)),
        interval_hit_rate=float(np.mean(hit)),
        mean_interval_width_points=100 * float(np.mean(width)),
    )


def backtest(request: BacktestRequest) -> BacktestResult:
    """Pilot, fit, predict and replay for every seed and model of ``request.source``."""
    recorded = load_recorded(request)
    cases: list[BacktestCase] = []
    notes: list[str] = []
    for seed in range(request.seeds):
        for rec in recorded:
            got, why = _cases_for(rec, seed, request)
            cases.extend(got)
            notes.extend(why)
    if not cases:
        raise InputError("no case could be backtested: " + "; ".join(notes[:3]))
    by_model = {r.model: summarize([x for x in cases if x.model == r.model]) for r in recorded}
    if request.predict and any(x.replayed_from == "all recorded" for x in cases):
        notes.append(
            "some k exceed the held-back samples of a problem: "
            "those are replayed from all its recorded samples"
        )
    return BacktestResult(
        inputs=BacktestInputs(
            source=request.source,
            task=recorded[0].task,
            problems=len(recorded[0].num_samples),
            pilot=request.pilot,
            pilot_samples=request.pilot_samples,
            pilot_dollars=request.pilot_dollars,
            dollars=request.dollars,
            predict=request.predict,
            seeds=request.seeds,
            costs={
                r.model: f"${r.cost_per_sample} per sample ({r.cost_source})"
                for r in recorded
                if r.cost_per_sample
            },
        ),
        cases=cases,
        summary=summarize(cases),
        by_model=by_model,
        notes=notes,
    )
