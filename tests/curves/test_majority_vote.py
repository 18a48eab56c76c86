"""Majority-vote accuracy at k: exact DP against brute-force enumeration and Monte Carlo."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.curves.majority_vote import AnswerDistribution, coverage, vote, vote_accuracy


def brute_force(p_c: float, p_w: list[float], p_none: float, k: int) -> float:
    """Enumerate every sequence of k answers (0 = right, 1..m wrong, -1 none); ties at random."""
    probs = {0: p_c, -1: p_none, **{j + 1: q for j, q in enumerate(p_w)}}
    total = 0.0
    for seq in itertools.product(list(probs), repeat=k):
        pr = float(np.prod([probs[x] for x in seq]))
        votes: dict[int, int] = {}
        for x in seq:
            if x != -1:
                votes[x] = votes.get(x, 0) + 1
        if not votes:
            continue
        top = max(votes.values())
        modes = [a for a, v in votes.items() if v == top]
        if 0 in modes:
            total += pr / len(modes)
    return total


DIST = st.lists(st.floats(0.01, 1.0), min_size=2, max_size=4).map(lambda xs: [x / sum(xs) for x in xs])


@settings(max_examples=40, deadline=None)
@given(DIST, st.booleans(), st.integers(0, 6))
def test_exact_matches_brute_force(ps: list[float], with_none: bool, k: int) -> None:
    p_c, rest = ps[0], ps[1:]
    p_none = rest.pop() if with_none and rest else 0.0
    d = AnswerDistribution(problem_id="x", p_correct=p_c, p_wrong=rest, p_none=p_none)
    (got,) = vote_accuracy([d], [k])
    assert got.method == "exact"
    assert got.expected_accuracy == pytest.approx(brute_force(p_c, rest, p_none, k), abs=1e-9)


def test_vote_falls_with_k_when_a_wrong_answer_is_the_mode() -> None:
    """Chen et al. 2024: on a problem whose mode is wrong, more samples make the vote worse."""
    hard = AnswerDistribution(problem_id="h", p_correct=0.3, p_wrong=[0.45, 0.25])
    acc = [v.expected_accuracy for v in vote_accuracy([hard], [1, 5, 25, 101])]
    assert acc[0] == pytest.approx(0.3)
    assert acc[0] > acc[1] > acc[2] > acc[3]
    assert acc[3] < 0.05
    assert coverage([hard], 101) > 0.99  # coverage says nearly solved: it would mislead


def test_monte_carlo_agrees_with_exact_and_states_its_error() -> None:
    d = AnswerDistribution(problem_id="m", p_correct=0.35, p_wrong=[0.2, 0.15, 0.1], p_none=0.2)
    (exact,) = vote_accuracy([d], [9])
    many = AnswerDistribution(
        problem_id="many", p_correct=0.35, p_wrong=[0.45 / 13] * 13, p_none=0.2
    )  # 13 wrong answers: Monte Carlo
    (mc,) = vote_accuracy([d, many], [9], draws=40_000)
    assert mc.method.startswith("monte carlo") and mc.standard_error > 0
    (exact_many,) = vote_accuracy([many.model_copy(update={"p_wrong": [0.45 / 13] * 12 + [0.0]})], [9])
    assert exact.expected_accuracy > 0 and exact_many.expected_accuracy > 0
    # the average of the two problems: exact part plus the MC estimate of the other within 4 SE
    assert mc.expected_accuracy == pytest.approx(
        (exact.expected_accuracy + _mc_reference(many, 9)) / 2, abs=4 * mc.standard_error + 1e-3
    )


def _mc_reference(d: AnswerDistribution, k: int) -> float:
    rng = np.random.default_rng(99)
    p = np.array([d.p_correct, *d.p_wrong, d.p_none])
    n = rng.multinomial(k, p, size=200_000)[:, :-1]
    top = n.max(axis=1)
    return float(np.where((n[:, 0] == top) & (top > 0), 1.0 / (n == top[:, None]).sum(axis=1), 0.0).mean())


@settings(max_examples=30, deadline=None)
@given(DIST, st.integers(1, 30))
def test_vote_never_beats_coverage(ps: list[float], k: int) -> None:
    d = AnswerDistribution(problem_id="x", p_correct=ps[0], p_wrong=ps[1:])
    (v,) = vote_accuracy([d], [k])
    assert v.expected_accuracy <= coverage([d], k) + 1e-12


def test_from_answers_and_vote() -> None:
    d = AnswerDistribution.from_answers("p", ["4", "4", "5", None], correct="4")
    assert d.p_correct == Fraction(1, 2) and d.p_wrong == [0.25] and d.p_none == 0.25
    assert vote(["4", "5", "5", None]) == "5"
    assert vote([None, None]) is None
    assert vote(["4", "5", "5"], scores=[3.0, 1.0, 1.0]) == "4"  # reward-model scores outvote the count
    assert vote(["a", "b"], seed=0) in {"a", "b"}
    with pytest.raises(ValueError):
        AnswerDistribution(problem_id="bad", p_correct=0.5, p_wrong=[0.6])
