r"""The spread of a fitted curve for a *fixed* task: these problems' sampling noise and the form's error.

A plan is about one task: the same problems, sampled more.  Its coverage at k is
``mean_i [1 - (1 - p_i)^k]`` over *these* problems, so an interval for it must hold two
things (issue 11 item 4), and not the spread of a new draw of problems, which a bootstrap
over problems adds (it held the truth in 100% of pythia backtests at m = 1,000 with 12
points of width; BENCHMARKS.md, "Curves"):

1. **Sampling noise of these problems.**  A fixed-problem parametric bootstrap (empirical
   Bayes; Efron & Morris 1975): the rates are given the zero-mass Beta-Binomial
   ``pi0 delta_0 + (1 - pi0) Beta(alpha, beta)`` fitted by maximum likelihood to every count
   (:data:`budget.curves.estimators.ZERO_BETA`); each replicate redraws each problem's rate
   from its posterior -- ``p_i = 0`` with the posterior weight of the zero mass when
   ``c_i = 0``,

       w0_i = pi0 / (pi0 + (1 - pi0) B(alpha, beta + n_i) / B(alpha, beta)),

   else ``p_i ~ Beta(alpha + c_i, beta + n_i - c_i)`` -- then its count
   ``c_i* ~ Binomial(n_i, p_i)``, and refits the chosen form to those counts
   (:attr:`budget.curves.estimators.Fitter.refit`).  The draws are read centred on the point
   (:class:`budget.curves.base.FixedTaskSpread`): their spread is the noise, their mean's
   shrinkage toward the prior is not a correction to the fit.
2. **The form's own error**, which no bootstrap of one form sees.  Within the data, the
   fitted form's distance from the pass@k it was fitted to: its residuals in
   y = log(-log coverage), as a local root mean square over a decade of k either side, added
   in y (relative, so a small coverage is never pushed below 0).
   Past the largest k measured for every problem, also the disagreement of the candidate
   forms (Brown et al.'s power law, the Beta-Binomial and the zero-mass Beta-Binomial,
   each fitted to the same counts): their standard deviation at the k asked, each weighted
   by 1 / its internal-backtest error^2.  No constant is tuned: both sizes are read off the
   data.

Measured (``benchmarks/backtest.py --seeds 20 --m 100 1000``, BENCHMARKS.md "Curves"): on pythia
at k = 10,000 the 90% interval holds the truth in 92% of cases at m = 100 (20.5 points wide;
the bootstrap over problems: 94% at 17.4) and 92% at m = 1,000 (8.4 points, against 100% at
12.0).  Where every candidate form is wrong the same way (a point mass of never-solved
problems read as a thin left tail), their disagreement cannot show it, and the interval
beyond the data is too narrow (the synthetic suite's ``zero_mass`` population).
"""

from __future__ import annotations

import numpy as np

from budget.curves.base import FORMS, FixedTaskSpread
from budget.curves.estimators import Fitter, lsq_coverage
from budget.curves.form import FloatArray
from budget.curves.posterior import zero_mass_weight


def posterior_rates(
    n: FloatArray, c: FloatArray, prior: FloatArray, size: int, rng: np.random.Generator
) -> FloatArray:
    """(size, P) rates, each problem's drawn from its posterior under ``prior`` = [alpha, beta, scale, zero].

    ``scale`` must be 1 (the zero-mass Beta-Binomial, whose posterior is a Beta and the mass).
    """
    alpha, beta, scale, _ = (float(v) for v in prior)
    if scale != 1.0:
        raise ValueError("posterior_rates needs an unscaled Beta prior")
    w0 = zero_mass_weight(n, c, prior)
    p = rng.beta(alpha + c, beta + n - c, size=(size, n.size))
    out: FloatArray = np.where(rng.random((size, n.size)) < w0, 0.0, p)
    return out


