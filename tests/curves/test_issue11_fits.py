"""Issue 11, curve-fitting items: each test reproduces a defect found on main.

Items: 1 (homogeneous problems collapse the Beta fit), 2 (intervals exclude their own
point), 3 (bootstrap replicates dropped), 6 (extrapolation measured from the wrong n),
8 (until-pass runs: the stopped-sampling likelihood).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln

from budget.curves.base import CoverageCurve
from budget.curves.forms import BETA
from budget.curves.passk import pass_at_k
from budget.curves.published import curve_from_points
from budget.curves.selection import extrapolation_note, fit_counts_detailed

KS = np.array([1.0, 10.0, 100.0, 1_000.0])


# ----------------------------------------------------------------------------- item 1


@pytest.mark.parametrize(("alpha", "beta"), [(300.0, 700.0), (8724.5, 20260.5), (1e6, 3e6), (5e4, 2.0)])
def test_concentrated_beta_matches_the_closed_form(alpha: float, beta: float) -> None:
    """A Beta with alpha + beta large is a spike; the quadrature must not lose it (issue 11 item 1)."""
    got = BETA.evaluate(np.array([[alpha, beta, 1.0, 0.0]]), KS)[0]
    want = 1 - np.exp(betaln(alpha, beta + KS) - betaln(alpha, beta))
    assert got == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize(("alpha", "beta", "scale"), [(300.0, 700.0, 0.5), (2e4, 5e4, 0.1)])
def test_concentrated_scaled_beta_is_a_point_mass(alpha: float, beta: float, scale: float) -> None:
    p = scale * alpha / (alpha + beta)
    got = BETA.evaluate(np.array([[alpha, beta, scale, 0.0]]), KS)[0]
    assert got == pytest.approx(1 - (1 - p) ** KS, abs=2e-3)


@pytest.mark.parametrize("fitter", ["beta_binomial", "zero_beta_binomial", None])
def test_homogeneous_problems_are_fitted_at_their_rate(fitter: str | None) -> None:
    """100 problems x 50 samples, every p = 0.3: pass@1 was predicted 98.3% on main."""
    c = np.random.default_rng(1).binomial(50, 0.3, size=100).astype(float)
    n = np.full(100, 50.0)
    out = fit_counts_detailed("x", "t", n, c, fitter=fitter)
    got = out.curve.coverage([1.0, 3.0])
    assert got == pytest.approx(1 - (1 - c.sum() / n.sum()) ** np.array([1.0, 3.0]), abs=0.02)
    lo, hi = out.curve.interval([1.0])
    assert lo[0] <= got[0] <= hi[0]
    assert hi[0] - lo[0] < 0.1


# ----------------------------------------------------------------------------- item 2


def test_published_interval_holds_its_point_when_coverage_is_tiny() -> None:
    """Pythia-70M-like: pass@1 = 0.00033 on 5,000 problems; 0.5/N clipping lifted every draw above it."""
    curve = curve_from_points("m", "t", [(1, 0.00033), (100, 0.02), (10_000, 0.2)], 5_000)
    for k in (1.0, 100.0, 10_000.0, 1e6):
        lo, hi = curve.interval([k])
        point = curve.coverage([k])[0]
        assert lo[0] <= point <= hi[0], k


def test_published_interval_holds_its_point_with_few_problems() -> None:
    curve = curve_from_points("m", "t", [(1, 0.01), (10, 0.05), (100, 0.2)], 128)
    for k in (1.0, 10.0, 100.0, 10_000.0):
        lo, hi = curve.interval([k])
        assert lo[0] <= curve.coverage([k])[0] <= hi[0], k


# ----------------------------------------------------------------------------- item 3


def test_every_bootstrap_replicate_is_kept() -> None:
    """Two solved problems of 128: many replicates solve nothing; they are evidence, not noise."""
    n = np.full(128, 100.0)
    c = np.zeros(128)
    c[:2] = [1, 3]
    out = fit_counts_detailed("x", "t", n, c, fitter="power_law_lsq", n_boot=400)
    draws = np.asarray(out.curve.draws)
    assert len(draws) == 400
    assert np.isfinite(draws).all()
    assert not any("could not be fitted" in note for note in out.curve.notes)
    lo, hi = out.curve.interval([1.0, 100.0, 10_000.0])
    point = out.curve.coverage([1.0, 100.0, 10_000.0])
    assert np.all(lo <= point) and np.all(point <= hi)
    # The interval is for these problems: two of them are solved in 100 samples, so coverage at
    # k = 100 is not 0 (the bootstrap over problems said 0: replicates without the two).
    assert 0.0 < lo[1] < point[1]


def test_power_law_point_is_inside_its_interval_on_a_sparse_model() -> None:
    rng = np.random.default_rng(3)
    p = np.where(rng.random(128) < 0.1, rng.beta(0.3, 30, 128), 0.0)
    n = np.full(128, 100.0)
    c = rng.binomial(100, p).astype(float)
    out = fit_counts_detailed("x", "t", n, c, fitter="power_law_lsq")
    ks = np.array([1.0, 100.0, 10_000.0])
    lo, hi = out.curve.interval(ks)
    point = out.curve.coverage(ks)
    assert np.all(lo <= point + 1e-12) and np.all(point <= hi + 1e-12)


# ----------------------------------------------------------------------------- item 6


def test_max_observed_k_is_what_every_problem_supports() -> None:
    """60 problems at n = 10 and one at 10,000: k = 1,000 is an extrapolation, not inside the data."""
    rng = np.random.default_rng(0)
    n = np.array([10.0] * 60 + [10_000.0])
    c = rng.binomial(n.astype(int), 0.2).astype(float)
    out = fit_counts_detailed("x", "t", n, c)
    assert out.curve.max_observed_k == 10
    assert extrapolation_note(out.curve, 1_000) is not None


def test_unequal_n_is_fitted_with_every_sample_of_every_problem() -> None:
    """Half the problems at n = 5, half at n = 500 (rates with a mass at p = 0): least squares
    on k <= min n = 5 extrapolates 100x to k = 500, where half the problems are measured.
    Fitted on every sample (pass@k unbiased where k <= n_i, each other problem's posterior
    mean under the zero-mass Beta fitted to all counts) it must be within 6 points there
    (k = min n and max n, 6 seeds; the k <= min n fit is off by 16 points at k = max n)."""
    from tests.curves.populations import WIDE_N, sample, true_coverage

    errors = []
    for seed in range(6):
        p, n, c = sample(WIDE_N, 50, seed)
        curve = fit_counts_detailed("x", "t", n, c, fitter="power_law_lsq", n_boot=0).curve
        ks = np.array([n.min(), n.max()])
        errors.append(np.abs(curve.coverage(ks) - true_coverage(p, ks)))
    mean = 100 * np.mean(errors, axis=0)
    assert mean[0] <= 3.0
    assert mean[1] <= 6.0


def test_max_observed_k_with_unequal_n_is_what_half_the_problems_measure() -> None:
    """k = 500 is measured for half the problems (n = 500) and estimated for the rest: inside
    the data.  Past max n nothing is measured."""
    n = np.array([5.0] * 64 + [500.0] * 64)
    c = np.where(np.arange(128) % 3 == 0, np.floor(n / 4), 0.0)
    curve = fit_counts_detailed("x", "t", n, c, fitter="power_law_lsq", n_boot=0).curve
    assert curve.max_observed_k == 500
    assert extrapolation_note(curve, 5_000) is None
    assert extrapolation_note(curve, 6_000) is not None


# ----------------------------------------------------------------------------- item 8


def _until_pass(p: np.ndarray, cap: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sample each problem until its first success or ``cap`` attempts."""
    first = rng.geometric(np.maximum(p, 1e-300))
    solved = (p > 0) & (first <= cap)
    return np.where(solved, first, cap).astype(float), solved


