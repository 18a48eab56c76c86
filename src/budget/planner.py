"""The planner: how many samples from which model maximise expected problems solved.

Pure: no I/O.  Inputs are candidates (a coverage curve and a cost per sample for each
model), a budget, a number of problems and a sampling policy.

**Problem.**  Give each of ``N`` problems an option ``(model m, samples k)``.  An option has
value ``f_m(k)`` (expected share of problems solved: the coverage curve) and cost ``c_m(k)``.
Maximise ``sum f`` subject to ``sum c <= B``.

**Costs.**  ``fixed`` policy: ``c(k) = first + (k - 1) * repeat`` (the first sample of a
problem may cost more, e.g. an uncached prompt).  ``until-pass`` (sample until the verifier
accepts, at most k): with a perfect verifier only samples up to the first success are
bought, so the expected cost is ``sum_{j<k} P(no success in the first j samples) x cost of
sample j+1 = first + repeat * sum_{j=1}^{k-1} (1 - coverage(j))``, because
``P(no success in j) = 1 - coverage(j)`` averaged over problems.  ``--hard-cap`` plans on the
worst case (every sample bought, each at its maximum cost) instead of the expectation.

**Solution.**  The linear relaxation (fractions of problems per option) is solved exactly by
the upper concave hull of the points ``(c, f)``: at per-problem budget ``b = B / N`` the
optimum mixes the two hull vertices around ``b`` (Lagrangian duality for the multiple-choice
knapsack; e.g. Sinha & Zoltners 1979, "The Multiple-Choice Knapsack Problem", Sec. 2).  budget
rounds it to whole problems by giving ``n_j = floor((B - N c_i) / (c_j - c_i))`` problems the
dearer vertex and the rest the cheaper one, in exact Decimal arithmetic: never over budget,
within one problem's gain ``f_j - f_i`` of the optimum, and non-decreasing in ``B``.

**Uncertainty.**  Each curve's bootstrap draws give draws of the plan's coverage; the
interval of expected coverage is their equal-tailed quantiles.  The interval of problems
solved adds the binomial chance of which of the ``N`` problems are solved.

The planner never recommends more than ``max_extrapolation`` times the largest k a curve was
measured at: money beyond that is left unspent, with a warning, rather than bet on an
extrapolation.  Every coverage figure assumes a verifier that recognises a correct sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from budget import SCHEMA_VERSION
from budget.curves import CoverageCurve
from budget.curves.base import FloatArray
from budget.errors import InputError, PlanningError
from budget.money import USD, fmt_usd
from budget.pricing import SampleCost

DENSE_K = 2048  # every integer k up to here is an option; geometric steps beyond
GEOMETRIC_STEP = 1.002
N_DRAWS = 2000  # Monte Carlo draws behind every interval


class Policy(StrEnum):
    FIXED = "fixed"
    UNTIL_PASS = "until-pass"


class Candidate(BaseModel):
    """A model the planner may use: its coverage curve and its cost per sample."""

    model_config = ConfigDict(frozen=True)

    model: str
    display: str = ""
    tier: Literal["frontier", "open"] = "open"
    curve: CoverageCurve
    cost: SampleCost
    source: str = ""

    @property
    def label(self) -> str:
        return self.display or self.model


class PlanSettings(BaseModel):
    """What the planner is asked."""

    model_config = ConfigDict(frozen=True)

    dollars: USD
    task: str
    problems: int = Field(gt=0)
    policy: Policy = Policy.FIXED
    hard_cap: bool = False
    max_extrapolation: float = Field(default=10.0, gt=0)
    max_samples: int = Field(default=100_000, gt=0, le=10_000_000)
    level: float = Field(default=0.9, gt=0, lt=1)
    seed: int = 0
    unit: str = "problems"

    @field_validator("dollars")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if not v.is_finite() or v <= 0:
            raise ValueError("dollars must be a positive, finite amount")
        return v


class Allocation(BaseModel):
    model: str
    samples_per_problem: int
    policy: Policy
    problems: int
    expected_coverage: float
    expected_cost: USD


class Estimate(BaseModel):
    """Expected outcome of a plan, with intervals at ``level``."""

    allocations: list[Allocation]
    expected_coverage: float
    expected_coverage_interval: tuple[float, float]
    expected_solved: float
    solved_interval: tuple[float, float]
    expected_cost: USD
    worst_case_cost: USD
    dollars_per_solved: USD | None
    unsampled_problems: int
    extrapolation: float = 0.0


class Recommendation(Estimate):
    headline: str


class Alternative(Estimate):
    model: str
    display: str
    tier: str
    samples_per_problem: int
    cost_model: str
    source: str


class SingleSample(BaseModel):
    """One sample per problem of a model, priced, whether or not the budget allows it."""

    model: str
    display: str
    expected_coverage: float
    expected_coverage_interval: tuple[float, float]
    expected_solved: float
    cost: USD
    within_budget: bool


class FrontierPoint(BaseModel):
    dollars: float
    expected_solved: float


class Crossing(BaseModel):
    """Where two models' frontiers cross: below ``dollars`` one wins, above it the other."""

    cheaper_wins_below: str
    dearer_wins_above: str
    dollars: float


