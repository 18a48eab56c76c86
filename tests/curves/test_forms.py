"""The beta form: quadrature against closed forms and direct integration; properties; lazy registry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import betaln, expit

from budget.curves.forms import BETA, beta_nodes

KS = np.array([1, 3, 10, 100, 1_000, 10_000, 1_000_000], dtype=float)


@pytest.mark.parametrize(("alpha", "beta"), [(0.3, 2.5), (0.08, 40.0), (1.0, 1.0), (4.0, 60.0), (0.5, 0.4)])
def test_unscaled_matches_the_beta_binomial_closed_form(alpha: float, beta: float) -> None:
    got = BETA.evaluate(np.array([[alpha, beta, 1.0, 0.0]]), KS)[0]
    want = 1 - np.exp(betaln(alpha, beta + KS) - betaln(alpha, beta))
    assert got == pytest.approx(want, abs=2e-6)


@pytest.mark.parametrize(("alpha", "beta", "scale"), [(0.5, 2.0, 0.1), (1.5, 3.0, 0.01), (0.3, 1.0, 0.5)])
def test_scaled_matches_direct_integration(alpha: float, beta: float, scale: float) -> None:
    def miss(k: float) -> float:
        def f(u: float) -> float:
            return float(
                (1 - scale * u) ** k * u ** (alpha - 1) * (1 - u) ** (beta - 1) * np.exp(-betaln(alpha, beta))
            )

        return float(integrate.quad(f, 0, 1, points=[1e-6, 1e-4, 1e-2], limit=200)[0])

    for k in (1.0, 10.0, 1_000.0):
        got = BETA.evaluate(np.array([[alpha, beta, scale, 0.0]]), np.array([k]))[0, 0]
        assert got == pytest.approx(1 - miss(k), abs=1e-5)


def test_zero_mass_scales_coverage_and_k0_is_zero() -> None:
    base = BETA.evaluate(np.array([[0.4, 3.0, 1.0, 0.0]]), KS)[0]
    with_zero = BETA.evaluate(np.array([[0.4, 3.0, 1.0, 0.25]]), np.concatenate([[0.0], KS]))[0]
    assert with_zero[0] == 0.0
    assert with_zero[1:] == pytest.approx(0.75 * base, rel=1e-12)


def test_weights_are_a_distribution_with_the_beta_mean() -> None:
    t, w = beta_nodes(np.array([0.7, 2.0, 3e4]), np.array([5.0, 2.0, 7e4]))
    assert w.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    mean = (w * expit(t)).sum(axis=1)
    assert mean == pytest.approx([0.7 / 5.7, 0.5, 0.3], abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.02, 5.0),
    st.floats(0.05, 200.0),
    st.floats(1e-3, 1.0),
    st.floats(0.0, 0.9),
)
def test_properties_monotone_bounded(alpha: float, beta: float, scale: float, zero: float) -> None:
    ks = np.array([0, 1, 2, 5, 10, 100, 1e3, 1e4, 1e5, 1e7])
    cov = BETA.evaluate(np.array([[alpha, beta, scale, zero]]), ks)[0]
    assert cov[0] == 0.0
    assert np.all((cov >= 0) & (cov <= 1 - zero + 1e-12))
    assert np.all(np.diff(cov) >= -1e-9)


def test_a_curve_finds_the_beta_form_when_only_base_was_imported() -> None:
    code = (
        "from budget.curves.base import CoverageCurve\n"
        "c = CoverageCurve(model='m', task='t', form='beta',"
        " params={'alpha': 0.3, 'beta': 2.5, 'scale': 1.0, 'zero': 0.0})\n"
        "print(round(float(c.coverage([1])[0]), 6))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == pytest.approx(0.3 / 2.8, abs=1e-6)