def test_until_pass_records_are_fitted_without_the_stopping_bias() -> None:
    from budget.curves import fit_until_pass

    rng = np.random.default_rng(7)
    p = rng.beta(0.4, 6.0, size=400)
    attempts, solved = _until_pass(p, 50, rng)
    curve = fit_until_pass("x", "t", attempts, solved, seed=0)
    assert isinstance(curve, CoverageCurve)
    ks = np.array([1.0, 10.0, 50.0, 500.0])
    truth = 1 - np.exp(betaln(0.4, 6.0 + ks) - betaln(0.4, 6.0))
    got = curve.coverage(ks)
    assert got == pytest.approx(truth, abs=0.04)
    lo, hi = curve.interval(ks)
    assert np.all(lo <= got) and np.all(got <= hi)
    assert curve.max_observed_k == 50
    # The Chen estimator on the stopped counts (c/n = 1/j for a solved problem) is biased.
    chen = pass_at_k(attempts, solved.astype(float), [1.0])[0]
    assert abs(chen - truth[0]) > 2 * abs(got[0] - truth[0])


def test_until_pass_intervals_are_for_the_task() -> None:
    """Until-pass fits read their intervals like fixed-n fits (issue 11 item 4): for the task's own
    problems.  The bootstrap over problems was 12.0 points wide at the cap (k = 50) over these
    seeds, holding the truth of the problems in 100%; the fixed-task interval is narrower
    there and still holds it, and holds it at 10x the cap in most seeds."""
    from budget.curves import fit_until_pass

    ks = np.array([50.0, 500.0])
    hits, widths = np.zeros(2), np.zeros(2)
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        p = rng.beta(0.4, 6.0, size=200)
        attempts, solved = _until_pass(p, 50, rng)
        curve = fit_until_pass("x", "t", attempts, solved, seed=seed)
        truth = (1 - (1 - p[:, None]) ** ks[None, :]).mean(axis=0)
        lo, hi = curve.interval(ks)
        hits += (lo <= truth) & (truth <= hi)
        widths += hi - lo
    assert 100 * widths[0] / 10 <= 9.0
    assert hits[0] >= 8 and hits[1] >= 7