class PlanResult(BaseModel):
    schema_version: int = SCHEMA_VERSION
    inputs: PlanSettings
    recommendation: Recommendation
    alternatives: list[Alternative]
    frontier_single_sample: list[SingleSample]
    frontier: dict[str, list[FrontierPoint]]
    crossings: list[Crossing]
    assumptions: list[str]
    warnings: list[str]


# --------------------------------------------------------------------------- options
@dataclass(frozen=True)
class _Options:
    """All (k, cost, coverage) options of one candidate, and its exact cost function."""

    cand: Candidate
    ks: np.ndarray  # int grid, starting at 0
    cost: FloatArray  # constraint cost per problem (expected or worst case)
    value: FloatArray  # point coverage
    survival_cumsum: FloatArray  # sum_{j=1}^{k-1} (1 - coverage(j)), indexed by k
    k_cap: int
    settings: PlanSettings

    def exact_cost(self, k: int, *, worst: bool | None = None) -> Decimal:
        """Exact cost of k samples of one problem under the plan's cost measure."""
        c = self.cand.cost
        use_worst = self.settings.hard_cap if worst is None else worst
        if k <= 0:
            return Decimal(0)
        if use_worst:
            return c.worst_cost(k)
        if self.settings.policy is Policy.FIXED:
            return c.fixed_cost(k)
        tail = Decimal(repr(float(self.survival_cumsum[k]))).quantize(Decimal("1e-9"), rounding=ROUND_CEILING)
        return c.first + c.repeat * tail


def _grid(k_max: int, k_cap: int) -> np.ndarray:
    """Options k: every integer to DENSE_K, then a fixed geometric ladder, and k_cap.

    The ladder does not depend on the budget, so a larger budget only adds options.
    """
    dense = np.arange(0, min(k_max, DENSE_K) + 1)
    if k_max <= DENSE_K:
        return dense
    n = math.ceil(math.log(k_max / DENSE_K) / math.log(GEOMETRIC_STEP)) + 1
    ladder = np.round(DENSE_K * GEOMETRIC_STEP ** np.arange(n)).astype(np.int64)
    extra = np.asarray([k_cap] if k_cap <= k_max else [], dtype=np.int64)
    return np.unique(np.concatenate([dense, ladder[ladder <= k_max], extra]))


def _options(cand: Candidate, s: PlanSettings) -> _Options:
    k_cap = s.max_samples
    if cand.curve.max_observed_k:
        k_cap = min(k_cap, max(1, math.floor(s.max_extrapolation * cand.curve.max_observed_k)))
    c = cand.cost
    first = float(c.worst_first if s.hard_cap else c.first)
    repeat = float(c.worst_repeat if s.hard_cap else c.repeat)
    budget = float(s.dollars)
    if first > budget:
        k_max = 0
    elif (s.hard_cap or s.policy is Policy.FIXED) and repeat > 0:
        k_max = min(k_cap, 1 + math.floor((budget - first) / repeat))
    else:
        k_max = k_cap
    every_k = np.arange(0, k_max + 1)
    cov_all = cand.curve.coverage(every_k)
    survival = 1.0 - cov_all
    survival[0] = 0.0  # the first sample is priced by `first`
    cumsum = np.concatenate([[0.0], np.cumsum(survival)])[:-1]  # cumsum[k] = sum_{j<k}, j>=1
    ks = _grid(k_max, k_cap)
    if s.hard_cap or s.policy is Policy.FIXED:
        cost = np.where(ks > 0, first + (ks - 1) * repeat, 0.0)
    else:
        cost = np.where(ks > 0, first + repeat * cumsum[ks], 0.0)
    keep = cost <= budget  # one problem could take the whole budget, not more
    return _Options(cand, ks[keep], cost[keep], cov_all[ks[keep]], cumsum, k_cap, s)


