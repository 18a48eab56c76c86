"""Use case: fit coverage curves to a counts file (``budget fit``).

COUNTS is a CSV with columns ``model, problem_id, num_samples, num_correct`` (and
optionally ``dataset``).  Each model's rows are fitted by :func:`budget.curves.fit_counts`;
the result carries, per model, the fitter chosen out of sample, its parameters, predicted
coverage with a 90% interval at each requested k, the observed pass@k, and warnings.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from budget.curves import CoverageCurve
from budget.errors import DataError, InputError

SCHEMA_VERSION = 1
#: The most samples of one problem a counts file may report: the bootstrap resamples each
#: problem's samples with numpy's hypergeometric sampler, which takes populations below 10^9.
MAX_NUM_SAMPLES = 10**9 - 1

REQUIRED = ("model", "problem_id", "num_samples", "num_correct")
DEFAULT_PREDICT = (1, 10, 100, 1_000, 10_000)
LEVEL = 0.9


class FitRequest(BaseModel):
    """What ``budget fit`` was asked."""

    model_config = ConfigDict(frozen=True)

    counts: Path
    predict: list[int] = Field(default_factory=lambda: list(DEFAULT_PREDICT))
    task: str | None = None
    seed: int = 0
    fitter: str | None = None


class Prediction(BaseModel):
    k: int
    coverage: float
    interval: tuple[float, float]
    extrapolation: float = Field(description="k / max_observed_k")


class Observed(BaseModel):
    k: int
    pass_at_k: float


class ModelFit(BaseModel):
    model: str
    task: str
    fitter: str
    form: str
    formula: str
    params: dict[str, float]
    n_problems: int
    max_observed_k: int
    predictions: list[Prediction]
    observed: list[Observed]
    scores: dict[str, float] = Field(
        default_factory=dict, description="out-of-sample error of each candidate fitter (coverage, 0-1)"
    )
    warnings: list[str] = Field(default_factory=list)
    curve: CoverageCurve


class FitResult(BaseModel):
    schema_version: int = SCHEMA_VERSION
    counts: str
    interval_level: float = LEVEL
    models: list[ModelFit]


class ModelCounts(BaseModel):
    """One model's per-problem counts from the file."""

    model: str
    task: str
    num_samples: list[int]
    num_correct: list[int]


def _int(value: str, column: str, line: int, path: Path) -> int:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        raise DataError(f"{path.name} line {line}: {column} {text!r} is not a number") from None
    if not np.isfinite(number) or number != int(number):
        raise DataError(f"{path.name} line {line}: {column} {text!r} is not a whole number")
    if number < 0:
        raise DataError(f"{path.name} line {line}: {column} is negative ({text})")
    return int(number)


def read_counts(path: Path, task: str | None = None) -> list[ModelCounts]:
    """Read and check a counts CSV; one entry per model, in file order."""
    if not path.exists():
        raise InputError(f"counts file not found: {path}")
    if not path.is_file():
        raise InputError(f"counts path is not a file: {path}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            if not header:
                raise DataError(f"{path.name} is empty")
            missing = [col for col in REQUIRED if col not in header]
            if missing:
                raise DataError(
                    f"{path.name} lacks column(s) {', '.join(missing)} (have: {', '.join(header)})"
                )
            rows = [{(k or "").strip(): (v or "") for k, v in r.items()} for r in reader]
    except UnicodeDecodeError:
        raise DataError(f"{path.name} is not a UTF-8 text file") from None
    if not rows:
        raise DataError(f"{path.name} has a header but no rows")
    by_model: dict[str, ModelCounts] = {}
    seen: set[tuple[str, str]] = set()
    for line, r in enumerate(rows, start=2):
        model = r["model"].strip()
        pid = r["problem_id"].strip()
        if not model or not pid:
            raise DataError(f"{path.name} line {line}: empty model or problem_id")
        n = _int(r["num_samples"], "num_samples", line, path)
        c = _int(r["num_correct"], "num_correct", line, path)
        if n == 0:
            raise DataError(f"{path.name} line {line}: num_samples is 0")
        if n > MAX_NUM_SAMPLES:
            raise DataError(
                f"{path.name} line {line}: num_samples {r['num_samples'].strip()} "
                f"is above {MAX_NUM_SAMPLES:,}"
            )
        if c > n:
            raise DataError(f"{path.name} line {line}: num_correct {c} exceeds num_samples {n}")
        if (model, pid) in seen:
            raise DataError(f"{path.name} line {line}: problem {pid} of {model} appears twice")
        seen.add((model, pid))
        if model not in by_model:
            name = task or r.get("dataset", "").strip() or path.stem
            by_model[model] = ModelCounts(model=model, task=name, num_samples=[], num_correct=[])
        by_model[model].num_samples.append(n)
        by_model[model].num_correct.append(c)
    return list(by_model.values())


def _fit_one(counts: ModelCounts, request: FitRequest) -> ModelFit:
    from budget.curves import FORMS
    from budget.curves.passk import pass_at_k
    from budget.curves.selection import extrapolation_note, fit_counts_detailed

    n = np.asarray(counts.num_samples, dtype=float)
    c = np.asarray(counts.num_correct, dtype=float)
    if c.sum() == 0:
        raise DataError(f"{counts.model}: no problem was ever solved; there is no curve to fit")
    outcome = fit_counts_detailed(counts.model, counts.task, n, c, seed=request.seed, fitter=request.fitter)
    curve = outcome.curve
    ks = np.array(sorted(set(request.predict)), dtype=float)
    point = curve.coverage(ks)
    lo, hi = curve.interval(ks, LEVEL)
    warnings = [w for w in (extrapolation_note(curve, k) for k in ks) if w]
    if n.min() != n.max():
        warnings.append(f"problems have unequal sample counts ({int(n.min())} to {int(n.max())})")
    obs_k = [int(k) for k in (1, 10, 100, 1_000, 10_000, 100_000) if k <= n.min()]
    observed = pass_at_k(n, c, obs_k)
    return ModelFit(
        model=counts.model,
        task=counts.task,
        fitter=outcome.fitter,
        scores={s.fitter: s.error for s in outcome.scores},
        form=curve.form,
        formula=FORMS[curve.form].formula,
        params=curve.params,
        n_problems=int(n.size),
        max_observed_k=int(n.max()),
        predictions=[
            Prediction(
                k=int(k),
                coverage=float(p),
                interval=(float(min(a, p)), float(max(b, p))),
                extrapolation=curve.extrapolation(k),
            )
            for k, p, a, b in zip(ks, point, lo, hi, strict=True)
        ],
        observed=[Observed(k=k, pass_at_k=float(v)) for k, v in zip(obs_k, observed, strict=True)],
        warnings=[*curve.notes, *warnings],
        curve=curve,
    )


def fit_file(request: FitRequest) -> FitResult:
    """Fit every model of the counts file named by ``request``."""
    if any(k < 1 for k in request.predict):
        raise InputError("--predict values must be at least 1")
    if request.fitter is not None:
        from budget.curves.estimators import fitter_by_name

        fitter_by_name(request.fitter)
    models = read_counts(request.counts, request.task)
    return FitResult(counts=str(request.counts), models=[_fit_one(m, request) for m in models])
