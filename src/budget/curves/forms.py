"""Coverage-curve forms built on a distribution of per-problem success rates.

If problem ``i`` is solved by one sample with probability ``p_i`` and samples are
independent, ``k`` samples solve it with probability ``1 - (1 - p_i)^k``, and over a
population of problems with rates ``p ~ G``::

    coverage(k) = 1 - E_G[(1 - p)^k]                      (Schaeffer et al., ICML 2025, Eq. 11)

Form ``beta`` (registered in :data:`~budget.curves.base.FORMS`): a *scaled* Beta
distribution with a point mass at zero,

    p = 0 with probability ``zero``, else p = scale * u with u ~ Beta(alpha, beta),

so ``coverage(k) = (1 - zero) * (1 - E_u[(1 - scale u)^k])``.  The scale (Schaeffer et
al.'s scaled Beta, their Sec. 5 / App. D) lets the rates of a weak model end far below 1;
the point mass holds problems a model never solves.  With ``scale = 1`` and ``zero = 0``
this is the Beta-Binomial's closed form ``1 - B(alpha, beta + k) / B(alpha, beta)``.

The expectation is a quadrature on a uniform grid in ``t = logit(u)``, where the Beta
density becomes ``u^alpha (1 - u)^beta / B(alpha, beta) dt`` -- smooth, with exponential
tails -- so the trapezoid rule converges fast; mass beyond the grid is put on its end
points.  The same grid serves the likelihood of per-problem counts
(:mod:`budget.curves.estimators`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, expit, log_expit

from budget.curves.base import CurveForm, FloatArray, register_form

#: Grid in logit(u): nodes and the log of u and of 1 - u there.
T_GRID: FloatArray = np.linspace(-40.0, 40.0, 401)
LOG_U: FloatArray = log_expit(T_GRID)
LOG_1MU: FloatArray = log_expit(-T_GRID)
U_GRID: FloatArray = expit(T_GRID)


def logit_grid(t_min: float, t_max: float, step: float) -> tuple[FloatArray, FloatArray]:
    """log u and log(1 - u) on a uniform grid of t = logit(u) (for :func:`beta_weights`)."""
    t = np.arange(t_min, t_max + step / 2, step)
    return log_expit(t), log_expit(-t)


def beta_weights(
    alpha: FloatArray, beta: FloatArray, grid: tuple[FloatArray, FloatArray] = (LOG_U, LOG_1MU)
) -> FloatArray:
    """Quadrature weights of Beta(alpha, beta) on a logit grid: shape (..., G), rows sum to 1.

    Trapezoid in logit space; the tail masses beyond the grid (about
    ``u_min^alpha / (alpha B)`` on the left, likewise on the right) go to the end nodes.
    """
    log_u, log_1mu = grid
    a = np.asarray(alpha, dtype=float)[..., None]
    b = np.asarray(beta, dtype=float)[..., None]
    dt = (log_u[1] - log_1mu[1]) - (log_u[0] - log_1mu[0])
    logw = a * log_u + b * log_1mu - betaln(a, b) + np.log(dt)
    w = np.exp(logw)
    w[..., 0] *= 0.5
    w[..., -1] *= 0.5
    left = np.exp(a[..., 0] * log_u[0] - betaln(a[..., 0], b[..., 0])) / a[..., 0]
    w[..., 0] += np.minimum(left, 1.0)
    rest = 1.0 - w.sum(axis=-1)
    w[..., -1] += np.maximum(rest, 0.0)
    out: FloatArray = w / w.sum(axis=-1, keepdims=True)
    return out


def _unpack(params: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    p = np.asarray(params, dtype=float)
    return p[..., 0], p[..., 1], p[..., 2], p[..., 3]


def beta_miss(params: FloatArray, k: FloatArray, chunk: int = 2_000_000) -> FloatArray:
    """E_u[(1 - scale u)^k] for each parameter row and k: shape (..., K), without the zero mass."""
    alpha, beta, scale, _ = _unpack(params)
    kk = np.asarray(k, dtype=float)
    w = beta_weights(alpha, beta)  # (..., G)
    with np.errstate(divide="ignore"):
        # Finite floor: (1 - p)^0 = 1 even at p = 1, without 0 * inf.
        logq = np.maximum(np.log1p(-np.clip(scale[..., None], 0.0, 1.0) * U_GRID), -1e300)  # (..., G)
    lead = w.shape[:-1]
    w2 = w.reshape(-1, w.shape[-1])
    q2 = logq.reshape(-1, logq.shape[-1])
    out = np.empty((w2.shape[0], kk.size))
    step = max(1, chunk // max(1, w2.shape[0] * w2.shape[1]))
    for s in range(0, kk.size, step):  # chunks of k bound the memory of (rows, G, K)
        ks = kk[s : s + step]
        out[:, s : s + step] = np.einsum("rg,rgk->rk", w2, np.exp(q2[:, :, None] * ks[None, None, :]))
    res: FloatArray = np.clip(out, 0.0, 1.0).reshape((*lead, kk.size))
    return res


def _beta(params: FloatArray, k: FloatArray) -> FloatArray:
    _, _, _, zero = _unpack(params)
    kk = np.asarray(k, dtype=float)
    cov = (1.0 - np.clip(zero, 0.0, 1.0))[..., None] * (1.0 - beta_miss(params, np.maximum(kk, 0.0)))
    out: FloatArray = np.where(kk > 0, np.clip(cov, 0.0, 1.0), 0.0)
    return out


BETA = register_form(
    CurveForm(
        name="beta",
        param_names=("alpha", "beta", "scale", "zero"),
        evaluate=_beta,
        formula=(
            "coverage(k) = (1 - zero) * (1 - E[(1 - scale*u)^k]), u ~ Beta(alpha, beta); "
            "p = 0 with probability zero"
        ),
        source="Schaeffer et al., ICML 2025, Eq. 11 (scaled Beta-Binomial), with a point mass at zero",
    )
)