# --------------------------------------------------------------------------- hull / LP
@dataclass(frozen=True)
class _Vertex:
    opt: _Options
    k: int
    cost: Decimal
    value: float


def _upper_hull(points: list[tuple[float, float, int, int]]) -> list[tuple[float, float, int, int]]:
    """Upper concave hull of (cost, value, owner, k) points, from (0, 0), values increasing.

    Andrew's monotone chain restricted to the Pareto-efficient points (cost ascending,
    value strictly rising).
    """
    points.sort(key=lambda p: (p[0], -p[1]))
    pareto: list[tuple[float, float, int, int]] = []
    for p in points:
        if not pareto or p[1] > pareto[-1][1] + 1e-15:
            pareto.append(p)
    hull: list[tuple[float, float, int, int]] = []
    for p in pareto:
        while len(hull) >= 2:
            (x1, y1, *_), (x2, y2, *_) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def _vertices(options: Sequence[_Options]) -> list[_Vertex]:
    pts: list[tuple[float, float, int, int]] = []
    for idx, o in enumerate(options):
        pts.extend(zip(o.cost.tolist(), o.value.tolist(), [idx] * o.ks.size, o.ks.tolist(), strict=True))
    hull = _upper_hull(pts)
    verts = [_Vertex(options[i], k, options[i].exact_cost(k), v) for _, v, i, k in hull]
    # exact costs must stay increasing along the hull (float ties can reorder by an ulp)
    out: list[_Vertex] = []
    for v in verts:
        if not out or (v.cost > out[-1].cost and v.value > out[-1].value):
            out.append(v)
    return out


