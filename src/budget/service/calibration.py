"""Use case: calibrate -- a pilot run on the user's models and task, then fit their own curves.

``budget calibrate --task T --models a,b --dollars D`` samples a seeded random subset of
``--problems N`` problems (not the first N: a task's order is often by source or difficulty),
``--samples K`` per problem and model on average (policy ``fixed``, under the hard cap ``D``)
through :func:`budget.service.running.execute_run`, then fits a coverage curve per model to every
verified sample of that model on the task in the store and stores the curves.  From then on
``budget plan`` plans with these curves and the measured cost per sample
(:mod:`budget.service.store_link`).

**The pilot** (``--pilot``, :mod:`budget.planner.pilot`): ``uniform`` gives every problem K
samples in one run; ``adaptive`` (the default; Kazdan et al. 2025) first gives every problem
a floor of ``max(2, floor(0.8 K))`` samples, then spends the rest (``(K - floor) x N`` samples
per model) in two rounds, each to the problems with the fewest successes so far (one run per
model and count), all under the one cap ``D``.  BENCHMARKS.md ("Pilot") compares the two at
equal total samples.

**Which samples a fit uses.**  Per (model, problem): ``n`` verified samples and ``c``
accepted ones (a sample is accepted when every verifier tier that judged it passed it, or by
``--tier``).  Runs with the ``until-pass`` policy are left out: they stop sampling a problem
at its first pass, so their ``c/n`` over-states easy problems and the unbiased pass@k
estimator (Chen et al. 2021, Eq. 1) no longer applies.  Pass@k is estimated for k up to the
smallest ``n`` among the problems used, so problems left short by the cap (fewer samples than
most) are dropped: the fit keeps the problems with ``n >= k_fit`` where ``k_fit`` is the
20th percentile of ``n`` (at least 2).  The fit itself is :func:`budget.curves.fit_counts`
(which chooses among its curve forms by a backtest inside the data and bootstraps over
problems); a fit that fails, gives an invalid curve, or misses the measured pass@k at k = 1 or
``k_fit`` by more than :data:`MAX_MISS` is reported as skipped, with the reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, model_validator

from budget import SCHEMA_VERSION
from budget.curves import CoverageCurve
from budget.errors import BudgetError, InputError
from budget.money import USD
from budget.planner.pilot import ADAPTIVE_FLOOR, DEFAULT_PILOT, PilotRule
from budget.service.progress import Step, StepCallback
from budget.service.running import SamplingOptions

if TYPE_CHECKING:
    from budget.service.running import ProgressCallback, RunResult
    from budget.store import ProblemCounts, Store

#: Coverage is reported at these k in the result.
REPORT_KS = (1, 10, 100)
MIN_PROBLEMS = 3
#: A fit whose coverage at k = 1 or k = k_fit is further than this from the unbiased pass@k of
#: the same counts is not kept: it does not describe the data it was fitted to.
MAX_MISS = 0.1


class CalibrateRequest(SamplingOptions):
    """What ``budget calibrate`` asks for: a pilot run's sampling settings, then the fit."""

    task: str
    models: list[str] = Field(min_length=1)
    problems: int | None = Field(default=20, gt=0)
    samples: int | None = Field(default=5, ge=2)
    verify: Literal["both", "verifier"] = "both"
    tier: str | None = None
    fit_only: bool = False
    pilot: PilotRule = DEFAULT_PILOT

    @model_validator(mode="after")
    def _pilot_has_a_cap(self) -> CalibrateRequest:
        if self.dollars is None and not self.fit_only:
            raise InputError("--dollars is required for the pilot run (or pass --fit-only)")
        return self


class CalibratedModel(BaseModel):
    """What calibration made of one model's samples: a fitted curve, or why it was skipped.

    (The fit of a counts file, ``budget fit``, is :class:`budget.service.fitting.ModelFit`.)
    """

    model: str
    status: Literal["fitted", "skipped"]
    reason: str = ""
    problems: int = 0
    samples: int = 0
    correct: int = 0
    k_fit: int = 0
    coverage: dict[str, float] = Field(default_factory=dict)
    cost_per_sample: USD | None = None
    curve: CoverageCurve | None = None
    curve_id: int | None = None


