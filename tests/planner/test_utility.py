"""The utility model (Stroebl, Kapoor, Narayanan 2024) against brute force, and its properties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.planner.utility import (
    DirichletPopulation,
    PointPopulation,
    best_k,
    constant_fp_population,
    k_star_table,
)


def brute_force(a: list[float], w: list[float], k: int) -> tuple[float, float, float, float]:
    """Enumerate every sequence of k verdicts (C correct-accepted, W wrong-accepted, R rejected),
    play the policy "submit the first accepted", and average (TP, FP, abstain, attempts)."""
    totals = np.zeros(4)
    for ai, wi in zip(a, w, strict=True):
        probs = {"C": ai, "W": wi, "R": 1.0 - ai - wi}
        for seq in itertools.product("CWR", repeat=k):
            p = float(np.prod([probs[x] for x in seq]))
            first = next((j for j, x in enumerate(seq) if x != "R"), None)
            if first is None:
                totals += p * np.array([0, 0, 1, k])
            else:
                totals += p * np.array([seq[first] == "C", seq[first] == "W", 0, first + 1])
    return tuple(totals / len(a))  # type: ignore[return-value]


POP = st.lists(
    st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)).map(
        lambda t: (t[0] * (1 - t[2]), t[1] * t[2])
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None)
@given(POP, st.integers(0, 5))
def test_point_population_matches_brute_force(rows: list[tuple[float, float]], k: int) -> None:
    a = [r[0] for r in rows]
    w = [min(r[1], 1 - r[0]) for r in rows]
    (o,) = PointPopulation(np.array(a), np.array(w)).outcomes([k])
    tp, fp, ab, att = brute_force(a, w, k)
    assert o.true_positives == pytest.approx(tp, abs=1e-9)
    assert o.false_positives == pytest.approx(fp, abs=1e-9)
    assert o.abstentions == pytest.approx(ab, abs=1e-9)
    assert o.attempts == pytest.approx(att, abs=1e-9)


def test_dirichlet_population_matches_monte_carlo() -> None:
    """Exact Dirichlet expectations against draws of (a, w) then the point formula."""
    rng = np.random.default_rng(3)
    alpha = np.array([[2.0, 0.5, 3.0], [0.3, 0.2, 4.0], [5.0, 0.1, 1.0]])
    pop = DirichletPopulation(alpha[:, 0], alpha[:, 1], alpha[:, 2])
    ks = [0, 1, 3, 10, 40]
    exact = pop.outcomes(ks)
    draws = np.concatenate([rng.dirichlet(row, size=100_000) for row in alpha])
    mc = PointPopulation(draws[:, 0], np.minimum(draws[:, 1], 1 - draws[:, 0])).outcomes(ks)
    for e, m in zip(exact, mc, strict=True):
        assert e.true_positives == pytest.approx(m.true_positives, abs=4e-3)
        assert e.false_positives == pytest.approx(m.false_positives, abs=4e-3)
        assert e.attempts == pytest.approx(m.attempts, rel=1e-2, abs=1e-2)


@settings(max_examples=40, deadline=None)
@given(POP, st.floats(0, 10), st.floats(0, 10))
def test_higher_fp_cost_never_raises_k_star(rows: list[tuple[float, float]], c1: float, c2: float) -> None:
    pop = PointPopulation(np.array([r[0] for r in rows]), np.array([min(r[1], 1 - r[0]) for r in rows]))
    lo, hi = sorted((c1, c2))
    assert best_k(pop, hi, k_max=60).k_star <= best_k(pop, lo, k_max=60).k_star


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=6), st.floats(0, 10), st.integers(0, 50))
def test_perfect_verifier_utility_is_coverage(rates: list[float], c: float, k: int) -> None:
    """w = 0: U(K) = pass@K = mean(1 - (1 - p)^K), whatever c."""
    p = np.array(rates)
    plan = best_k(PointPopulation(p, np.zeros_like(p)), c, k_max=50)
    curve = {pt.k: pt.utility for pt in plan.utility_curve}
    for kk, u in curve.items():
        assert u == pytest.approx(float(np.mean(1 - (1 - p) ** kk)), abs=1e-12)
    (o,) = PointPopulation(p, np.zeros_like(p)).outcomes([k])
    assert o.true_positives == pytest.approx(float(np.mean(1 - (1 - p) ** k)), abs=1e-12)
    assert o.false_positives == 0.0


def test_weak_tests_shrink_k_and_a_bad_model_gets_zero() -> None:
    """Half the problems are unsolvable but their tests accept a wrong sample 5% of the time."""
    a = np.array([0.4] * 5 + [0.0] * 5)
    w = np.array([0.01] * 5 + [0.05] * 5)
    pop = PointPopulation(a, w)
    table = k_star_table(pop, [0, 1, 2, 4, 8], k_max=500)
    # free false positives: sample until TP saturates (to float precision); dearer ones: fewer
    assert table == {0: 52, 1: 5, 2: 3, 4: 2, 8: 0}
    # a model that mostly fools the tests should not be used at c = 8
    bad = PointPopulation(np.array([0.02] * 10), np.array([0.05] * 10))
    plan = best_k(bad, 8.0, k_max=100)
    assert plan.k_star == 0 and plan.expected_utility == 0.0


def test_budget_limits_k() -> None:
    p = np.array([0.1, 0.2])
    pop = PointPopulation(p, np.zeros_like(p))
    # 100 problems at $0.01 per attempt, $5: at most 5 attempts on every problem (worst case)
    plan = best_k(pop, 0.0, k_max=100, cost_per_attempt=0.01, problems=100, dollars=5.0, hard_cap=True)
    assert plan.k_star == 5 and plan.k_limit == 5
    # expected attempts are fewer than K, so the expected-cost plan affords more
    loose = best_k(pop, 0.0, k_max=100, cost_per_attempt=0.01, problems=100, dollars=5.0)
    assert loose.k_star > 5


def test_constant_fp_population_pooled_share() -> None:
    a = np.array([0.9, 0.5, 0.1, 0.0])
    pop = constant_fp_population(a, 0.2)
    (o,) = pop.outcomes([1])
    assert o.false_positives / (o.true_positives + o.false_positives) == pytest.approx(0.2)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        PointPopulation(np.array([0.8]), np.array([0.3]))
    with pytest.raises(ValueError):
        best_k(PointPopulation(np.array([0.5]), np.array([0.0])), -1.0)
    with pytest.raises(ValueError):
        DirichletPopulation(np.array([1.0]), np.array([0.0]), np.array([1.0]))
