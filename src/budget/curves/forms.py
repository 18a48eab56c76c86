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

With ``scale = 1`` the expectation is that closed form (exact for every alpha, beta).
With ``scale < 1`` it is a quadrature in ``t = logit(u)``, where the Beta density becomes
``u^alpha (1 - u)^beta / B(alpha, beta) dt`` -- smooth, with exponential tails -- so the
trapezoid rule converges fast.  The nodes are the union of a fixed grid (step 0.2 on
[-40, 40], for broad distributions) and, per parameter row, 161 nodes over the mean of t
+- 12 standard deviations (``E t = psi(alpha) - psi(beta)``, ``Var t = psi'(alpha) +
psi'(beta)``), so a concentrated Beta (alpha + beta large: nearly equal rates across
problems) is resolved instead of falling between nodes; the masses beyond the ends
(``u_min^alpha / (alpha B)`` on the left, ``(1 - u_max)^beta / (beta B)`` on the right) go
to the end nodes.  (Issue 11 item 1: with the fixed grid alone, a spike narrower than a
step lost its mass, which was then put on the node at u ~ 1.)  The fixed grid also serves
the likelihood of per-problem counts under a free scale (:mod:`budget.curves.estimators`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, expit, log_expit, polygamma

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


def adaptive_nodes(alpha: FloatArray, beta: FloatArray, width: float = 12.0, count: int = 161) -> FloatArray:
    """Nodes in t = logit(u) for each (alpha, beta) row: the fixed grid and mean +- width sd, sorted."""
    a = np.atleast_1d(np.asarray(alpha, dtype=float))
    b = np.atleast_1d(np.asarray(beta, dtype=float))
    mean = digamma(a) - digamma(b)
    sd = np.sqrt(polygamma(1, a) + polygamma(1, b))
    local = mean[:, None] + sd[:, None] * np.linspace(-width, width, count)[None, :]
    nodes = np.concatenate([np.broadcast_to(T_GRID, (a.size, T_GRID.size)), local], axis=1)
    out: FloatArray = np.sort(nodes, axis=1)
    return out


def _trapezoid_beta(alpha: FloatArray, beta: FloatArray, t: FloatArray) -> FloatArray:
    """Trapezoid weights of Beta(alpha, beta) on nodes ``t`` (rows, non-uniform), tails on the ends."""
    a = alpha[:, None]
    b = beta[:, None]
    log_u, log_1mu = log_expit(t), log_expit(-t)
    dens = np.exp(a * log_u + b * log_1mu - betaln(a, b))
    gaps = np.diff(t, axis=1)
    w = np.zeros_like(t)
    w[:, :-1] += 0.5 * gaps * dens[:, :-1]
    w[:, 1:] += 0.5 * gaps * dens[:, 1:]
    w[:, 0] += np.minimum(np.exp(alpha * log_u[:, 0] - betaln(alpha, beta)) / alpha, 1.0)
    w[:, -1] += np.minimum(np.exp(beta * log_1mu[:, -1] - betaln(alpha, beta)) / beta, 1.0)
    out: FloatArray = w / w.sum(axis=1, keepdims=True)
    return out


def beta_miss(params: FloatArray, k: FloatArray, chunk: int = 2_000_000) -> FloatArray:
    """E_u[(1 - scale u)^k] for each parameter row and k: shape (..., K), without the zero mass.

    Rows with ``scale = 1``: the closed form B(alpha, beta + k) / B(alpha, beta); others by
    quadrature on :func:`adaptive_nodes`.
    """
    alpha, beta, scale, _ = _unpack(params)
    kk = np.asarray(k, dtype=float)
    lead = np.shape(alpha)
    a2 = np.atleast_1d(alpha).reshape(-1)
    b2 = np.atleast_1d(beta).reshape(-1)
    s2 = np.clip(np.atleast_1d(scale).reshape(-1), 0.0, 1.0)
    out = np.empty((a2.size, kk.size))
    exact = s2 >= 1.0
    if exact.any():
        ae, be = a2[exact, None], b2[exact, None]
        out[exact] = np.exp(betaln(ae, be + kk[None, :]) - betaln(ae, be))
    rows = np.flatnonzero(~exact)
    if rows.size:
        t = adaptive_nodes(a2[rows], b2[rows])
        w = _trapezoid_beta(a2[rows], b2[rows], t)  # (R, G)
        with np.errstate(divide="ignore"):
            # Finite floor: (1 - p)^0 = 1 even at p = 1, without 0 * inf.
            logq = np.maximum(np.log1p(-s2[rows, None] * expit(t)), -1e300)
        step = max(1, chunk // max(1, w.size))
        for s in range(0, kk.size, step):  # chunks of k bound the memory of (rows, G, K)
            ks = kk[s : s + step]
            out[rows, s : s + step] = np.einsum("rg,rgk->rk", w, np.exp(logq[:, :, None] * ks[None, None, :]))
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
