"""Use case: fit coverage curves to a counts file (``budget fit``).

COUNTS is a CSV with columns ``model, problem_id, num_samples, num_correct`` (and
optionally ``dataset``).  Each model's rows are fitted by :func:`budget.curves.fit_counts`;
the result carries, per model, the fitter chosen out of sample, its parameters, predicted
coverage with a 90% interval at each requested k, the observed pass@k, and warnings.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from budget.curves import CoverageCurve
from budget.errors import DataError, InputError
from budget.report.text import name_fault
from budget.service.progress import Step, StepCallback

if TYPE_CHECKING:
    from budget.store import Store

SCHEMA_VERSION = 1
#: The most samples of one problem a counts file may report: the bootstrap resamples each
#: problem's samples with numpy's hypergeometric sampler, which takes populations below 10^9.
MAX_NUM_SAMPLES = 10**9 - 1

REQUIRED = ("model", "problem_id", "num_samples", "num_correct")
DEFAULT_PREDICT = (1, 10, 100, 1_000, 10_000)
LEVEL = 0.9
#: The "fitter" of a model that never succeeded: the zero-success upper bound.
BOUND_FITTER = "zero_success_bound"


class FitRequest(BaseModel):
    """What ``budget fit`` was asked."""

    model_config = ConfigDict(frozen=True)

    counts: Path
    predict: list[int] = Field(default_factory=lambda: list(DEFAULT_PREDICT))
    task: str | None = None
    seed: int = 0
    fitter: str | None = None


class Prediction(BaseModel):
    """Predicted coverage at ``k`` with its interval and how far it extrapolates."""
    k: int
    coverage: float
    interval: tuple[float, float]
    extrapolation: float = Field(description="k / max_observed_k")


class Observed(BaseModel):
    """The unbiased pass@k measured at ``k``."""
    k: int
    pass_at_k: float


class ModelFit(BaseModel):
    """One model's curve fitted to a counts file: the fitter chosen, its parameters, predictions.

    (What calibration made of a model's stored samples is
    :class:`budget.service.calibration.CalibratedModel`.)
    """

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


class Skipped(BaseModel):
    """A model of the file that could not be fitted, and why."""

    model: str
    reason: str


class FitResult(BaseModel):
    """The outcome of ``budget fit`` (``--json`` prints it)."""
    schema_version: int = SCHEMA_VERSION
    counts: str
    interval_level: float = LEVEL
    models: list[ModelFit]
    skipped: list[Skipped] = Field(default_factory=list)


class ModelCounts(BaseModel):
    """One model's per-problem counts from the file."""

    model: str
    task: str
    num_samples: list[int]
    num_correct: list[int]
    problem_ids: list[str] = Field(default_factory=list)


def _int(value: str, column: str, line: int, path: Path) -> int:
    text = value.strip()
    shown = repr(text) if len(text) <= 40 else f"{text[:40]!r}... ({len(text):,} characters)"
    try:
        number = float(text)
    except ValueError:
        raise DataError(f"{path.name} line {line}: {column} {shown} is not a number") from None
    if not np.isfinite(number) or number != int(number):
        raise DataError(f"{path.name} line {line}: {column} {shown} is not a whole number")
    if number < 0:
        raise DataError(f"{path.name} line {line}: {column} is negative ({shown})")
    return int(number)


def read_text(path: Path) -> str:
    """A results file's text: UTF-8 (a byte-order mark dropped), gzip-compressed or not (read
    by its magic bytes, whatever its name); errors are one line naming the file.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path.name}: not a readable gzip file ({exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path.name} is not a UTF-8 text file") from None


def read_counts(path: Path, task: str | None = None) -> list[ModelCounts]:
    """Read and check a counts CSV; one entry per model, in file order."""
    if not path.exists():
        raise InputError(f"counts file not found: {path}")
    if not path.is_file():
        raise InputError(f"counts path is not a file: {path}")
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
        if not header:
            raise DataError(f"{path.name} is empty")
        missing = [col for col in REQUIRED if col not in header]
        if missing:
            raise DataError(f"{path.name} lacks column(s) {', '.join(missing)} (have: {', '.join(header)})")
        rows = [{(k or "").strip(): (v or "") for k, v in r.items()} for r in reader]
    except csv.Error as exc:  # a field over the csv module's limit (128 KiB), a stray quote...
        raise DataError(f"{path.name} line {reader.reader.line_num}: not CSV ({exc})") from None
    if not rows:
        raise DataError(f"{path.name} has a header but no rows")
    by_model: dict[str, ModelCounts] = {}
    seen: set[tuple[str, str]] = set()
    for line, r in enumerate(rows, start=2):
        model = r["model"].strip()
        pid = r["problem_id"].strip()
        if not model or not pid:
            raise DataError(f"{path.name} line {line}: empty model or problem_id")
        for what, name in (("model", model), ("problem_id", pid)):
            fault = name_fault(name)
            if fault is not None:
                raise DataError(f"{path.name} line {line}: {what} holds a {fault}")
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
        by_model[model].problem_ids.append(pid)
    return list(by_model.values())


def _curve_interval(curve: CoverageCurve, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The curve's own :data:`LEVEL` interval at each k, reported as is.

    (Issue 11 item 2: the service used to stretch every interval to hold its point, which
    hid intervals that excluded their point and made tests of that unable to fail.)
    """
    lo, hi = curve.interval(ks, LEVEL)
    return np.asarray(lo), np.asarray(hi)