class CalibrationResult(BaseModel):
    """The outcome of ``budget calibrate`` (``--json`` prints it)."""

    schema_version: int = SCHEMA_VERSION
    task: str
    run_id: str | None = None
    run_ids: list[str] = Field(default_factory=list, description="every run of the pilot (adaptive: several)")
    problem_ids: list[str] = Field(
        default_factory=list, description="the pilot's problems (a seeded random subset)"
    )
    run_status: str | None = None
    spent: USD = Decimal(0)
    cap: USD | None = None
    db: str = ""
    fits: list[CalibratedModel]
    next_step: str = ""


def calibrate(request: CalibrateRequest, *, progress: ProgressCallback | None = None) -> CalibrationResult:
    """Pilot run (unless ``fit_only``), then fit and store a curve per model."""
    from budget.store import Store, location

    runs: list[RunResult] = []
    task = request.task
    problem_ids: list[str] = []
    if not request.fit_only:
        problem_ids = pilot_problems(request)
        runs = pilot_runs(request, problem_ids, progress=progress)
        task = runs[0].task
    with Store(request.db) as store:
        if request.fit_only:
            task = _task_name(store, request.task)
        fits = fit_from_store(store, task, request.models, tier=request.tier, seed=request.seed)
        where = location.display(store.url)
    fitted = [f.model for f in fits if f.status == "fitted"]
    if fitted:  # the next `budget plan` reads this snapshot instead of opening the store
        from budget.service.store_link import refresh_snapshot

        refresh_snapshot(request.db, [None, task])
    hint = (
        f"budget plan --dollars D --task {task}" + (f" --models {','.join(fitted)}" if fitted else "")
        if fitted
        else "no curve was fitted: sample more problems or more samples per problem"
    )
    return CalibrationResult(
        task=task,
        run_id=runs[0].run_id if runs else None,
        run_ids=[r.run_id for r in runs],
        problem_ids=problem_ids,
        run_status=runs[-1].status if runs else None,
        spent=sum((r.spent for r in runs), Decimal(0)),
        cap=request.dollars if runs else None,
        db=where,
        fits=fits,
        next_step=hint,
    )


def fit_store(
    db: str | None,
    task: str | None = None,
    models: list[str] | None = None,
    *,
    tier: str | None = None,
    seed: int = 0,
    progress: StepCallback | None = None,
) -> CalibrationResult:
    """``budget fit --db``: fit and store a curve per model from the store's samples of ``task``
    (default: the task of the newest run), as calibration does after its pilot run.  ``progress``
    hears a :class:`~budget.service.progress.Step` per model (see :func:`fit_from_store`).
    """
    from budget.store import Store, location
    from budget.store.database import NoStoreError

    try:
        store = Store(db, create=False)
    except NoStoreError:
        raise InputError(f"no budget store at {location.display(location.resolve(db))}") from None
    with store:
        runs = store.runs(limit=1)
        chosen = task or (runs[0].task if runs else None)
        if chosen is None:
            raise InputError(f"the store at {location.display(store.url)} holds no runs to fit")
        if task is not None and task not in store.tasks():
            from budget.errors import UnknownNameError

            raise UnknownNameError("task", task, store.tasks(), context="in the store")
        fits = fit_from_store(store, chosen, models or None, tier=tier, seed=seed, progress=progress)
        where = location.display(store.url)
    fitted = [f.model for f in fits if f.status == "fitted"]
    hint = (
        f"budget plan --dollars D --task {chosen} --models {','.join(fitted)}"
        if fitted
        else "no curve was fitted: sample more problems or more samples per problem"
    )
    return CalibrationResult(task=chosen, db=where, fits=fits, next_step=hint)


def pilot_problems(request: CalibrateRequest) -> list[str]:
    """A seeded random subset of ``request.problems`` problems of the task (all when None)."""
    import numpy as np

    from budget.tasks import load_task

    ids = load_task(request.task).problem_ids()
    n = request.problems or len(ids)
    if n > len(ids):
        raise InputError(f"--problems {n} exceeds the {len(ids)} problems of {request.task}")
    pick = np.random.default_rng([request.seed, 0x9E3779B9]).choice(len(ids), size=n, replace=False)
    return [ids[i] for i in sorted(pick.tolist())]


