"""Per-problem pass@k at every k, for problems sampled unequally (issue 11 item 6).

A problem with ``n_i`` samples has an unbiased pass@k only for ``k <= n_i`` (Chen et al.
2021, Eq. 1; :mod:`budget.curves.passk`).  When the ``n_i`` differ, a task's coverage at
``k > min n_i`` is measured for the problems with ``n_i >= k`` and must be *estimated* for
the others.  Dropping them (fitting only ``k <= min n``) throws away every sample past the
smallest ``n_i``; counting them at their observed value (1 if ever solved) is biased low.

Here the missing entries are each problem's posterior expectation under a rate
distribution fitted to all problems (empirical Bayes; Efron & Morris 1975): with the
zero-inflated Beta ``pi0 delta_0 + (1 - pi0) Beta(alpha, beta)`` fitted by maximum
likelihood to every problem's ``(n_i, c_i)`` (its likelihood handles unequal ``n``
natively), and ``q_k(p) = (1 - p)^k``::

    E[q_k | c, n] = B(alpha + c, beta + n - c + k) / B(alpha + c, beta + n - c)      (c > 0)
    E[q_k | 0, n] = w0 + (1 - w0) B(alpha, beta + n + k) / B(alpha, beta + n),
    w0 = pi0 / (pi0 + (1 - pi0) B(alpha, beta + n) / B(alpha, beta))                (c = 0)

and pass@k = 1 - E[q_k | c, n].  A problem's own ``n_i`` samples dominate its posterior
(its count enters with weight ``n_i``; the fitted distribution with weight about
``alpha + beta``), so the estimate leans on the model only for what the problem's samples
do not say.  The zero-mass Beta nests the plain Beta-Binomial (``pi0 = 0``), so a
population with no never-solved mass is not forced to have one.

The posterior mean is E[pass@k | c_i] under the fitted distribution: over problems it is
unbiased for coverage when the distribution holds, and it has the least variance of such
estimates (it conditions on the count).  A problem's own curve may step at k = n_i + 1 (the
unbiased value at k = n_i is 1 if it was ever solved, 0 if not; the posterior mean shrinks
both toward the population), which is expected of shrinkage and averages out over problems.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, expit

from budget.curves.base import FloatArray
from budget.curves.passk import pass_at_k_per_problem

#: The rate distribution the missing entries are drawn from (see the module docstring).
PRIOR_FITTER = "zero_beta_binomial"


def posterior_miss(n: FloatArray, c: FloatArray, ks: FloatArray, prior: FloatArray) -> FloatArray:
    """E[(1 - p_i)^k | c_i, n_i] under ``prior`` = [alpha, beta, scale, zero]: shape (P, K).

    ``scale`` must be 1 (the closed form needs the Beta on [0, 1]).
    """
    alpha, beta, scale, zero = (float(v) for v in prior)
    if scale != 1.0:
        raise ValueError("posterior_miss needs an unscaled Beta prior")
    a = alpha + c[:, None]
    b = beta + (n - c)[:, None]
    kk = np.asarray(ks, dtype=float)[None, :]
    beta_part = np.exp(betaln(a, b + kk) - betaln(a, b))
    if zero <= 0.0:
        out: FloatArray = beta_part
        return out
    with np.errstate(divide="ignore"):
        log_live = np.log1p(-zero) + betaln(alpha, beta + n) - betaln(alpha, beta)
        w0 = np.where(c == 0, expit(np.log(zero) - log_live), 0.0)[:, None]
    out = w0 + (1.0 - w0) * beta_part
    return out


def filled_coverage(
    n: FloatArray, c: FloatArray, ks: FloatArray, weights: FloatArray, priors: FloatArray
) -> FloatArray:
    """Coverage at each k for each row of problem ``weights``, each row with its own prior: (R, K).

    Row r is the ``weights[r]``-weighted mean of :func:`filled_pass_at_k` under ``priors[r]``
    (a bootstrap replicate resamples the problems *and* refits the rate distribution the
    missing entries come from, so their uncertainty reaches the interval).
    """
    kk = np.asarray(ks, dtype=float)
    w = np.atleast_2d(weights)
    measured = pass_at_k_per_problem(n, c, kk, beyond="nan")
    missing = np.isnan(measured)
    out = np.empty((len(w), kk.size))
    for r in range(len(w)):
        per = measured
        if missing.any():
            per = np.where(missing, 1.0 - posterior_miss(n, c, kk, priors[r]), measured)
        out[r] = (w[r] @ per) / w[r].sum()
    return out


def filled_pass_at_k(n: FloatArray, c: FloatArray, ks: FloatArray, prior: FloatArray | None) -> FloatArray:
    """Per-problem pass@k (P, K): unbiased where ``k <= n_i``, the posterior mean where not.

    Without a ``prior`` (equal ``n``, or ``k <= min n`` only) this is the unbiased estimator.
    """
    kk = np.asarray(ks, dtype=float)
    if prior is None or kk.max() <= n.min():
        out: FloatArray = pass_at_k_per_problem(n, c, kk)
        return out
    measured = pass_at_k_per_problem(n, c, kk, beyond="nan")
    missing = np.isnan(measured)
    out = np.where(missing, 1.0 - posterior_miss(n, c, kk, prior), measured)
    return out
