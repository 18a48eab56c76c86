"""Pilots replayed from recorded counts: totals, exactness, and where the adaptive rule spends."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.planner.pilot import PilotRule, adaptive_order, replay, replay_adaptive


def test_uniform_pilot_is_hypergeometric_per_problem() -> None:
    """Mean passes of m draws without replacement from (n, c) is m c / n (checked over 4,000 reps)."""
    n = np.array([50, 50, 50])
    c = np.array([0, 10, 50])
    got = np.array([replay(PilotRule.UNIFORM, n, c, 60, np.random.default_rng(s))[1] for s in range(4000)])
    assert np.all(got[:, 0] == 0) and np.all(got[:, 2] == 20)
    assert abs(got[:, 1].mean() - 20 * 10 / 50) < 0.1


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(1, 40), st.floats(0, 1)), min_size=1, max_size=12),
    share=st.floats(0, 1.5),
    rule=st.sampled_from(list(PilotRule)),
    seed=st.integers(0, 1000),
)
def test_a_pilot_never_invents_samples(
    rows: list[tuple[int, float]], share: float, rule: PilotRule, seed: int
) -> None:
    n = np.array([r[0] for r in rows])
    c = np.array([round(r[0] * r[1]) for r in rows])
    total = int(share * n.sum())
    taken, passed = replay(rule, n, c, total, np.random.default_rng(seed))
    assert taken.sum() == min(total, n.sum())
    assert np.all((taken >= 0) & (taken <= n))
    assert np.all((passed >= 0) & (passed <= c) & (passed <= taken))
    assert np.all(taken - passed <= n - c)  # never more failures than were recorded


def test_adaptive_pilot_spends_on_the_problems_with_fewest_successes() -> None:
    """Kazdan et al. 2025: after the uniform floor, samples go to the unsolved problems."""
    n = np.full(4, 1000)
    c = np.array([1000, 1000, 0, 5])
    taken, passed = replay_adaptive(n, c, 400, np.random.default_rng(0), floor=0.2)
    assert taken.sum() == 400
    assert taken[2] > taken[0] and taken[3] > taken[1]
    assert taken[0] == taken[1] == 20  # the floor only: 20 % of 400 over 4 problems
    assert passed[2] == 0


def test_adaptive_order_fills_the_fewest_successes_first() -> None:
    order = adaptive_order(np.array([3, 0, 0, 1]), np.array([5, 5, 2, 5]), 3, np.random.default_rng(0))
    assert list(order[:2]) == [2, 2] or set(order[:2]) == {1, 2}
    assert 0 not in order and 3 not in order