def pilot_runs(
    request: CalibrateRequest, problem_ids: list[str], *, progress: ProgressCallback | None = None
) -> list[RunResult]:
    """The pilot's runs (see the module docstring): one uniform run, or a floor and two rounds."""
    from budget.service.running import RunRequest, execute_run

    samples = request.samples or 5
    base = {**request.sampling(), "problem_ids": problem_ids, "problems": None}
    if request.pilot is PilotRule.UNIFORM:
        return [execute_run(RunRequest(**base, policy="fixed"), progress=progress)]
    floor = min(samples, max(2, int(ADAPTIVE_FLOOR * samples)))
    runs = [execute_run(RunRequest(**{**base, "samples": floor}, policy="fixed"), progress=progress)]
    rest = {m: (samples - floor) * len(problem_ids) for m in request.models}
    for round_ in range(2):
        for model in request.models:
            share = rest[model] if round_ == 1 else rest[model] // 2
            left = None if request.dollars is None else request.dollars - sum(r.spent for r in runs)
            if share <= 0 or runs[-1].status != "finished" or (left is not None and left <= 0):
                continue
            for count, ids in _adaptive_groups(request, runs, model, problem_ids, share).items():
                run = RunRequest(
                    **{**base, "models": [model], "problem_ids": ids, "samples": count, "dollars": left},
                    policy="fixed",
                )
                runs.append(execute_run(run, progress=progress))
                rest[model] -= count * len(ids)
                left = None if request.dollars is None else request.dollars - sum(r.spent for r in runs)
                if runs[-1].status != "finished" or (left is not None and left <= 0):
                    break
    return runs


def _adaptive_groups(
    request: CalibrateRequest, runs: list[RunResult], model: str, problem_ids: list[str], share: int
) -> dict[int, list[str]]:
    """The next ``share`` samples of ``model`` by the adaptive rule, as {count: problems}."""
    import numpy as np

    from budget.planner.pilot import adaptive_order
    from budget.store import Store

    with Store(request.db) as store:
        got = store.problem_counts(
            runs[0].task, model=model, tier=request.tier, run_ids=[r.run_id for r in runs]
        )
    by = {c.problem_id: c for c in got}
    succ = np.array([by[p].c if p in by else 0 for p in problem_ids], dtype=np.int64)
    taken = np.array([by[p].n if p in by else 0 for p in problem_ids], dtype=np.int64)
    picks = adaptive_order(succ, taken, share, np.random.default_rng([request.seed, len(runs)]))
    per = np.bincount(picks, minlength=len(problem_ids))
    groups: dict[int, list[str]] = {}
    for i, count in enumerate(per.tolist()):
        if count:
            groups.setdefault(count, []).append(problem_ids[i])
    return groups


def _task_name(store: Store, task: str) -> str:
    if task in store.tasks():
        return task
    from budget.tasks import load_task

    return load_task(task).name


def fit_from_store(
    store: Store,
    task: str,
    models: list[str] | None = None,
    *,
    tier: str | None = None,
    seed: int = 0,
    progress: StepCallback | None = None,
) -> list[CalibratedModel]:
    """Fit and store a curve per model from the stored, verified samples of ``task``.

    ``progress`` hears a :class:`~budget.service.progress.Step` before each model's fit (its
    ``detail`` names the model) and one when all are done.
    """
    runs = [r for r in store.runs(task=task) if _policy(r.settings) != "until-pass"]
    run_ids = [r.run_id for r in runs]
    counts = store.problem_counts(task, tier=tier, run_ids=run_ids) if run_ids else []
    by_model: dict[str, list[ProblemCounts]] = {}
    for c in counts:
        by_model.setdefault(c.model, []).append(c)
    if models:
        from budget.pricing import default_price_book

        book, ids = default_price_book(), sorted({*by_model, *(m for r in runs for m in r.models)})
        wanted = list(dict.fromkeys(book.resolve_known(m, ids) or book.canonical(m) for m in models))
    else:
        wanted = sorted(by_model)
    costs = {s.model: s for s in store.cost_stats(task)}
    out = []
    for done, model in enumerate(wanted):
        if progress is not None:
            progress(Step(done, len(wanted), "models", model))
        fit = fit_model(model, task, by_model.get(model, []), seed=seed)
        if fit.curve is not None:
            used = sorted({r.run_id for r in runs if model in r.models} or set(run_ids))
            kept = [c for c in by_model[model] if c.n >= fit.k_fit]
            stored = store.save_curve(fit.curve, counts=kept, run_ids=used, tier=tier)
            fit = fit.model_copy(update={"curve_id": stored.curve_id})
        if model in costs and costs[model].known:  # unknown cost stays None, never $0
            fit = fit.model_copy(update={"cost_per_sample": costs[model].mean})
        out.append(fit)
    if progress is not None:
        progress(Step(len(wanted), len(wanted), "models"))
    return out


