"""Coverage curves: the shared representation every fitter produces.

A coverage curve maps a number of samples per problem ``k`` to the expected share of
problems solved by at least one of ``k`` samples (with a verifier that recognises a
correct sample).  A curve is a *form* (a parametric family, see :data:`FORMS`), a point
estimate of its parameters, and optional bootstrap draws of those parameters from which
intervals are read.  Curves are pure data: they serialise to JSON and to the store.
"""

from __future__ import annotations

import functools
import importlib
import zlib
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


@functools.lru_cache(maxsize=256)
def _normal_scores(count: int, key: int, which: int) -> FloatArray:
    """Phi^-1((r + 1/2) / count) for r < count, permuted by a generator seeded with (key, which).

    Cached (a plan reads each curve's draws at many k); read-only, so callers cannot change it.
    """
    scores: FloatArray = _normal_quantiles(count)[np.random.default_rng([key, which]).permutation(count)]
    scores.flags.writeable = False
    return scores


@functools.lru_cache(maxsize=16)
def _normal_quantiles(count: int) -> FloatArray:
    """Phi^-1((r + 1/2) / count) for r < count, in order (cached, read-only)."""
    from statistics import NormalDist  # here, not at import: the plan's start-up path

    inv = NormalDist().inv_cdf
    z: FloatArray = np.array([inv((r + 0.5) / count) for r in range(count)])
    z.flags.writeable = False
    return z


def register_form(form: CurveForm) -> CurveForm:
    """Add a form to :data:`FORMS` (idempotent for the same name); for forms outside the package."""
    FORMS.add(form)
    return form


class FixedTaskSpread(BaseModel):
    """How a fitted curve's draws become an interval for a *fixed* set of problems (issue 11).

    With this set, :attr:`CoverageCurve.draws` are a fixed-problem bootstrap (the task's own
    problems, counts redrawn from each problem's posterior; :mod:`budget.curves.spread`).  At
    each k, draw ``r`` is centred on the point and moved by the form's own error, each part
    on the scale it is measured on::

        c_r(k)        = point(k) + (D_r(k) - mean_r D_r(k))              (clipped to [0, 1])
        c'_r(k)       = exp(-exp(log(-log c_r(k)) + z_r misfit(k)))         (0 < c_r < 1)
        coverage_r(k) = c'_r(k) + [k > measured_k] w_r disagreement(k)   (clipped to [0, 1])

    ``D_r`` is the draw's own curve (its spread around the point is the sampling noise of
    these problems); ``z_r`` and ``w_r`` are two independent sets of fixed standard-normal
    scores (one each per draw, the same at every k, in orders fixed by (model, task)).
    ``misfit(k)`` is the root mean square of the fit's residuals in y = log(-log coverage)
    (the scale Brown et al. fit on; relative, so it never pushes a small coverage below 0),
    ``misfit`` (fitted minus measured) at the points ``misfit_k``, over those within a
    factor of 10 of k (k held inside the fitted range): a form that does not pass through
    its own data is off by about that much there.  ``disagreement(k)`` is the spread
    (coverage) of the candidate forms fitted to the same counts, tabulated at
    ``disagreement_k`` (interpolated in log k, held past the ends): past ``measured_k`` (the
    largest k measured for every problem) the forms extrapolate, and their disagreement is
    the size of the model error no bootstrap sees.  Tables, not the forms themselves, so that
    reading a curve needs no other form (the plan's start-up path loads no scipy).
    """

    model_config = ConfigDict(frozen=True)

    measured_k: int
    misfit_k: list[float]
    misfit: list[float]
    disagreement_k: list[float] = Field(default_factory=list)
    disagreement: list[float] = Field(default_factory=list)

    def local_misfit(self, k: FloatArray) -> FloatArray:
        """misfit(k): root mean square of the y residuals within a decade of each k (0 without any)."""
        kk = np.asarray(k, dtype=float)
        if not self.misfit_k:
            return np.zeros_like(kk)
        at = np.log10(np.asarray(self.misfit_k, dtype=float))
        res2 = np.asarray(self.misfit, dtype=float) ** 2
        lk = np.clip(np.log10(np.maximum(kk, 1.0)), at.min(), at.max())
        near = np.abs(at[None, :] - lk[:, None]) <= 1.0
        out: FloatArray = np.sqrt((near * res2[None, :]).sum(axis=1) / np.maximum(near.sum(axis=1), 1))
        return out

    def beyond(self, k: FloatArray) -> FloatArray:
        """disagreement(k) where k > measured_k, else 0 (coverage)."""
        kk = np.asarray(k, dtype=float)
        if not self.disagreement_k:
            return np.zeros_like(kk)
        dis = np.interp(np.log10(np.maximum(kk, 1.0)), np.log10(self.disagreement_k), self.disagreement)
        out: FloatArray = np.where(kk > self.measured_k, dis, 0.0)
        return out


class CoverageCurve(BaseModel):
    """A fitted or published coverage curve for one (model, task).

    ``params`` is the point estimate; ``draws`` holds bootstrap draws of the parameter
    vector (rows, in the order of the form's ``param_names``) from which intervals come.
    ``max_observed_k`` is the largest k backed by data: predictions beyond it extrapolate.
    ``spread`` (fitted curves) says how the draws and the form's own error make the interval
    (:class:`FixedTaskSpread`); without it the draws are read as they are (a bootstrap over
    problems: published curves, curves stored before issue 11's intervals).
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
    spread: FixedTaskSpread | None = None

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

        With a ``spread`` (fitted curves), each draw is read as :class:`FixedTaskSpread` says:
        centred on the point and moved by the form's own error.  Without draws, the point
        estimate as a single row (an interval of zero width).
        """
        kk = np.atleast_1d(np.asarray(k, dtype=float))
        if not self.draws:
            return self.coverage(kk)[None, :]
        raw: FloatArray = self._form().evaluate(np.asarray(self.draws, dtype=float), kk)
        if self.spread is None:
            return raw
        point = self.coverage(kk)
        centred = np.clip(point + (raw - raw.mean(axis=0)), 0.0, 1.0)
        z, w = self._scores(raw.shape[0], 0), self._scores(raw.shape[0], 1)
        shift = z[:, None] * self.spread.local_misfit(kk)[None, :]
        inside = (centred > 0) & (centred < 1)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            moved = np.exp(-np.exp(np.log(-np.log(np.where(inside, centred, 0.5))) + shift))
        spread = w[:, None] * self.spread.beyond(kk)[None, :]
        out: FloatArray = np.clip(np.where(inside, moved, centred) + spread, 0.0, 1.0)
        return np.where(kk > 0, out, 0.0)

    def _scores(self, count: int, which: int = 0) -> FloatArray:
        """Standard-normal scores Phi^-1((r + 1/2) / count), in an order fixed by (model, task, which)."""
        return _normal_scores(count, zlib.crc32(f"{self.model}\0{self.task}".encode()), which)

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
