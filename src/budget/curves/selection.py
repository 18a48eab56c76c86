"""From counts to a :class:`CoverageCurve`: choose a fitter out of sample, bootstrap, warn.

Choosing a fitter by how well it fits the points it was fitted on rewards flexibility, not
extrapolation.  Instead each candidate is scored by a backtest *inside* the data, the same
experiment the user's question is about: from each problem's ``n_i`` samples draw
``n_i / f`` without replacement (hypergeometric), fit on those, predict coverage at k = 1
and at k *beyond the fitted range* -- log-spaced from ``2 min(n_i / f)`` to ``min n_i``
(:func:`target_ks`) -- and compare with the unbiased pass@k of the full data there.  (Issue
11: scoring pass@(min n) alone could not tell fitters apart when it is near 1 for all of
them.)  The score averages the absolute error over those k, ``f`` in :data:`SPLITS` and a
few seeds (a subsample that solves fewer than :data:`MIN_SOLVED` problems is no evidence
and is skipped).  The default is the simplest fitter, Brown et al.'s power law; another
replaces it only when it is better by more than one standard error of the paired
difference of errors, at every fraction ``f`` with evidence (the one-standard-error rule;
Hastie, Tibshirani & Friedman, Elements of Statistical Learning, Sec. 7.10) -- a 2-10x
internal extrapolation is a noisy proxy for the 10-100x one users ask about, and on the
pythia backtest (BENCHMARKS.md) switching on a bare minimum cost accuracy.

Intervals are for the task fitted -- the same problems, sampled more, which is what a plan
runs -- not for a new draw of problems (issue 11 item 4): a fixed-problem bootstrap (each
problem's count redrawn from its posterior under the zero-mass Beta-Binomial, the chosen
form refitted to the redrawn counts) for the sampling noise, plus the form's own error: its
residuals inside the data and, past the largest k measured for every problem, the
disagreement of the candidate forms (weighted by their internal-backtest errors); see
:mod:`budget.curves.spread` and :class:`budget.curves.base.FixedTaskSpread`.  Every
replicate is kept: one that solves nothing is a curve at 0, not a failure (issue 11 item 3).
The bootstrap over problems this replaced held the truth in 100% of pythia backtests at
m = 1,000 with 12 points of width (the spread of other problems, which a fixed task does not
have); the fixed-task interval holds it in 92% at 8.4 points (BENCHMARKS.md, "Curves").

``max_observed_k`` is the largest k measured for at least half of the problems
(:func:`observed_k`): ``n`` when every problem has ``n`` samples.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

from budget.curves.base import FORMS, CoverageCurve
from budget.curves.bounds import N_DRAWS as BOUND_DRAWS
from budget.curves.bounds import ZERO_SUCCESS_BOUND
from budget.curves.estimators import FITTERS, Fitter, fitter_by_name
from budget.curves.form import FloatArray
from budget.curves.passk import _validate, pass_at_k
from budget.curves.posterior import PRIOR_FITTER as ZERO_BETA_FITTER
from budget.curves.posterior import observed_k
from budget.curves.spread import fixed_task_counts, fixed_task_spread

#: Subsampling fractions 1/f of the internal backtest.
SPLITS: tuple[int, ...] = (4, 10)
#: Seeds per split.
SPLIT_SEEDS = 3
#: Fewest problems a subsample must solve to count as evidence.
MIN_SOLVED = 10
#: Fixed-problem bootstrap replicates for intervals.
N_BOOT = 200
#: The fitter kept unless another is clearly better out of sample.
DEFAULT_FITTER = "power_law_lsq"
#: A prediction beyond this multiple of the largest observed k gets a warning note.
FAR = 10.0


class FitterScore(BaseModel):
    """Out-of-sample error of one fitter on the internal backtest (coverage points)."""

    model_config = ConfigDict(frozen=True)

    fitter: str
    error: float
    chosen: bool = False


def _evaluate(fitter: Fitter, params: FloatArray, k: FloatArray) -> FloatArray:
    out: FloatArray = FORMS[fitter.form].evaluate(np.atleast_2d(params), k)
    return out


def backtest_errors(
    n: FloatArray, c: FloatArray, fitters: list[Fitter], rng: np.random.Generator
) -> dict[int, dict[str, list[float]]]:
    """Absolute errors of each fitter predicting pass@k beyond a subsample of n / f, per f.

    A subsample in which fewer than :data:`MIN_SOLVED` problems are solved says little
    about a curve's shape and is skipped.
    """
    out: dict[int, dict[str, list[float]]] = {}
    for f in SPLITS:
        m = np.floor(n / f)
        if m.min() < 2:
            continue
        target_k = target_ks(m.min(), n.min())
        truth = pass_at_k(n, c, target_k)
        for _ in range(SPLIT_SEEDS):
            drawn = rng.hypergeometric(c.astype(np.int64), (n - c).astype(np.int64), m.astype(np.int64))
            sub: FloatArray = drawn.astype(float)
            if int((sub > 0).sum()) < MIN_SOLVED:
                continue
            errs = out.setdefault(f, {fitter.name: [] for fitter in fitters})
            for fitter in fitters:
                point = fitter.fit(m, sub)
                if np.all(np.isfinite(point)):
                    err = float(np.mean(np.abs(_evaluate(fitter, point, target_k)[0] - truth)))
                else:
                    err = 1.0
                errs[fitter.name].append(err)
    return out


def target_ks(fitted_k: float, full_k: float, count: int = 3) -> FloatArray:
    """The k an internal backtest scores: k = 1 (where a wrong form shows first, and which a
    plan may use) and ``count`` k log-spaced in [2 x the fitted range, the full data].
    """
    lo = min(2.0 * fitted_k, full_k)
    out: FloatArray = np.unique(np.concatenate([[1.0], np.round(np.geomspace(lo, full_k, count))]))
    return out


def _gain(base: FloatArray, other: FloatArray) -> float:
    """Mean paired reduction of error minus one standard error (-inf with under two pairs)."""
    diff = base - other
    if diff.size < 2:
        return -np.inf
    return float(diff.mean() - diff.std(ddof=1) / np.sqrt(diff.size))


def choose(errors: dict[int, dict[str, list[float]]], default: str) -> str:
    """The default fitter unless another beats it by more than one standard error (paired)
    at every subsampling fraction with data; then the one with the largest overall gain.
    """
    best, best_gain = default, 0.0
    names = {name for per in errors.values() for name in per}
    for name in sorted(names - {default}):
        per_split = [
            _gain(np.asarray(per[default], dtype=float), np.asarray(per[name], dtype=float))
            for per in errors.values()
        ]
        if not per_split or min(per_split) <= 0:
            continue
        base = np.concatenate([np.asarray(per[default], dtype=float) for per in errors.values()])
        other = np.concatenate([np.asarray(per[name], dtype=float) for per in errors.values()])
        gain = _gain(base, other)
        if gain > best_gain:
            best, best_gain = name, gain
    return best


class FitOutcome(BaseModel):
    """A fitted curve with the fitter that made it and the backtest scores behind the choice."""

    model_config = ConfigDict(frozen=True)

    curve: CoverageCurve
    fitter: str
    scores: list[FitterScore]


def fit_counts_detailed(
    model: str,
    task: str,
    num_samples: ArrayLike,
    num_correct: ArrayLike,
    *,
    seed: int = 0,
    fitter: str | None = None,
    n_boot: int = N_BOOT,
) -> FitOutcome:
    """:func:`fit_counts`, also saying which fitter was used and how the candidates scored."""
    n, c = _validate(num_samples, num_correct)
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    scores: dict[str, float] = {}
    if fitter is not None:
        chosen = fitter_by_name(fitter)
    else:
        errors = backtest_errors(n, c, list(FITTERS.values()), rng)
        flat = {f.name: [e for per in errors.values() for e in per[f.name]] for f in FITTERS.values()}
        scores = {k: float(np.mean(v)) for k, v in flat.items() if v}
        chosen = FITTERS[choose(errors, DEFAULT_FITTER)]
        notes.append(
            "fitter chosen by a backtest inside the data (fit on "
            + " and ".join(f"1/{f}" for f in SPLITS)
            + f" of each problem's samples, predict pass@k up to k = {int(n.min())};"
            + " one-standard-error rule): "
            + ", ".join(f"{k} {100 * v:.2f} pts" for k, v in scores.items())
        )
    points = {f.name: (f, f.fit(n, c)) for f in {**FITTERS, chosen.name: chosen}.values()}
    point = points[chosen.name][1]
    if not np.all(np.isfinite(point)):
        from budget.errors import DataError

        raise DataError(
            f"{model}: pass@k is 0 or 1 at nearly every k (too few problems solved, or all samples"
            f" correct); there is no curve shape to fit ({chosen.name})"
        )
    counts = fixed_task_counts(n, c, points[ZERO_BETA_FITTER][1], n_boot, rng)
    draws = chosen.refit(n, c, counts) if n_boot else np.empty((0, point.size))
    spread = fixed_task_spread(chosen, points, n, c, scores)
    ok = np.all(np.isfinite(draws), axis=1)
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} of {len(draws)} bootstrap replicates could not be fitted")
    if n.min() == n.max():
        reach = f"data reach k = {int(n.min()):,} samples per problem"
    else:
        reach = (
            f"problems have {int(n.min()):,} to {int(n.max()):,} samples: pass@k is measured for every"
            f" problem up to k = {int(n.min()):,} and for at least half of them up to k = {observed_k(n):,}"
            " (past its own n, a problem's pass@k is its posterior mean under the fitted rate distribution)"
        )
    far_k = int(FAR * observed_k(n))
    notes.append(f"{reach}; predictions past {FAR:.0f}x that (k > {far_k:,}) extrapolate the fitted form")
    form = FORMS[chosen.form]
    curve = CoverageCurve(
        model=model,
        task=task,
        form=chosen.form,
        params={name: float(v) for name, v in zip(form.param_names, point, strict=True)},
        draws=draws[ok].tolist(),
        max_observed_k=observed_k(n),
        n_problems=int(n.size),
        source=f"fitted to per-problem counts by {chosen.name}: {chosen.description}",
        notes=notes,
        spread=spread,
    )
    return FitOutcome(
        curve=curve,
        fitter=chosen.name,
        scores=[FitterScore(fitter=k, error=v, chosen=k == chosen.name) for k, v in scores.items()],
    )


def fit_counts(
    model: str,
    task: str,
    num_samples: ArrayLike,
    num_correct: ArrayLike,
    *,
    seed: int = 0,
    fitter: str | None = None,
    n_boot: int = N_BOOT,
) -> CoverageCurve:
    """Fit a coverage curve to per-problem counts, with intervals for this task (module docstring).

    ``fitter`` forces one of :data:`~budget.curves.estimators.FITTERS`; by default the one
    with the smallest out-of-sample error on the internal backtest is used.  The curve's
    notes record the scores and the choice.
    """
    return fit_counts_detailed(
        model, task, num_samples, num_correct, seed=seed, fitter=fitter, n_boot=n_boot
    ).curve


def extrapolation_note(curve: CoverageCurve, k: float) -> str | None:
    """A warning when k lies far past the data (more than :data:`FAR` x max_observed_k)."""
    ratio = curve.extrapolation(k)
    if ratio > FAR:
        return (
            f"k = {int(k):,} is {ratio:,.0f}x the largest observed k ({curve.max_observed_k:,}): "
            + (
                "an extrapolation; the interval adds the candidate forms' disagreement there,"
                " which misses an error they all share"
                if curve.spread is not None
                else "an extrapolation; the interval covers sampling noise, not a wrong curve shape"
            )
        )
    return None


def zero_success_curve(model: str, task: str, num_samples: ArrayLike) -> CoverageCurve:
    """The bound curve for a model with no success in ``num_samples`` samples of each problem."""
    n = np.asarray(num_samples, dtype=float)
    exposure = float(n.size * n.min())
    q = np.arange(BOUND_DRAWS) / (BOUND_DRAWS - 1)
    q[q > 0.9] = 1.0  # the interval's lower end is 0, the point (see the module docstring)
    return CoverageCurve(
        model=model,
        task=task,
        form=ZERO_SUCCESS_BOUND.name,
        params={"exposure": exposure, "level_q": 1.0},
        draws=[[exposure, float(v)] for v in q],
        max_observed_k=int(n.min()),
        n_problems=int(n.size),
        source=f"no success in {int(n.sum()):,} samples of {n.size} problems: an upper bound, not a fit",
        notes=[
            f"no problem was ever solved: coverage is taken as 0 (conservative); its upper bound at"
            f" 95% confidence is 1 - 0.05^(k / {exposure:,.0f}),"
            f" e.g. {100 * (1 - 0.05 ** (1 / exposure)):.3g}%"
            f" at k = 1 and {100 * (1 - 0.05 ** (int(n.min()) / exposure)):.3g}% at k = {int(n.min()):,}"
        ],
    )
