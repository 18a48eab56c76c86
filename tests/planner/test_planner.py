"""Planner: brute-force reference, closed-form golden values, and hypothesis properties."""

from __future__ import annotations

import itertools
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from budget.curves import CoverageCurve, CurveForm, register_form
from budget.errors import PlanningError
from budget.planner import Candidate, PlanSettings, Policy, plan
from budget.pricing import SampleCost


def _mixture(params: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Coverage of a finite population of problems with success rates p_i:
    mean_i [1 - (1 - p_i)^k]  (Schaeffer et al. 2025, Eq. 11 with a discrete distribution)."""
    p = np.asarray(params, dtype=float)[..., :, None]
    return np.mean(1 - (1 - p) ** np.asarray(k, dtype=float), axis=-2)


MIXTURE = register_form(CurveForm("test_mixture", ("p0", "p1", "p2", "p3"), _mixture, "", "test"))


def cost(first: str, repeat: str | None = None) -> SampleCost:
    r = Decimal(repeat or first)
    return SampleCost(
        kind="per_attempt",
        first=Decimal(first),
        repeat=r,
        worst_first=Decimal(first) * 2,
        worst_repeat=r * 2,
        formula="test",
    )


def power(model: str, a: float, b: float, c: SampleCost, max_k: int | None = None) -> Candidate:
    curve = CoverageCurve(
        model=model, task="t", form="power_law", params={"a": a, "b": b}, max_observed_k=max_k
    )
    return Candidate(model=model, curve=curve, cost=c)


def mixture(model: str, ps: list[float], c: SampleCost) -> Candidate:
    curve = CoverageCurve(
        model=model, task="t", form="test_mixture", params={f"p{i}": p for i, p in enumerate(ps)}
    )
    return Candidate(model=model, curve=curve, cost=c)


def settings_for(dollars: str, n: int, **kw: object) -> PlanSettings:
    return PlanSettings(dollars=Decimal(dollars), task="t", problems=n, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- golden values
def test_constant_cost_concave_curve_spreads_samples_evenly() -> None:
    """With a constant price per sample and a concave curve, the optimum buys
    S = floor(B / c) samples and spreads them: k = S // N each, S % N problems get one more.
    Brown et al.'s DeepSeek numbers: $50 / $0.0072 = 6944 samples over 300 issues."""
    cand = power("deepseek", -1.79, -0.23, cost("0.0072"))
    r = plan([cand], settings_for("50", 300))
    groups = {(a.samples_per_problem, a.problems) for a in r.recommendation.allocations}
    assert groups == {(23, 256), (24, 44)}
    assert r.recommendation.expected_cost == Decimal("49.9968")


def test_until_pass_cost_matches_closed_form() -> None:
    """For problems with success rates p_i, the expected number of samples of until-pass
    with cap k is mean_i (1 - (1-p_i)^k) / p_i (a geometric series)."""
    ps = [0.5, 0.1, 0.02, 0.3]
    c = cost("1")
    cand = mixture("m", ps, c)
    s = settings_for("10", 1, policy=Policy.UNTIL_PASS)
    r = plan([cand], s)
    (alloc,) = r.recommendation.allocations
    k = alloc.samples_per_problem
    expected_samples = np.mean([(1 - (1 - p) ** k) / p for p in ps])
    assert float(r.recommendation.expected_cost) == pytest.approx(expected_samples, rel=1e-6)
    assert float(r.recommendation.expected_cost) <= 10


def test_budget_that_buys_nothing_is_a_planning_error() -> None:
    with pytest.raises(PlanningError, match="buys no sample"):
        plan([power("m", -1, -0.3, cost("5"))], settings_for("1", 10))


def test_extrapolation_cap_limits_k_and_warns() -> None:
    cand = power("m", -3.0, -0.3, cost("0.001"), max_k=10)
    r = plan([cand], settings_for("1000", 10, max_extrapolation=10))
    assert max(a.samples_per_problem for a in r.recommendation.allocations) == 100
    assert any("left unspent" in w for w in r.warnings)
    assert any("extrapolates" in w for w in r.warnings)


def test_frontier_and_alternatives_cover_each_model() -> None:
    cands = [power("cheap", -1.8, -0.25, cost("0.01")), power("dear", -1.4, -0.25, cost("0.2"))]
    r = plan(cands, settings_for("30", 100))
    assert {a.model for a in r.alternatives} == {"cheap", "dear"}
    assert set(r.frontier) == {"cheap", "dear"}
    for pts in r.frontier.values():
        ys = [p.expected_solved for p in pts]
        assert ys == sorted(ys)
    assert {s.model for s in r.frontier_single_sample} == {"cheap", "dear"}


# --------------------------------------------------------------------------- brute force
def brute_force(cands: list[Candidate], budget: Decimal, n: int, k_max: int) -> float:
    """Best total expected solved over every assignment of (model, k) to each problem."""
    options = [(Decimal(0), 0.0)]
    for c in cands:
        cov = c.curve.coverage(np.arange(1, k_max + 1))
        options += [(c.cost.fixed_cost(k), float(cov[k - 1])) for k in range(1, k_max + 1)]
    best = 0.0
    for combo in itertools.combinations_with_replacement(options, n):
        if sum(o[0] for o in combo) <= budget:
            best = max(best, sum(o[1] for o in combo))
    return best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 3),
    budget_cents=st.integers(1, 120),
    prices=st.lists(st.integers(3, 40), min_size=1, max_size=2),
    shapes=st.lists(st.tuples(st.floats(-4, -0.2), st.floats(-0.9, -0.1)), min_size=2, max_size=2),
)
def test_planner_is_within_one_problem_of_brute_force(
    n: int, budget_cents: int, prices: list[int], shapes: list[tuple[float, float]]
) -> None:
    budget = Decimal(budget_cents) / 100
    cands = [
        power(f"m{i}", a, b, cost(str(Decimal(p) / 100)))
        for i, (p, (a, b)) in enumerate(zip(prices, shapes, strict=False))
    ]
    assume(min(c.cost.first for c in cands) <= budget)
    k_max = int(budget / min(c.cost.first for c in cands))
    assume(k_max <= 12)
    r = plan(cands, settings_for(str(budget), n))
    got = r.recommendation.expected_solved
    ref = brute_force(cands, budget, n, k_max)
    assert got <= ref + 1e-9  # the planner's plan is feasible, so never beats the optimum
    assert got >= ref - 1.0 - 1e-9  # rounding the LP loses at most one problem's gain
    assert r.recommendation.expected_cost <= budget