def _solve(verts: list[_Vertex], budget: Decimal, n: int) -> list[tuple[_Vertex, int]]:
    """Whole-problem rounding of the hull LP (see module docstring). Exact, never over."""
    if not verts or verts[0].cost > 0:
        raise PlanningError("no zero-cost option (internal)")
    i = max(idx for idx, v in enumerate(verts) if v.cost * n <= budget)
    if i == len(verts) - 1:
        return [(verts[i], n)]
    lo, hi = verts[i], verts[i + 1]
    n_hi = int((budget - lo.cost * n) // (hi.cost - lo.cost))
    n_hi = max(0, min(n_hi, n))
    while n_hi > 0 and lo.cost * (n - n_hi) + hi.cost * n_hi > budget:
        n_hi -= 1
    return [(v, m) for v, m in ((hi, n_hi), (lo, n - n_hi)) if m > 0]


# --------------------------------------------------------------------------- estimates
def _estimate(groups: list[tuple[_Vertex, int]], s: PlanSettings) -> Estimate:
    n = s.problems
    rng = np.random.default_rng(s.seed)
    allocations: list[Allocation] = []
    cov_total: float = 0.0
    draws_total: FloatArray | None = None
    solved_draws: FloatArray | None = None
    exp_cost = Decimal(0)
    worst = Decimal(0)
    unsampled = 0
    extrap = 0.0
    picks: dict[str, np.ndarray] = {}
    for v, m in groups:
        if v.k == 0:
            unsampled += m
            continue
        exp_cost += v.opt.exact_cost(v.k, worst=False) * m
        worst += v.opt.exact_cost(v.k, worst=True) * m
        cov_total += v.value * m
        extrap = max(extrap, v.opt.cand.curve.extrapolation(v.k))
        d = v.opt.cand.curve.coverage_draws([v.k])[:, 0]
        # one set of draw indices per model, so groups of the same model stay correlated
        idx = picks.setdefault(v.opt.cand.model, rng.integers(0, d.size, N_DRAWS))
        d = d[idx % d.size]
        draws_total = d * m if draws_total is None else draws_total + d * m
        hits = rng.binomial(m, np.clip(d, 0, 1)).astype(float)
        solved_draws = hits if solved_draws is None else solved_draws + hits
        allocations.append(
            Allocation(
                model=v.opt.cand.model,
                samples_per_problem=v.k,
                policy=s.policy,
                problems=m,
                expected_coverage=v.value,
                expected_cost=v.opt.exact_cost(v.k, worst=False) * m,
            )
        )
    lo_q, hi_q = (1 - s.level) / 2, 1 - (1 - s.level) / 2
    if draws_total is None or solved_draws is None:
        cov_iv, solved_iv = (0.0, 0.0), (0.0, 0.0)
    else:
        cov_iv = (
            float(np.quantile(draws_total, lo_q)) / n,
            float(np.quantile(draws_total, hi_q)) / n,
        )
        solved_iv = (float(np.quantile(solved_draws, lo_q)), float(np.quantile(solved_draws, hi_q)))
    solved = cov_total
    return Estimate(
        allocations=sorted(allocations, key=lambda a: -a.problems),
        expected_coverage=cov_total / n,
        expected_coverage_interval=cov_iv,
        expected_solved=solved,
        solved_interval=solved_iv,
        expected_cost=exp_cost,
        worst_case_cost=worst,
        dollars_per_solved=(exp_cost / Decimal(repr(solved))).quantize(Decimal("0.0001"))
        if solved > 0
        else None,
        unsampled_problems=unsampled,
        extrapolation=extrap,
    )


def _frontier(verts: list[_Vertex], dollars: FloatArray, n: int) -> FloatArray:
    """LP value (expected solved) at each budget, interpolated along the hull."""
    c = np.array([float(v.cost) for v in verts]) * n
    f = np.array([v.value for v in verts]) * n
    out: FloatArray = np.interp(dollars, c, f)
    return out


def _crossings(
    hulls: dict[str, list[_Vertex]], labels: dict[str, str], budget: float, n: int
) -> list[Crossing]:
    grid = np.geomspace(budget / 1000, budget * 1000, 2001)
    out: list[Crossing] = []
    names = list(hulls)
    curves = {m: _frontier(hulls[m], grid, n) for m in names}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            diff = curves[a] - curves[b]
            sign = np.sign(np.where(np.abs(diff) < 1e-9, 0, diff))
            idx = np.nonzero((sign[:-1] * sign[1:]) < 0)[0]
            for j in idx[:3]:
                x0, x1, d0, d1 = grid[j], grid[j + 1], diff[j], diff[j + 1]
                x = x0 + (x1 - x0) * d0 / (d0 - d1)
                low, high = (a, b) if d0 > 0 else (b, a)
                out.append(
                    Crossing(
                        cheaper_wins_below=labels[low],
                        dearer_wins_above=labels[high],
                        dollars=float(x),
                    )
                )
    return sorted(out, key=lambda c: c.dollars)


# --------------------------------------------------------------------------- entry point
def plan(candidates: Sequence[Candidate], settings: PlanSettings) -> PlanResult:
    """The best plan for ``settings`` over ``candidates``, with per-model alternatives."""
    if not candidates:
        raise InputError("no candidate models to plan with")
    s = settings
    options = [_options(c, s) for c in candidates]
    best = _estimate(_solve(_vertices(options), s.dollars, s.problems), s)
    if not best.allocations:
        cheapest = min(candidates, key=lambda c: c.cost.worst_first if s.hard_cap else c.cost.first)
        raise PlanningError(
            f"{fmt_usd(s.dollars)} buys no sample: the cheapest, {cheapest.label}, costs "
            f"{fmt_usd(cheapest.cost.worst_first if s.hard_cap else cheapest.cost.first)} per sample"
        )
    hulls = {o.cand.model: _vertices([o]) for o in options}
    alternatives = []
    for o in options:
        est = _estimate(_solve(hulls[o.cand.model], s.dollars, s.problems), s)
        main_k = est.allocations[0].samples_per_problem if est.allocations else 0
        alternatives.append(
            Alternative(
                **est.model_dump(),
                model=o.cand.model,
                display=o.cand.label,
                tier=o.cand.tier,
                samples_per_problem=main_k,
                cost_model=o.cand.cost.formula,
                source=o.cand.source,
            )
        )
    singles = []
    for o in options:
        cov = float(o.cand.curve.coverage([1])[0])
        lo, hi = o.cand.curve.interval([1], s.level)
        cost = o.cand.cost.first * s.problems
        singles.append(
            SingleSample(
                model=o.cand.model,
                display=o.cand.label,
                expected_coverage=cov,
                expected_coverage_interval=(float(lo[0]), float(hi[0])),
                expected_solved=cov * s.problems,
                cost=cost,
                within_budget=cost <= s.dollars,
            )
        )
    budget_f = float(s.dollars)
    grid = np.unique(np.concatenate([np.geomspace(budget_f / 20, budget_f * 5, 40), [budget_f]]))
    frontier = {
        o.cand.model: [
            FrontierPoint(dollars=float(d), expected_solved=float(v))
            for d, v in zip(grid, _frontier(hulls[o.cand.model], grid, s.problems), strict=True)
        ]
        for o in options
    }
    labels = {o.cand.model: o.cand.label for o in options}
    warnings = _warnings(best, options, s)
    return PlanResult(
        inputs=s,
        recommendation=Recommendation(**best.model_dump(), headline=_headline(best, singles, labels, s)),
        alternatives=alternatives,
        frontier_single_sample=singles,
        frontier=frontier,
        crossings=_crossings(hulls, labels, budget_f, s.problems),
        assumptions=_assumptions(s, candidates),
        warnings=warnings,
    )


def _per(unit: str) -> str:
    return unit[:-1] if unit.endswith("s") else unit


def _headline(best: Estimate, singles: list[SingleSample], labels: dict[str, str], s: PlanSettings) -> str:
    """One sentence: what to sample, what it should solve and cost, against a frontier model."""
    by_model: dict[str, list[Allocation]] = {}
    for a in best.allocations:
        by_model.setdefault(a.model, []).append(a)
    parts = []
    for model, groups in by_model.items():
        ks = sorted(g.samples_per_problem for g in groups)
        n = sum(g.problems for g in groups)
        k_txt = f"{ks[0]}x" if len(ks) == 1 else f"{ks[0]}-{ks[-1]}x"
        where = f"per {_per(s.unit)}" if n == s.problems else f"on {n} of {s.problems} {s.unit}"
        parts.append(f"{labels[model]} {k_txt} {where}")
    lo, hi = best.solved_interval
    text = (
        f"Sample {' + '.join(parts)}: expect {best.expected_solved:.0f} of {s.problems} {s.unit} "
        f"solved ({s.level:.0%}: {lo:.0f}-{hi:.0f}) for {fmt_usd(best.expected_cost)}"
    )
    if best.dollars_per_solved is not None:
        text += f" ({fmt_usd(best.dollars_per_solved)} per solved)"
    others = [x for x in singles if x.model not in by_model]
    if others:
        affordable = [x for x in others if x.within_budget]
        top = max(affordable or others, key=lambda x: x.expected_solved)
        text += (
            f"; one sample of {top.display} per {_per(s.unit)} solves {top.expected_solved:.0f} "
            f"for {fmt_usd(top.cost)}" + ("" if top.within_budget else " (over budget)")
        )
    return text


def _warnings(best: Estimate, options: Sequence[_Options], s: PlanSettings) -> list[str]:
    out = []
    for a in best.allocations:
        o = next(o for o in options if o.cand.model == a.model)
        mk = o.cand.curve.max_observed_k
        if mk and a.samples_per_problem > mk:
            out.append(
                f"{o.cand.label}: k={a.samples_per_problem} extrapolates "
                f"{a.samples_per_problem / mk:.1f}x past the largest measured k ({mk})"
            )
        if a.samples_per_problem >= o.k_cap and o.k_cap < s.max_samples:
            out.append(
                f"{o.cand.label}: stopped at k={o.k_cap} ({s.max_extrapolation:g}x the data); "
                "money beyond that is not bet on an extrapolated curve"
            )
        out.extend(f"{o.cand.label}: {note}" for note in o.cand.curve.notes if "borrowed" in note)
    left = s.dollars - (best.worst_case_cost if s.hard_cap else best.expected_cost)
    if left > s.dollars / 10:
        out.append(f"{fmt_usd(left)} of the budget is left unspent by the best plan")
    return out


def _assumptions(s: PlanSettings, candidates: Sequence[Candidate]) -> list[str]:
    out = [
        "coverage assumes a verifier that recognises a correct sample (no false positives or negatives)",
        f"the {s.problems} {s.unit} are like the problems the curves were measured on",
        f"intervals are {s.level:.0%}: expected coverage over curve uncertainty (bootstrap); "
        "problems solved adds the chance of which problems get solved",
    ]
    if s.policy is Policy.UNTIL_PASS:
        out.append("until-pass stops a problem at its first accepted sample; cost is the expectation")
    if s.hard_cap:
        out.append("hard cap: planned on the worst-case cost of every sample")
    if any(c.cost.kind == "per_attempt" for c in candidates):
        out.append("per-attempt costs are published averages at the prices of their date")
    return out