def _model_fit(
    curve: CoverageCurve,
    fitter: str,
    scores: dict[str, float],
    predict: list[int],
    observed: list[Observed],
    warnings: list[str],
) -> ModelFit:
    """Predictions with intervals and extrapolation warnings for one fitted curve."""
    from budget.curves import FORMS
    from budget.curves.selection import extrapolation_note

    ks = np.array(sorted(set(predict)), dtype=float)
    point = curve.coverage(ks)
    lo, hi = _curve_interval(curve, ks)
    far = [w for w in (extrapolation_note(curve, k) for k in ks) if w]
    return ModelFit(
        model=curve.model,
        task=curve.task,
        fitter=fitter,
        scores=scores,
        form=curve.form,
        formula=FORMS[curve.form].formula,
        params=curve.params,
        n_problems=int(curve.n_problems or 0),
        max_observed_k=int(curve.max_observed_k or 0),
        predictions=[
            Prediction(
                k=int(k),
                coverage=float(p),
                interval=(float(a), float(b)),
                extrapolation=curve.extrapolation(k),
            )
            for k, p, a, b in zip(ks, point, lo, hi, strict=True)
        ],
        observed=observed,
        warnings=[*curve.notes, *warnings, *far],
        curve=curve,
    )


def _fit_one(counts: ModelCounts, request: FitRequest) -> ModelFit:
    from budget.curves.passk import pass_at_k
    from budget.curves.selection import fit_counts_detailed

    n = np.asarray(counts.num_samples, dtype=float)
    c = np.asarray(counts.num_correct, dtype=float)
    warnings = []
    if n.min() != n.max():
        warnings.append(
            f"problems have unequal sample counts ({int(n.min())} to {int(n.max())}); the observed pass@k"
            f" below is listed up to k = {int(n.min())}, where every problem is measured (the fit uses"
            " every sample; see the curve's notes)"
        )
    obs_k = [int(k) for k in (1, 10, 100, 1_000, 10_000, 100_000) if k <= n.min()]
    observed = [Observed(k=k, pass_at_k=float(v)) for k, v in zip(obs_k, pass_at_k(n, c, obs_k), strict=True)]
    if c.sum() == 0:
        return _model_fit(
            _zero_success(counts.model, counts.task, n), BOUND_FITTER, {}, request.predict, observed, warnings
        )
    outcome = fit_counts_detailed(counts.model, counts.task, n, c, seed=request.seed, fitter=request.fitter)
    scores = {s.fitter: s.error for s in outcome.scores}
    return _model_fit(outcome.curve, outcome.fitter, scores, request.predict, observed, warnings)


def _zero_success(model: str, task: str, n: np.ndarray) -> CoverageCurve:
    from budget.curves.selection import zero_success_curve

    curve = zero_success_curve(model, task, n)
    note = (
        "upper bound only: no sample of this model was accepted; the point is 0 (a planner should"
        " treat the model as solving nothing) and the interval's upper end is a 95% upper bound"
    )
    return curve.model_copy(update={"notes": [note, *curve.notes]})


