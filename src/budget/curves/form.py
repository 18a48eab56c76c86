"""Curve forms: the parametric families a coverage curve can take, and the power law.

A :class:`CurveForm` is a name, its parameters and a vectorised ``evaluate``.  This module
holds what every form module needs (it imports nothing of budget); the forms themselves are
:data:`POWER_LAW` (here), ``beta`` (:mod:`budget.curves.forms`) and ``zero_success_bound``
(:mod:`budget.curves.bounds`), listed by name in :data:`budget.curves.base.FORMS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CurveForm:
    """A parametric family of coverage curves.

    ``evaluate(params, k)`` takes ``params`` of shape ``(..., P)`` (columns in the order of
    ``param_names``) and ``k`` of shape ``(K,)`` and returns coverage of shape ``(..., K)``,
    in [0, 1] and non-decreasing in ``k``, with coverage(0) = 0.
    """

    name: str
    param_names: tuple[str, ...]
    evaluate: Callable[[FloatArray, FloatArray], FloatArray]
    formula: str
    source: str


def _power_law(params: FloatArray, k: FloatArray) -> FloatArray:
    """Brown et al. 2024, "Large Language Monkeys", Eq. 2-3: coverage(k) = exp(a * k^b).

    With a < 0 and b < 0, -log coverage = -a * k^b falls as a power law in k.  Schaeffer
    et al. (ICML 2025) write the same law as -log pass@k = a' * k^(-b') (a' = -a, b' = -b).
    """
    p = np.asarray(params, dtype=float)
    a = p[..., 0:1]
    b = p[..., 1:2]
    kk = np.asarray(k, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        out = np.exp(a * np.power(np.where(kk > 0, kk, 1.0), b))
    return np.where(kk > 0, np.clip(out, 0.0, 1.0), 0.0)


POWER_LAW = CurveForm(
    name="power_law",
    param_names=("a", "b"),
    evaluate=_power_law,
    formula="coverage(k) = exp(a * k^b), a < 0, b < 0",
    source='Brown et al. 2024, "Large Language Monkeys", Eqs. 2-3',
)


def power_law_lsq(
    k: FloatArray, coverage: FloatArray, weights: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Brown et al.'s least-squares fit of coverage = exp(a k^b), per row (the one implementation).

    Brown et al. 2024 ("Large Language Monkeys", Eq. 3, App. C.1): ``y = log(-log coverage)``
    is linear in ``x = log k``, ``y = log(-a) + b x``, so weighted least squares gives
    ``b = sum w (x - xm)(y - ym) / sum w (x - xm)^2`` and ``a = -exp(ym - b xm)`` with the
    weighted means ``xm``, ``ym``.  ``k`` has shape (K,); ``coverage`` (R, K) with values in
    (0, 1) wherever a point has weight; ``weights`` (K,) or (R, K), default equal; a point of
    weight 0 is left out of its row.  Returns ``a`` and ``b`` (R,); a row with fewer than two
    distinct weighted k is NaN.  Used by the catalog's published curves
    (:mod:`budget.curves.published`) and the ``power_law_lsq`` fitter of counts
    (:mod:`budget.curves.estimators`).
    """
    x = np.log(np.asarray(k, dtype=float))[None, :]
    c = np.atleast_2d(np.asarray(coverage, dtype=float))
    w = np.ones_like(c) if weights is None else np.broadcast_to(np.asarray(weights, dtype=float), c.shape)
    used = w > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(used, np.log(-np.log(np.where(used, c, 0.5))), 0.0)
        total = w.sum(axis=1)
        xm = (w * x).sum(axis=1) / total
        ym = (w * y).sum(axis=1) / total
        xc = np.where(used, x - xm[:, None], 0.0)
        b = (w * xc * (y - ym[:, None])).sum(axis=1) / (w * xc * xc).sum(axis=1)
        a = -np.exp(ym - b * xm)
    return a, b
