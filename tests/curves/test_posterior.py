"""Per-problem posterior pass@k for unequal n (src/budget/curves/posterior.py, issue 11 item 6).

The closed form is checked against a reference written differently: the posterior of p by
numerical integration of prior x binomial likelihood on a fine grid (Beta part) plus the
atom at zero, then E[(1 - p)^k] under it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from budget.curves.passk import pass_at_k_per_problem
from budget.curves.posterior import filled_coverage, filled_pass_at_k, posterior_miss


def _reference_miss(n: int, c: int, k: int, alpha: float, beta: float, zero: float) -> float:
    """E[(1 - p)^k | c of n] under zero * delta_0 + (1 - zero) Beta(alpha, beta), by quadrature."""

    def live(p: float, power: int) -> float:
        return float(stats.beta.pdf(p, alpha, beta) * stats.binom.pmf(c, n, p) * (1 - p) ** power)

    opts = {"limit": 500, "points": [c / n] if 0 < c < n else None}
    z_live = (1 - zero) * integrate.quad(live, 0, 1, args=(0,), **opts)[0]
    m_live = (1 - zero) * integrate.quad(live, 0, 1, args=(k,), **opts)[0]
    atom = zero if c == 0 else 0.0  # likelihood of c = 0 at p = 0 is 1
    return (m_live + atom) / (z_live + atom)


@pytest.mark.parametrize(
    ("n", "c", "k", "alpha", "beta", "zero"),
    [
        (10, 0, 100, 0.5, 5.0, 0.0),
        (10, 0, 100, 0.5, 5.0, 0.6),
        (10, 3, 50, 0.5, 5.0, 0.6),
        (40, 0, 1000, 2.0, 3.0, 0.3),
        (5, 5, 20, 0.3, 3.0, 0.2),
        (200, 1, 5000, 0.8, 1.5, 0.5),
    ],
)
def test_posterior_miss_matches_quadrature(
    n: int, c: int, k: int, alpha: float, beta: float, zero: float
) -> None:
    got = posterior_miss(
        np.array([float(n)]), np.array([float(c)]), np.array([float(k)]), np.array([alpha, beta, 1.0, zero])
    )
    assert got[0, 0] == pytest.approx(_reference_miss(n, c, k, alpha, beta, zero), rel=1e-6, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    n=st.lists(st.integers(1, 60), min_size=2, max_size=8),
    frac=st.floats(0, 1),
    zero=st.floats(0, 0.9),
)
def test_filled_pass_at_k_is_unbiased_up_to_min_n_and_the_posterior_past_it(
    n: list[int], frac: float, zero: float
) -> None:
    ns = np.array(n, dtype=float)
    cs = np.floor(frac * ns)
    ks = np.arange(1.0, 2 * ns.max() + 1)
    prior = np.array([0.7, 2.0, 1.0, zero])
    got = filled_pass_at_k(ns, cs, ks, prior)
    inside = ks <= ns.min()
    assert np.allclose(got[:, inside], pass_at_k_per_problem(ns, cs, ks[inside]))
    assert np.allclose(got[:, ~inside], 1.0 - posterior_miss(ns, cs, ks[~inside], prior))
    assert np.all((got >= 0) & (got <= 1))
    # On each side of min n more samples never solve less (at min n + 1 a problem's value
    # may step: shrinkage, see the module docstring).
    assert np.all(np.diff(got[:, inside], axis=1) >= -1e-12)
    assert np.all(np.diff(got[:, ~inside], axis=1) >= -1e-12)
    # Past min n, of two problems with the same n the solved one is estimated higher.
    for size in np.unique(ns):
        same = ns == size
        if (same & (cs > 0)).any() and (same & (cs == 0)).any():
            assert got[same & (cs > 0), -1].min() >= got[same & (cs == 0), -1].max() - 1e-12


def test_filled_coverage_rows_use_their_own_prior() -> None:
    n = np.array([5.0, 5.0, 500.0, 500.0])
    c = np.array([0.0, 2.0, 0.0, 40.0])
    ks = np.array([1.0, 5.0, 100.0, 500.0])
    w = np.ones((2, 4))
    priors = np.array([[0.5, 5.0, 1.0, 0.0], [0.5, 5.0, 1.0, 0.9]])
    got = filled_coverage(n, c, ks, w, priors)
    for r in range(2):
        assert np.allclose(got[r], filled_pass_at_k(n, c, ks, priors[r]).mean(axis=0))
    # k <= min n is measured for every problem: no prior enters.
    assert got[0, :2] == pytest.approx(got[1, :2])
    # A larger zero mass says the never-solved problem at n = 5 is more likely never solvable.
    assert got[1, 3] < got[0, 3]
