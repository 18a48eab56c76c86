"""Coverage curves: the shared representation every fitter produces.

A coverage curve maps a number of samples per problem ``k`` to the expected share of
problems solved by at least one of ``k`` samples (with a verifier that recognises a
correct sample).  A curve is a *form* (a parametric family, see :data:`FORMS`), a point
estimate of its parameters, and optional bootstrap draws of those parameters from which
intervals are read.  Curves are pure data: they serialise to JSON and to the store.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field

from budget.curves.form import POWER_LAW, CurveForm, FloatArray

#: Every curve form by name, and where it is defined (module, attribute).  The power law comes
#: with this module; the others load on first use, so that ``budget plan``'s start-up path
#: (which imports just this module) does not pay for scipy.  A new form is listed here; a
#: form from outside the package (a plug-in, a test) is added with :func:`register_form`.
FORM_HOMES: dict[str, tuple[str, str]] = {
    POWER_LAW.name: ("budget.curves.form", "POWER_LAW"),
    "beta": ("budget.curves.forms", "BETA"),
    "zero_success_bound": ("budget.curves.bounds", "ZERO_SUCCESS_BOUND"),
}


class FormRegistry(Mapping[str, CurveForm]):
    """The curve forms by name (:data:`FORM_HOMES`, loaded on first use, plus registered ones)."""

    def __init__(self) -> None:
        self._loaded: dict[str, CurveForm] = {POWER_LAW.name: POWER_LAW}

    def __getitem__(self, name: str) -> CurveForm:
        if name not in self._loaded and name in FORM_HOMES:
            module, attribute = FORM_HOMES[name]
            form = getattr(importlib.import_module(module), attribute)
            assert isinstance(form, CurveForm) and form.name == name, (name, module, attribute)
            self._loaded[name] = form
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*FORM_HOMES, *self._loaded]))

    def __len__(self) -> int:
        return len(set(FORM_HOMES) | set(self._loaded))

    def add(self, form: CurveForm) -> None:
        """Add a form from outside the package (idempotent for the same name)."""
        self._loaded[form.name] = form


FORMS = FormRegistry()


def register_form(form: CurveForm) -> CurveForm:
    """Add a form to :data:`FORMS` (idempotent for the same name); for forms outside the package."""
    FORMS.add(form)
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
        try:
            return FORMS[self.form]
        except KeyError:
            from budget.errors import DataError

            raise DataError(f"curve for {self.model} uses unknown form {self.form!r}") from None

    def param_vector(self) -> FloatArray:
        """The point estimate as a vector, in the order of the form's ``param_names``."""
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
        """Model, task, form and parameters, for logs and reports."""
        return {"model": self.model, "task": self.task, "form": self.form, "params": self.params}
