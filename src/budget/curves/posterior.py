"""Per-problem pass@k at every k, for problems sampled unequally (issue 11 item 6).

A problem with ``n_i`` samples has an unbiased pass@k only for ``k <= n_i`` (Chen et al.
2021, Eq. 1; :mod:`budget.curves.passk`).  When the ``n_i`` differ, a task's coverage at
``k > min n_i`` is measured for the problems with ``n_i >= k`` only.  Dropping the others
(fitting only ``k <= min n``) throws away every sample past the smallest ``n_i``; counting
them at their observed value (1 if ever solved) is biased low.

Past ``min n`` every problem's pass@k is taken as its posterior mean (below), the measured
ones too: when ``n_i`` depends on the outcomes -- budget's own adaptive pilot gives the next
samples to the problems with the fewest successes, a stopping rule -- the unbiased estimator
is no longer unbiased (issue 11 item 8), while the likelihood, and so the posterior, is
unaffected by such a design (the likelihood principle).  Measured on pythia's adaptive pilot
(BENCHMARKS.md, "Synthetic suite"): mixing the unbiased estimator for the problems with
``n_i >= k`` into the posterior means cost 1.5 points at m = 100.  Up to ``min n`` the unbiased
estimator is kept (every problem is measured there; equal n is unchanged).

The posterior mean is each problem's expectation under a rate
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
estimates (it conditions on the count).  A problem's own curve may step at k = min n + 1 (the
unbiased value at k = n_i is 1 if it was ever solved, 0 if not; the posterior mean shrinks
both toward the population), which is expected of shrinkage and averages out over problems.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, expit

from budget.curves.form import FloatArray
from budget.curves.passk import pass_at_k_per_problem

#: The rate distribution the missing entries are drawn from (see the module docstring).
PRIOR_FITTER = "zero_beta_binomial"


def observed_k(num_samples: FloatArray) -> int:
    """The largest k measured for at least half of the problems (issue 11 item 6).

    Pass@k of a problem with n_i samples is measured only for k <= n_i.  With unequal n the
    fitters use every sample (:func:`budget.curves.estimators.lsq_coverage`; the likelihoods
    take each n_i as it is), so a task's coverage at k is measured for the problems with
    n_i >= k and estimated for the others.  Up to this k the measured problems are at least
    half of the task; past it the estimate is mostly the model's, and counts as an
    extrapolation.  Equal n: n.  60 problems at n = 10 and one at 10,000: 10 (a few problems
    sampled far more do not make a larger k "observed"); half at 5 and half at 500: 500.
    """
    ordered = np.sort(np.asarray(num_samples, dtype=float))
    return int(ordered[ordered.size // 2])


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
    w0 = zero_mass_weight(n, c, prior)[:, None]
    out = w0 + (1.0 - w0) * beta_part
    return out


def zero_mass_weight(n: FloatArray, c: FloatArray, prior: FloatArray) -> FloatArray:
    """P(p_i = 0 | c_i, n_i) under ``prior`` = [alpha, beta, 1, zero]: w0 above, 0 where c_i > 0."""
    alpha, beta, _, zero = (float(v) for v in prior)
    with np.errstate(divide="ignore"):
        log_live = np.log1p(-zero) + betaln(alpha, beta + n) - betaln(alpha, beta)
        out: FloatArray = np.where(c == 0, expit(np.log(zero) - log_live), 0.0)
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
    out = np.empty((len(w), kk.size))
    for r in range(len(w)):
        out[r] = (w[r] @ filled_pass_at_k(n, c, kk, priors[r])) / w[r].sum()
    return out


def filled_pass_at_k(n: FloatArray, c: FloatArray, ks: FloatArray, prior: FloatArray | None) -> FloatArray:
    """Per-problem pass@k (P, K): unbiased where ``k <= min n``, the posterior mean past it.

    Without a ``prior`` this is the unbiased estimator (a problem past its own n counts at
    its observed value, :func:`budget.curves.passk.pass_at_k_per_problem`).
    """
    kk = np.asarray(ks, dtype=float)
    out: FloatArray = pass_at_k_per_problem(n, c, kk)
    if prior is None or kk.max() <= n.min():
        return out
    past = kk[None, :] > n.min()
    out = np.where(past, 1.0 - posterior_miss(n, c, kk, prior), out)
    return out