def stopped_records(
    attempts: FloatArray, solved: FloatArray, prior: FloatArray, size: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """(size, P) until-pass records of the same problems, redrawn (``budget.curves.stopped``).

    Each problem's rate from its posterior under ``prior`` = [alpha, beta, 1, zero] given its
    record (first success at j: p ~ Beta(alpha + 1, beta + j - 1); none in k: the zero mass
    with weight w0, else p ~ Beta(alpha, beta + k)), then sampled until its first success or
    the cap: an unsolved problem's own attempts, a solved one's the largest cap seen (the
    run's), or its largest attempts when every problem was solved.
    """
    alpha, beta, _, zero = (float(v) for v in prior)
    n, c = attempts, solved.astype(float)
    rates = posterior_rates(n, c, np.array([alpha, beta, 1.0, zero]), size, rng)
    unsolved = attempts[solved == 0]
    cap = np.where(solved > 0, unsolved.max() if unsolved.size else attempts.max(), attempts)
    first = rng.geometric(np.maximum(rates, 1e-300))
    ok = (rates > 0) & (first <= cap[None, :])
    return np.where(ok, first, cap[None, :]).astype(float), ok.astype(float)


def fixed_task_counts(
    n: FloatArray, c: FloatArray, prior: FloatArray, size: int, rng: np.random.Generator
) -> FloatArray:
    """(size, P) counts of the same problems, redrawn: c_i* ~ Binomial(n_i, p_i*), p_i* from the posterior."""
    rates = posterior_rates(n, c, prior, size, rng)
    out: FloatArray = rng.binomial(n.astype(np.int64), rates).astype(float)
    return out


def residuals(
    fitter: Fitter, point: FloatArray, n: FloatArray, c: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The k a fit answers to and its residual there in y = log(-log coverage): fitted minus measured.

    The points are :func:`budget.curves.estimators.lsq_coverage`'s: the unbiased pass@k at
    log-spaced k up to ``min n`` (and, for unequal n, the posterior-filled ones up to
    ``max n``), for every fitter alike; those where either value is 0 or 1 (y infinite) are
    left out, as least squares leaves them out.
    """
    ks, cov = lsq_coverage(n, c, np.ones((1, n.size)))
    fitted = FORMS[fitter.form].evaluate(point[None, :], ks)[0]
    use = (cov[0] > 0) & (cov[0] < 1) & (fitted > 0) & (fitted < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = np.log(-np.log(np.where(use, fitted, 0.5))) - np.log(-np.log(np.where(use, cov[0], 0.5)))
    out_k: FloatArray = ks[use]
    out_r: FloatArray = res[use]
    return out_k, out_r


#: Where the candidates' disagreement is tabulated: 8 points a decade, k = 1 to 10^9.
DISAGREEMENT_KS: FloatArray = np.unique(np.round(np.geomspace(1.0, 1e9, 73)))


def weighted_spread(curves: FloatArray, weights: FloatArray | None = None) -> FloatArray:
    """Weighted standard deviation over rows of ``curves`` (F, K) at each column.

    sd(k)^2 = sum_j w_j (f_j(k) - fbar(k))^2 / sum_j w_j, fbar the weighted mean; equal weights
    by default.  Zero with fewer than two rows.
    """
    f = np.atleast_2d(curves)
    if len(f) < 2:
        return np.zeros(f.shape[1])
    w = (np.ones(len(f)) if weights is None else np.asarray(weights, dtype=float))[:, None]
    centre = (w * f).sum(axis=0) / w.sum()
    out: FloatArray = np.sqrt((w * (f - centre) ** 2).sum(axis=0) / w.sum())
    return out


def spread_record(
    measured_k: int,
    curves: FloatArray,
    weights: FloatArray | None = None,
    misfit: tuple[FloatArray, FloatArray] | None = None,
) -> FixedTaskSpread:
    """The :class:`FixedTaskSpread` of a fit: the candidates' ``curves`` (F, K) at
    :data:`DISAGREEMENT_KS` and their ``weights`` give the disagreement table; ``misfit`` the
    chosen form's residuals (k, y residual), none when it has no points to answer to.
    """
    ks, res = misfit if misfit is not None else (np.empty(0), np.empty(0))
    return FixedTaskSpread(
        measured_k=measured_k,
        misfit_k=[float(k) for k in ks],
        misfit=[float(r) for r in res],
        disagreement_k=[float(k) for k in DISAGREEMENT_KS],
        disagreement=[float(v) for v in weighted_spread(curves, weights)],
    )


def fixed_task_spread(
    chosen: Fitter,
    points: dict[str, tuple[Fitter, FloatArray]],
    n: FloatArray,
    c: FloatArray,
    scores: dict[str, float] | None = None,
) -> FixedTaskSpread:
    """The spread record of a curve fitted by ``chosen``; ``points`` holds every candidate's fit.

    With ``scores`` (each candidate's out-of-sample error on the internal backtest), a form's
    weight in the disagreement is 1 / error^2: a form that extrapolated badly inside the data
    says less about beyond it.  Without (a forced fitter, or no subsample with evidence),
    equal weights.  Measured against equal weights (BENCHMARKS.md, "Fixed-task intervals"):
    within a few points of the same hit rates on pythia and the synthetic suite, and far
    sharper where the internal backtest rules a form out (a solved-or-never split: 2.5
    against 22 points at 10x).
    """
    finite = [(name, f, p) for name, (f, p) in points.items() if np.all(np.isfinite(p))]
    curves = np.vstack([FORMS[f.form].evaluate(p[None, :], DISAGREEMENT_KS)[0] for _, f, p in finite])
    weights = None
    if scores:
        weights = np.array([1.0 / max(scores.get(name, np.inf), 1e-4) ** 2 for name, _, _ in finite])
        weights = weights if weights.sum() > 0 else None
    misfit = residuals(chosen, points[chosen.name][1], n, c)
    return spread_record(int(n.min()), curves, weights, misfit)
