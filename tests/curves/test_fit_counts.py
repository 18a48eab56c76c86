"""fit_counts: the contract other modules rely on."""

from __future__ import annotations

import numpy as np

from budget.curves import CoverageCurve, fit_counts
from budget.curves.passk import pass_at_k


def test_fit_counts_returns_a_curve_close_to_the_data() -> None:
    rng = np.random.default_rng(1)
    p = rng.beta(0.3, 3.0, size=200)
    n = np.full(200, 400)
    c = rng.binomial(n, p)
    curve = fit_counts("m", "t", n, c, seed=0)
    assert isinstance(curve, CoverageCurve)
    assert curve.max_observed_k == 400 and curve.n_problems == 200
    ks = np.array([1, 10, 100])
    assert np.max(np.abs(curve.coverage(ks) - pass_at_k(n, c, ks))) < 0.05
    lo, hi = curve.interval(ks)
    assert np.all(lo <= hi)
    again = fit_counts("m", "t", n, c, seed=0)
    assert again.params == curve.params