def fit_model(model: str, task: str, counts: list[ProblemCounts], *, seed: int = 0) -> CalibratedModel:
    """Fit one model's curve to its per-problem counts (see the module docstring for the rules)."""
    import numpy as np

    from budget.curves import fit_counts
    from budget.curves.passk import pass_at_k

    total_n = sum(c.n for c in counts)
    total_c = sum(c.c for c in counts)
    base = CalibratedModel(
        model=model, status="skipped", problems=len(counts), samples=total_n, correct=total_c
    )
    if not counts:
        return base.model_copy(update={"reason": "no verified samples of this model on this task"})
    n = np.array([c.n for c in counts])
    k_fit = max(2, int(np.quantile(n, 0.2, method="lower")))
    keep = [c for c in counts if c.n >= k_fit]
    if len(keep) < MIN_PROBLEMS:
        return base.model_copy(
            update={
                "reason": f"needs at least {MIN_PROBLEMS} problems with {k_fit}+ verified samples "
                f"(has {len(keep)}); sample more"
            }
        )
    kn = np.array([c.n for c in keep])
    kc = np.array([c.c for c in keep])
    used = {"problems": len(keep), "samples": int(kn.sum()), "correct": int(kc.sum()), "k_fit": k_fit}
    if kc.sum() == 0:
        return base.model_copy(
            update={**used, "reason": "no sample passed: coverage is 0 at every k measured"}
        )
    try:
        curve = fit_counts(model, task, kn, kc, seed=seed)
    except BudgetError as exc:
        return base.model_copy(update={**used, "reason": f"cannot fit: {exc}"})
    # in increasing k (k_fit may exceed 1000), so the monotonicity test reads the curve in order
    probe = curve.coverage(np.array(sorted({1.0, float(k_fit), 1000.0})))
    if not (
        np.all(np.isfinite(probe)) and np.all((probe >= 0) & (probe <= 1)) and np.all(np.diff(probe) >= -1e-9)
    ):
        return base.model_copy(
            update={**used, "reason": f"the fitted {curve.form} curve is not a valid coverage curve"}
        )
    fitted = curve.coverage(np.array([1.0, float(k_fit)]))
    measured = pass_at_k(kn, kc, np.array([1.0, float(k_fit)]))
    miss = float(np.max(np.abs(fitted - measured)))
    if miss > MAX_MISS:
        return base.model_copy(
            update={
                **used,
                "reason": f"the fitted {curve.form} curve misses your data by {100 * miss:.0f} points "
                f"(coverage at k=1 and k={k_fit}: fitted {100 * fitted[0]:.0f}%/{100 * fitted[1]:.0f}%, "
                f"measured {100 * measured[0]:.0f}%/{100 * measured[1]:.0f}%)",
            }
        )
    curve = curve.model_copy(
        update={
            "source": f"fitted to your samples: {len(keep)} problems x {k_fit}+ samples, {int(kc.sum())} "
            f"of {int(kn.sum())} accepted ({curve.source})"
        }
    )
    cov = curve.coverage(np.array(REPORT_KS, dtype=float))
    return CalibratedModel(
        model=model,
        status="fitted",
        coverage={str(k): round(float(v), 6) for k, v in zip(REPORT_KS, cov, strict=True)},
        curve=curve,
        **used,
    )


def _policy(settings: dict[str, Any]) -> str | None:
    req = settings.get("request")
    return str(req.get("policy")) if isinstance(req, dict) and req.get("policy") else None
