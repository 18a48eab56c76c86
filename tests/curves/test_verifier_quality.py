"""Verifier quality from two-tier counts, on synthetic populations with known truth."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from budget.curves.verifier_quality import (
    TwoTierCounts,
    counts_from_verdicts,
    dirichlet_multinomial_loglik,
    estimate_quality,
    fit_prior,
)
from budget.planner.utility import DirichletPopulation


def synthetic(alpha: tuple[float, float, float], problems: int, n: int, seed: int) -> list[TwoTierCounts]:
    rng = np.random.default_rng(seed)
    chances = rng.dirichlet(alpha, size=problems)
    rows = []
    for i, p in enumerate(chances):
        c, w, _ = rng.multinomial(n, p)
        rows.append(TwoTierCounts(problem_id=f"P{i}", n=n, accepted=int(c + w), accepted_correct=int(c)))
    return rows


def test_prior_recovers_alpha_on_a_large_population() -> None:
    truth = np.array([1.5, 0.4, 2.0])
    counts = synthetic(tuple(truth), problems=3000, n=12, seed=1)  # type: ignore[arg-type]
    mat = np.array([[x.accepted_correct, x.accepted - x.accepted_correct, x.n - x.accepted] for x in counts])
    alpha = fit_prior(mat.astype(float))
    assert alpha == pytest.approx(truth, rel=0.15)
    # the fit is a maximum: the truth is no better
    assert dirichlet_multinomial_loglik(alpha, mat) >= dirichlet_multinomial_loglik(truth, mat) - 1e-6


def test_fp_share_interval_covers_the_truth() -> None:
    """Across seeds, the 90% bootstrap interval covers the population FP share most of the time."""
    alpha = (2.0, 0.3, 2.0)
    truth = 0.3 / 2.3  # E[w] / E[a + w] for a Dirichlet
    covered = 0
    for seed in range(40):
        q = estimate_quality(synthetic(alpha, 60, 10, seed), model="m", task="t", seed=seed, n_boot=400)
        assert q.fp_share_interval is not None
        covered += q.fp_share_interval[0] <= truth <= q.fp_share_interval[1]
    assert covered >= 30  # nominal 36 of 40; a binomial lower tail far below


def test_fp_share_rises_on_hard_problems() -> None:
    """Constant per-sample false-accept chance: the FP share is largest where the model fails."""
    rng = np.random.default_rng(5)
    rows = []
    for i in range(90):
        a = [0.02, 0.3, 0.8][i % 3]
        c, w, _ = rng.multinomial(40, [a, 0.05, 0.95 - a])
        rows.append(TwoTierCounts(problem_id=f"P{i}", n=40, accepted=int(c + w), accepted_correct=int(c)))
    q = estimate_quality(rows, model="m", task="t")
    shares = {b.label: b.fp_share for b in q.by_difficulty}
    assert shares["hard"] is not None and shares["easy"] is not None
    assert shares["hard"] > 0.4 > 0.1 > shares["easy"]


def test_posterior_feeds_the_utility_model() -> None:
    q = estimate_quality(synthetic((1.0, 0.2, 1.0), 30, 8, 2), model="m", task="t")
    post = q.posterior()
    assert post.shape == (30, 3) and (post > 0).all()
    pop = DirichletPopulation(post[:, 0], post[:, 1], post[:, 2])
    (o,) = pop.outcomes([1])
    # at K = 1 the posterior-mean FP share is near the pooled one
    assert q.fp_share is not None
    assert o.false_positives / (o.true_positives + o.false_positives) == pytest.approx(q.fp_share, abs=0.05)


def test_counts_from_verdicts_and_validation() -> None:
    rows = [("A", True, True), ("A", True, False), ("A", False, True), ("B", False, False)]
    counts = {c.problem_id: c for c in counts_from_verdicts(rows)}
    assert counts["A"] == TwoTierCounts(problem_id="A", n=3, accepted=2, accepted_correct=1)
    assert counts["B"].n == 1 and counts["B"].accepted == 0
    with pytest.raises(ValidationError):
        TwoTierCounts(problem_id="x", n=2, accepted=1, accepted_correct=2)
    with pytest.raises(ValueError):
        estimate_quality([], model="m", task="t")


def test_nothing_accepted_has_no_share() -> None:
    rows = [TwoTierCounts(problem_id="A", n=5, accepted=0, accepted_correct=0)]
    q = estimate_quality(rows, model="m", task="t")
    assert q.fp_share is None and q.fp_share_interval is None and q.accept_rate == 0.0