# --------------------------------------------------------------------------- properties
candidate_st = st.builds(
    lambda a, b, first, repeat, i: power(f"m{i}", a, b, cost(str(first), str(repeat))),
    st.floats(-6, -0.01),
    st.floats(-1.2, -0.02),
    st.decimals("0.0001", "5", places=4),
    st.decimals("0.0001", "5", places=4),
    st.integers(0, 10**6),
)


@settings(max_examples=60, deadline=None)
@given(
    cands=st.lists(candidate_st, min_size=1, max_size=3, unique_by=lambda c: c.model),
    dollars=st.decimals("0.01", "500", places=2),
    n=st.integers(1, 400),
    policy=st.sampled_from(list(Policy)),
    hard_cap=st.booleans(),
)
def test_never_overspends_and_more_money_never_predicts_fewer_solved(
    cands: list[Candidate], dollars: Decimal, n: int, policy: Policy, hard_cap: bool
) -> None:
    s = settings_for(str(dollars), n, policy=policy, hard_cap=hard_cap, max_samples=5000)
    try:
        r = plan(cands, s)
    except PlanningError:
        assume(False)
        return
    rec = r.recommendation
    assert rec.expected_cost <= dollars
    if hard_cap:
        assert rec.worst_case_cost <= dollars
    assert 0.0 <= rec.expected_coverage <= 1.0
    lo, hi = rec.expected_coverage_interval
    assert 0.0 <= lo <= hi <= 1.0
    assert sum(a.problems for a in rec.allocations) + rec.unsampled_problems == n
    more = plan(cands, s.model_copy(update={"dollars": dollars * 2}))
    assert more.recommendation.expected_solved >= rec.expected_solved - 1e-9


@settings(max_examples=40, deadline=None)
@given(
    cands=st.lists(candidate_st, min_size=1, max_size=2, unique_by=lambda c: c.model),
    dollars=st.decimals("0.5", "200", places=2),
    n=st.integers(1, 200),
)
def test_until_pass_solves_at_least_as_much_as_fixed(
    cands: list[Candidate], dollars: Decimal, n: int
) -> None:
    """Until-pass never buys a sample fixed would not, so the same money goes at least as far."""
    try:
        fixed = plan(cands, settings_for(str(dollars), n, max_samples=5000))
    except PlanningError:
        assume(False)
        return
    until = plan(cands, settings_for(str(dollars), n, max_samples=5000, policy=Policy.UNTIL_PASS))
    assert until.recommendation.expected_solved >= fixed.recommendation.expected_solved - 1.0 - 1e-9
