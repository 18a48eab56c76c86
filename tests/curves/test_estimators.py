"""Fitters: likelihoods against scipy's distributions, recovery of known parameters, refits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import comb

from budget.curves.estimators import (
    FITTERS,
    SCALED_BETA_BINOMIAL,
    BetaFamily,
    mle,
    power_law_rows,
)
from budget.curves.form import power_law_lsq

RNG = np.random.default_rng(11)
N = np.array([20.0, 20.0, 50.0, 100.0, 7.0])
C = np.array([0.0, 3.0, 50.0, 1.0, 7.0])


def test_beta_binomial_loglik_matches_scipy() -> None:
    theta = np.log([0.4, 3.0])
    got = BetaFamily(False, False).loglik(theta[None, :], N, C)[0]
    want = stats.betabinom.logpmf(C, N, 0.4, 3.0) - np.log(comb(N, C))
    assert got == pytest.approx(want, rel=1e-10)


def test_zero_inflated_loglik_is_the_mixture() -> None:
    zero = 0.3
    theta = np.array([np.log(0.4), np.log(3.0), np.log(zero / (1 - zero))])
    got = BetaFamily(False, True).loglik(theta[None, :], N, C)[0]
    bb = stats.betabinom.pmf(C, N, 0.4, 3.0) / comb(N, C)
    want = np.log((1 - zero) * bb + zero * (C == 0))
    assert got == pytest.approx(want, rel=1e-10)


def test_scaled_loglik_matches_direct_integration() -> None:
    alpha, beta, scale = 0.6, 2.0, 0.2
    theta = np.array([np.log(alpha), np.log(beta), np.log(scale / (1 - scale))])
    got = BetaFamily(True, False).loglik(theta[None, :], N, C)[0]
    for i in range(N.size):
        n, c = N[i], C[i]

        def f(u: float, n: float = n, c: float = c) -> float:
            p = scale * u
            return float(p**c * (1 - p) ** (n - c) * stats.beta.pdf(u, alpha, beta))

        want = np.log(integrate.quad(f, 0, 1, limit=200, points=[1e-3, 0.1])[0])
        assert got[i] == pytest.approx(want, abs=1e-6)


def test_mle_recovers_beta_parameters() -> None:
    p = RNG.beta(0.3, 8.0, size=4000)
    n = np.full(p.size, 500.0)
    c = RNG.binomial(500, p).astype(float)
    theta = mle(BetaFamily(False, False), n, c)
    alpha, beta = np.exp(theta)
    assert alpha == pytest.approx(0.3, rel=0.08)
    assert beta == pytest.approx(8.0, rel=0.15)


def test_mle_is_a_local_maximum_with_a_zero_mass() -> None:
    fam = BetaFamily(False, True)
    p = np.where(RNG.random(300) < 0.3, 0.0, RNG.beta(0.5, 5.0, size=300))
    n = np.full(300, 200.0)
    c = RNG.binomial(200, p).astype(float)
    theta = mle(fam, n, c)
    best = fam.loglik(theta[None, :], n, c).sum()
    for d in np.vstack([np.eye(3), -np.eye(3)]) * 1e-2:
        assert fam.loglik((theta + d)[None, :], n, c).sum() <= best + 1e-9
    assert fam.params(theta)[0, 3] == pytest.approx(0.3, abs=0.1)


def test_power_law_rows_matches_the_published_least_squares() -> None:
    p = RNG.beta(0.3, 5.0, size=100)
    n = np.full(100, 1000.0)
    c = RNG.binomial(1000, p).astype(float)
    from budget.curves.estimators import lsq_ks
    from budget.curves.passk import pass_at_k

    ks = lsq_ks(1000)
    a, b = power_law_lsq(ks, pass_at_k(n, c, ks)[None, :])
    got = power_law_rows(n, c, np.ones((1, 100)))[0]
    assert got == pytest.approx([a[0], b[0]], rel=1e-10)


@pytest.mark.parametrize("name", [*FITTERS, SCALED_BETA_BINOMIAL.name])
def test_every_fitter_tracks_the_data_in_range(name: str) -> None:
    from budget.curves.base import FORMS
    from budget.curves.passk import pass_at_k

    fitter = FITTERS.get(name, SCALED_BETA_BINOMIAL)
    p = RNG.beta(0.4, 6.0, size=150)
    n = np.full(150, 200.0)
    c = RNG.binomial(200, p).astype(float)
    point = fitter.fit(n, c)
    ks = np.array([1.0, 10.0, 100.0])
    got = FORMS[fitter.form].evaluate(point[None, :], ks)[0]
    assert np.abs(got - pass_at_k(n, c, ks)).max() < 0.03
    draws = fitter.refit(n, c, RNG.binomial(200, p, size=(3, 150)).astype(float))
    assert draws.shape == (3, point.size) and np.all(np.isfinite(draws))