def test_until_pass_with_nothing_solved_is_a_bound() -> None:
    from budget.curves import fit_until_pass

    curve = fit_until_pass("x", "t", np.full(20, 30.0), np.zeros(20, dtype=bool))
    assert curve.coverage([1.0, 100.0])[0] == 0.0
    _, hi = curve.interval([30.0])
    assert hi[0] > 0.0


def test_schaeffer_catalog_interval_holds_its_point() -> None:
    """Catalog pythia-70m (-log pass@k = 8.026 k^-0.194 on 128 problems): pass@1 = 0.00033 had
    a 90% interval of [0.00091, 0.0032] (redraws clipped at 0.5/N, refit unweighted)."""
    from budget.curves.published import curve_from_schaeffer

    curve = curve_from_schaeffer("pythia-70m", "math", 8.026, 0.194, 128, 10_000)
    for k in (1.0, 10.0, 1_000.0, 10_000.0, 1e6):
        lo, hi = curve.interval([k])
        assert lo[0] <= curve.coverage([k])[0] <= hi[0], k


@settings(max_examples=60, deadline=None)
@given(
    log_alpha=st.floats(min_value=-3.0, max_value=14.0),
    log_beta=st.floats(min_value=-3.0, max_value=14.0),
)
def test_quadrature_agrees_with_the_closed_form_for_any_beta(log_alpha: float, log_beta: float) -> None:
    """The quadrature path (scale just below 1) against the closed form (scale = 1), from
    spread-out to spike-like Betas (alpha, beta from 0.05 to 1.2e6): item 1 at its root."""
    alpha, beta = np.exp(log_alpha), np.exp(log_beta)
    ks = np.array([1.0, 10.0, 1_000.0, 100_000.0])
    exact = BETA.evaluate(np.array([[alpha, beta, 1.0, 0.0]]), ks)[0]
    quad = BETA.evaluate(np.array([[alpha, beta, 1.0 - 1e-12, 0.0]]), ks)[0]
    assert quad == pytest.approx(exact, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    problems=st.integers(min_value=1, max_value=500),
    samples=st.integers(min_value=1, max_value=10_000),
)
def test_zero_success_bound_is_monotone_and_shrinks_with_exposure(problems: int, samples: int) -> None:
    from budget.curves.selection import zero_success_curve

    ks = np.array([1.0, 10.0, 100.0, 1e4, 1e6])
    hi = zero_success_curve("m", "t", np.full(problems, samples)).interval(ks)[1]
    more = zero_success_curve("m", "t", np.full(problems, 2 * samples)).interval(ks)[1]
    assert np.all(np.diff(hi) >= 0) and np.all(hi <= 1)
    assert np.all(more <= hi)
