"""Coverage curves: the shared representation every fitter produces.

A coverage curve maps a number of samples per problem ``k`` to the expected share of
problems solved by at least one of ``k`` samples (with a verifier that recognises a
correct sample).  A curve is a *form* (a parametric family, see :data:`FORMS`), a point
estimate of its parameters, and optional bootstrap draws of those parameters from which
intervals are read.  Curves are pure data: they serialise to JSON and to the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field

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

#: Registry of curve forms by name.  Fitters add their own forms here at import.
FORMS: dict[str, CurveForm] = {POWER_LAW.name: POWER_LAW}


def register_form(form: CurveForm) -> CurveForm:
    """Add a form to :data:`FORMS` (idempotent for the same name)."""
    FORMS[form.name] = form
    return form


class CoverageCurve(BaseModel):
    """A fitted or published coverage curve for one (model, task).

    ``params`` is the point estimate; ``draws`` holds bootstrap draws of the parameter
    vector (rows, in the order of the form's ``param_names``) from which intervals come.
    ``max_observed_k`` is the largest k backed by data: predictions beyond it extrapolate.
    """

    model_config = ConfigDict(frozen=True)

    model: str
    task: str
    form: str
    params: dict[str, float]
    draws: list[list[float]] = Field(default_factory=list)
    max_observed_k: int | None = None
    n_problems: int | None = None
    source: str = ""
    notes: list[str] = Field(default_factory=list)

    def _form(self) -> CurveForm:
        if self.form not in FORMS:
            # Forms fitted from counts live in budget.curves.forms, imported only when a
            # curve needs one (the planner's start-up path imports just this module).
            import budget.curves.bounds
            import budget.curves.forms  # noqa: F401
        try:
            return FORMS[self.form]
        except KeyError:
            from budget.errors import DataError

            raise DataError(f"curve for {self.model} uses unknown form {self.form!r}") from None

    def param_vector(self) -> FloatArray:
        form = self._form()
        return np.array([self.params[n] for n in form.param_names], dtype=float)

    def coverage(self, k: ArrayLike) -> FloatArray:
        """Point estimate of coverage at each k (array in, array out)."""
        kk = np.atleast_1d(np.asarray(k, dtype=float))
        out: FloatArray = self._form().evaluate(self.param_vector()[None, :], kk)[0]
        return out

    def coverage_draws(self, k: ArrayLike) -> FloatArray:
        """Coverage under each bootstrap draw: shape (draws, len(k)).

        Without draws, the point estimate as a single row (an interval of zero width).
        """
        kk = np.atleast_1d(np.asarray(k, dtype=float))
        if not self.draws:
            return self.coverage(kk)[None, :]
        return self._form().evaluate(np.asarray(self.draws, dtype=float), kk)

    def interval(self, k: ArrayLike, level: float = 0.9) -> tuple[FloatArray, FloatArray]:
        """Equal-tailed ``level`` interval of coverage at each k, from the draws."""
        d = self.coverage_draws(k)
        lo = np.quantile(d, (1 - level) / 2, axis=0)
        hi = np.quantile(d, 1 - (1 - level) / 2, axis=0)
        return lo, hi

    def extrapolation(self, k: float) -> float:
        """How far past the data k lies (k / max_observed_k; 0 when unknown)."""
        if not self.max_observed_k:
            return 0.0
        return float(k) / float(self.max_observed_k)

    def summary(self) -> dict[str, Any]:
        return {"model": self.model, "task": self.task, "form": self.form, "params": self.params}
