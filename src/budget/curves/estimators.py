"""Fitters: from per-problem counts to the parameters of a coverage-curve form.

Each fitter takes the counts of one (model, task) -- ``n`` samples and ``c`` correct per
problem -- and returns a parameter vector of its form (see :mod:`budget.curves.base` and
:mod:`budget.curves.forms`).  Fitters are pure and vectorised; bootstrap and model
selection live in :mod:`budget.curves.selection`.
"""

from __future__ import annotations

import numpy as np

from budget.curves.base import FloatArray
from budget.curves.passk import pass_at_k_per_problem
from budget.curves.published import power_law_lsq


def lsq_ks(max_k: int, per_decade: int = 8) -> FloatArray:
    """Log-spaced integer k from 1 to ``max_k`` (the points a power law is fitted on)."""
    num = max(2, int(np.ceil(np.log10(max(max_k, 2)) * per_decade)) + 1)
    out: FloatArray = np.unique(np.round(np.geomspace(1, max_k, num=num))).astype(float)
    return out


def power_law_from_counts(n: FloatArray, c: FloatArray, weights: FloatArray | None = None) -> FloatArray:
    """Brown et al. 2024 ("Large Language Monkeys", Eqs. 2-3, App. C.1): coverage = exp(a k^b).

    Unbiased pass@k is computed at log-spaced k from 1 to min(n), and
    ``log(-log pass@k) = log(-a) + b log k`` is fitted by ordinary least squares over
    the points with 0 < pass@k < 1.  ``weights`` (per problem, default equal) allow a
    bootstrap over problems by resampling weights.  Returns ``[a, b]`` (NaN if fewer
    than two usable points).
    """
    ks = lsq_ks(int(n.min()))
    per = pass_at_k_per_problem(n, c, ks)
    w = np.ones((1, n.size)) if weights is None else np.atleast_2d(weights)
    cov = (w @ per) / w.sum(axis=1, keepdims=True)
    out = np.full((cov.shape[0], 2), np.nan)
    for r in range(cov.shape[0]):  # rows are bootstrap replicates (a few hundred at most)
        ok = (cov[r] > 0) & (cov[r] < 1)
        if ok.sum() >= 2:
            a, b = power_law_lsq(ks[ok], cov[r, ok][None, :])
            out[r] = [a[0], b[0]]
    return out[0] if weights is None or np.ndim(weights) == 1 else out