def fit_file(request: FitRequest, *, progress: StepCallback | None = None) -> FitResult:
    """Fit every model of the counts file named by ``request``.

    ``progress`` hears a :class:`Step` before each model's fit (backtest and bootstrap; its
    ``detail`` names the model) and one when all are done.

    A model whose counts cannot be fitted no longer fails the file: it is listed in
    ``skipped`` with the reason (and a model that never succeeded gets the zero-success
    upper bound, fitter :data:`BOUND_FITTER`); the call fails only when no model is left.
    """
    if any(k < 1 for k in request.predict):
        raise InputError("--predict values must be at least 1")
    if request.fitter is not None:
        from budget.curves.estimators import fitter_by_name

        fitter_by_name(request.fitter)
    if request.counts.suffix.lower() in (".jsonl", ".ndjson"):  # per-sample rows: task_id, model, passed
        from budget.service.importing import counts_from_samples

        models = counts_from_samples(request.counts, request.task)
    else:
        models = read_counts(request.counts, request.task)
    fitted: list[ModelFit] = []
    skipped: list[Skipped] = []
    for done, m in enumerate(models):
        if progress is not None:
            progress(Step(done, len(models), "models", m.model))
        try:
            fitted.append(_fit_one(m, request))
        except DataError as exc:
            skipped.append(Skipped(model=m.model, reason=str(exc)))
    if progress is not None:
        progress(Step(len(models), len(models), "models"))
    if not fitted:
        raise DataError("; ".join(s.reason for s in skipped))
    return FitResult(counts=str(request.counts), models=fitted, skipped=skipped)


# --------------------------------------------------------------------------- until-pass runs


class StoppedCounts(BaseModel):
    """One model's until-pass records: per problem, samples drawn and whether the last passed."""

    model: str
    task: str
    problem_ids: list[str]
    attempts: list[int]
    solved: list[bool]


def until_pass_records(store: Store, task: str, *, tier: str | None = None) -> list[StoppedCounts]:
    """Per (model, problem) records of the store's ``until-pass`` runs on ``task``.

    Verified samples of each (run, model, problem) are read in sample-index order; the record
    is "first accepted at sample j" (j counts verified samples) or "none in k".  Samples after
    the first accepted one (in flight when it passed) are left out, so the record is the one
    the stopping rule defines.  A sample is accepted when every tier that judged it passed it,
    or by ``tier``.  A problem sampled in several until-pass runs gives one record per run.
    """
    runs = [r.run_id for r in store.runs(task=task) if _policy(r.settings) == "until-pass"]
    records: dict[tuple[str, str, str], list[bool]] = {}
    for run_id in runs:
        for sample in store.samples(run_id=run_id, task=task):
            verdicts = sample.verdicts
            if tier is not None:
                verdicts = {t: v for t, v in verdicts.items() if t == tier}
            if not verdicts:
                continue
            records.setdefault((sample.model, run_id, sample.problem_id), []).append(
                all(v.passed for v in verdicts.values())
            )
    out: dict[str, StoppedCounts] = {}
    for (model, _, pid), passed in records.items():
        entry = out.setdefault(
            model, StoppedCounts(model=model, task=task, problem_ids=[], attempts=[], solved=[])
        )
        first = passed.index(True) + 1 if True in passed else None
        entry.problem_ids.append(pid)
        entry.attempts.append(first if first is not None else len(passed))
        entry.solved.append(first is not None)
    return [out[m] for m in sorted(out)]


def fit_until_pass_records(
    records: StoppedCounts, *, predict: list[int] | None = None, seed: int = 0
) -> ModelFit:
    """Fit one model's until-pass records (:func:`budget.curves.fit_until_pass`) for ``budget fit``."""
    from budget.curves import fit_until_pass

    curve = fit_until_pass(records.model, records.task, records.attempts, records.solved, seed=seed)
    fitter = BOUND_FITTER if curve.form == "zero_success_bound" else "beta_geometric"
    solved = [a for a, s in zip(records.attempts, records.solved, strict=True) if s]
    observed = [
        Observed(k=k, pass_at_k=sum(a <= k for a in solved) / len(records.attempts))
        for k in (1, 10, 100, 1_000, 10_000)
        if k <= (curve.max_observed_k or 0)
    ]
    return _model_fit(curve, fitter, {}, list(predict or DEFAULT_PREDICT), observed, [])


def fit_until_pass_store(
    store: Store,
    task: str,
    *,
    models: list[str] | None = None,
    tier: str | None = None,
    seed: int = 0,
    predict: list[int] | None = None,
) -> list[ModelFit]:
    """Fit every model's until-pass runs on ``task`` in the store (stopped-sampling likelihood)."""
    wanted = set(models) if models else None
    return [
        fit_until_pass_records(r, predict=predict, seed=seed)
        for r in until_pass_records(store, task, tier=tier)
        if wanted is None or r.model in wanted
    ]


def _policy(settings: dict[str, Any]) -> str | None:
    req = settings.get("request")
    return str(req.get("policy")) if isinstance(req, dict) and req.get("policy") else None
