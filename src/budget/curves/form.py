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
