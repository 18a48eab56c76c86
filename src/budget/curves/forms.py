"""Coverage-curve forms built on a distribution of per-problem success rates.

If problem ``i`` is solved by one sample with probability ``p_i`` and samples are
independent, ``k`` samples solve it with probability ``1 - (1 - p_i)^k``, and over a
population of problems with rates ``p ~ G``::

    coverage(k) = 1 - E_G[(1 - p)^k]                      (Schaeffer et al., ICML 2025, Eq. 11)

Form ``beta`` (listed in :data:`~budget.curves.base.FORMS`): a *scaled* Beta
distribution with a point mass at zero,

    p = 0 with probability ``zero``, else p = scale * u with u ~ Beta(alpha, beta),

so ``coverage(k) = (1 - zero) * (1 - E_u[(1 - scale u)^k])``.  The scale (Schaeffer et
al.'s scaled Beta, their Sec. 5 / App. D) lets the rates of a weak model end far below 1;
the point mass holds problems a model never solves.  With ``scale = 1`` and ``zero = 0``
this is the Beta-Binomial's closed form ``1 - B(alpha, beta + k) / B(alpha, beta)``.

With ``scale = 1`` the expectation is that closed form (exact for every alpha, beta).
With ``scale < 1`` it is a quadrature in ``t = logit(u)``, where the Beta density becomes
``u^alpha (1 - u)^beta / B(alpha, beta) dt`` -- smooth, with exponential tails -- so the
trapezoid rule converges fast.  The nodes (:func:`beta_nodes`) are, per parameter row, a
uniform grid over the mean of t +- 12 standard deviations, cut to [-40, 40] for broad
distributions, so a concentrated Beta (alpha + beta large: nearly equal rates across
problems) is resolved instead of falling between nodes, with the exact tail masses beyond
the ends.  (Issue 11 item 1: with one fixed grid, a spike narrower than a step lost its
mass, which was then put on the node at u ~ 1.)  The same nodes serve the likelihood of
per-problem counts under a free scale (:mod:`budget.curves.estimators`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betainc, betaln, digamma, expit, log_expit, polygamma

from budget.curves.form import CurveForm, FloatArray

#: The widest span of the logit grid for a broad Beta (beyond, tail masses go to the ends).
T_SPAN = (-40.0, 40.0)
#: Nodes per grid (at least; more where ``max_step`` asks for a finer one).
NODES = 481


def _unpack(params: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    p = np.asarray(params, dtype=float)
    return p[..., 0], p[..., 1], p[..., 2], p[..., 3]


def beta_nodes(
    alpha: ArrayLike,
    beta: ArrayLike,
    *,
    max_step: float | None = None,
    width: float = 12.0,
    span: tuple[float, float] = T_SPAN,
) -> tuple[FloatArray, FloatArray]:
    """Quadrature of Beta(alpha, beta) in t = logit(u), one grid per row: nodes t and weights w,
    both of shape (rows, G); each row of w sums to 1.

    The grid is uniform over the mean of t +- ``width`` standard deviations
    (``E t = psi(alpha) - psi(beta)``, ``Var t = psi'(alpha) + psi'(beta)``), cut to
    ``span`` (default :data:`T_SPAN`) where that is wider, with :data:`NODES` nodes or more if ``max_step``
    asks for a finer step (a binomial likelihood at large n).  Uniform, because the
    trapezoid rule is spectrally accurate on a uniform grid for smooth integrands with
    decaying tails (a union of two grids is not).  The masses beyond the end nodes,
    ``I_{u_min}(alpha, beta)`` and ``I_{1 - u_max}(beta, alpha)`` (regularised incomplete
    Beta functions), are added to them.
    """
    a = np.atleast_1d(np.asarray(alpha, dtype=float)).reshape(-1)
    b = np.atleast_1d(np.asarray(beta, dtype=float)).reshape(-1)
    mean = digamma(a) - digamma(b)
    sd = np.sqrt(polygamma(1, a) + polygamma(1, b))
    lo = np.maximum(mean - width * sd, np.minimum(span[0], mean - 1.0))
    hi = np.minimum(mean + width * sd, np.maximum(span[1], mean + 1.0))
    count = NODES
    if max_step is not None:
        count = max(count, int(np.ceil(float(np.max(hi - lo)) / max_step)) + 1)
    t = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, count)[None, :]
    dens = np.exp(a[:, None] * log_expit(t) + b[:, None] * log_expit(-t) - betaln(a, b)[:, None])
    step = (hi - lo) / (count - 1)
    w = dens * step[:, None]
    w[:, 0] *= 0.5
    w[:, -1] *= 0.5
    w[:, 0] += betainc(a, b, expit(t[:, 0]))
    w[:, -1] += betainc(b, a, expit(-t[:, -1]))
    weights: FloatArray = w / w.sum(axis=1, keepdims=True)
    nodes: FloatArray = t
    return nodes, weights


def beta_miss(params: FloatArray, k: FloatArray, chunk: int = 2_000_000) -> FloatArray:
    """E_u[(1 - scale u)^k] for each parameter row and k: shape (..., K), without the zero mass.

    Rows with ``scale = 1``: the closed form B(alpha, beta + k) / B(alpha, beta); others by
    quadrature on :func:`beta_nodes`.
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
        t, w = beta_nodes(a2[rows], b2[rows])  # (R, G)
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


BETA = CurveForm(
    name="beta",
    param_names=("alpha", "beta", "scale", "zero"),
    evaluate=_beta,
    formula=(
        "coverage(k) = (1 - zero) * (1 - E[(1 - scale*u)^k]), u ~ Beta(alpha, beta); "
        "p = 0 with probability zero"
    ),
    source="Schaeffer et al., ICML 2025, Eq. 11 (scaled Beta-Binomial), with a point mass at zero",
)
