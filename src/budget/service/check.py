"""Use case: did the plan hold?  ``budget check RUN_ID`` and ``budget check --all``.

Per model of a run, the prediction stored when the run started
(:mod:`budget.service.predictions`) against what was verified:

- **verified coverage**: problems with an accepted sample over the ``P`` problems the run gave
  the model, on the ``ground_truth`` tier when the run has it (else ``verifier``), with the
  ``verifier`` tier's coverage beside it; ``stderr`` = sqrt(c (1 - c) / P) (binomial).
- **verdict**: ``inside`` when the verified coverage lies in the stored predictive interval;
  ``z`` = (verified - predicted) / sd, with ``sd`` the prediction's own standard deviation
  (curve draws and binomial luck together), so ``|z| > 1.64`` is outside a 90% interval.
- actual cost and samples against the predicted ones.

Then the run's data refits the curves (:func:`budget.service.calibration.fit_from_store`,
stored like ``budget calibrate``'s), and the recommendation for the run's budget is shown
before and after.  ``--all`` adds calibration: the share of predictions inside their 90%
interval (the promise is 90%), per model and overall, and each model's curve drift (its stored
curves in time order, coverage at k = 1, 10, 100).
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from budget import SCHEMA_VERSION
from budget.errors import BudgetError, StoreError
from budget.money import USD

if TYPE_CHECKING:
    from budget.store import Store
    from budget.store.inspection import RunModelStats
    from budget.store.predictions import PredictionRecord

GROUND_TRUTH, VERIFIER = "ground_truth", "verifier"
DRIFT_KS = (1, 10, 100)


class Predicted(BaseModel):
    """What the plan predicted for a model: coverage with its interval, and cost."""
    coverage: float
    interval: tuple[float, float]
    cost: USD | None = None
    cost_interval: tuple[USD, USD] | None = None
    samples: float
    samples_interval: tuple[float, float] | None = None
    curve: dict[str, Any] = Field(default_factory=dict)


class Verified(BaseModel):
    """What the run measured for a model: coverage with its standard error, on a tier."""
    coverage: float
    stderr: float
    tier: str
    verifier_tier_coverage: float | None = None
    solved: int = 0


class ModelCheck(BaseModel):
    """One model of a run: predicted against verified."""
    model: str
    problems: int
    samples: int
    predicted: Predicted | None
    verified: Verified
    actual_cost: USD
    inside: bool | None
    z: float | None
    note: str = ""


class PlanSummary(BaseModel):
    """A plan in brief: headline, allocations, expected solved and cost."""
    headline: str
    allocations: list[dict[str, Any]]
    expected_solved: float
    expected_cost: USD


class Refit(BaseModel):
    """The plan before and after refitting on the run's samples."""
    before: PlanSummary | None = None
    after: PlanSummary | None = None
    fits: list[dict[str, Any]] = Field(default_factory=list)
    note: str = ""


class CheckResult(BaseModel):
    """``budget check RUN_ID --json``."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    task: str
    policy: str
    status: str = ""
    budget: USD | None = None
    db: str = ""
    models: list[ModelCheck]
    refit: Refit | None = None


class Calibration(BaseModel):
    """How many checks fell inside their promised interval."""
    checks: int
    inside: int
    share_inside: float | None
    promised: float = 0.9
    per_model: dict[str, dict[str, float | int | None]] = Field(default_factory=dict)


class DriftPoint(BaseModel):
    """One fitted curve of a (model, task) over time: when, from how many samples, its coverage."""
    fitted_at: datetime
    curve_id: int | None
    samples: int
    coverage: dict[str, float]


class CheckAllResult(BaseModel):
    """``budget check --all --json``."""

    schema_version: int = SCHEMA_VERSION
    db: str = ""
    runs: list[CheckResult]
    no_prediction: int = 0
    calibration: Calibration
    drift: dict[str, dict[str, list[DriftPoint]]] = Field(default_factory=dict)


def check_run(run_id: str, db: str | None = None, *, refit: bool = True, seed: int = 0) -> CheckResult:
    """Check one run's predictions against its verified results; then refit (see module docstring)."""
    from budget.store import location

    with _existing(db) as store:
        result = _check(store, run_id)
        result = result.model_copy(update={"db": location.display(store.url)})
        if refit:
            result = result.model_copy(update={"refit": _refit(store, result, db, seed)})
        return result


def check_all(db: str | None = None) -> CheckAllResult:
    """Every run with stored predictions, and the share inside their intervals."""
    from budget.store import location

    with _existing(db) as store:
        runs = store.runs()
        preds = store.predictions([r.run_id for r in runs])
        with_preds = list(dict.fromkeys(p.run_id for p in preds))
        checks = [
            _check(store, run_id, preds=[p for p in preds if p.run_id == run_id]) for run_id in with_preds
        ]
        rows = [m for c in checks for m in c.models if m.inside is not None]
        per_model: dict[str, dict[str, float | int | None]] = {}
        for m in rows:
            slot = per_model.setdefault(m.model, {"checks": 0, "inside": 0})
            slot["checks"] = int(slot["checks"] or 0) + 1
            slot["inside"] = int(slot["inside"] or 0) + int(bool(m.inside))
        for slot in per_model.values():
            slot["share_inside"] = int(slot["inside"] or 0) / int(slot["checks"] or 1)
        inside = sum(1 for m in rows if m.inside)
        drift: dict[str, dict[str, list[DriftPoint]]] = {}
        for c in store.curves(latest=False)[::-1]:  # oldest first
            cov = c.curve.coverage([float(k) for k in DRIFT_KS])
            drift.setdefault(c.task, {}).setdefault(c.model, []).append(
                DriftPoint(
                    fitted_at=c.fitted_at,
                    curve_id=c.curve_id,
                    samples=c.samples,
                    coverage={str(k): round(float(v), 6) for k, v in zip(DRIFT_KS, cov, strict=True)},
                )
            )
        return CheckAllResult(
            db=location.display(store.url),
            runs=checks,
            no_prediction=sum(1 for c in checks for m in c.models if m.predicted is None),
            calibration=Calibration(
                checks=len(rows),
                inside=inside,
                share_inside=inside / len(rows) if rows else None,
                per_model=per_model,
            ),
            drift=drift,
        )


class _existing:
    """Open an existing store (a check never creates one)."""

    def __init__(self, db: str | None) -> None:
        self.db = db

    def __enter__(self) -> Store:
        from budget.store import location
        from budget.store.database import NoStoreError, Store

        url = location.resolve(self.db)
        try:
            self.store = Store(url, create=False)
        except NoStoreError:
            raise StoreError(f"no budget store at {location.display(url)}") from None
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def _check(store: Store, run_id: str, *, preds: list[PredictionRecord] | None = None) -> CheckResult:
    run = store.get_run(run_id)
    preds = store.predictions([run_id]) if preds is None else preds
    stats = {s.model: s for s in store.run_model_stats([run_id])}
    by_model = {p.model: p for p in preds}
    policy = next((p.policy for p in preds), None) or _policy(run.settings)
    models = [
        _model_check(m, by_model.get(m), stats.get(m))
        for m in dict.fromkeys([*by_model, *run.models, *stats])
    ]
    return CheckResult(
        run_id=run_id, task=run.task, policy=policy, status=run.status.value, budget=run.cap, models=models
    )


def _model_check(model: str, pred: PredictionRecord | None, st: RunModelStats | None) -> ModelCheck:
    problems = pred.problems if pred is not None and pred.problems else (st.problems if st else 0)
    tiers = st.solved if st else {}
    tier = GROUND_TRUTH if GROUND_TRUTH in tiers else VERIFIER
    solved = tiers.get(tier, 0)
    cov = solved / problems if problems else 0.0
    verified = Verified(
        coverage=cov,
        stderr=math.sqrt(cov * (1 - cov) / problems) if problems else 0.0,
        tier=tier,
        verifier_tier_coverage=tiers[VERIFIER] / problems if problems and VERIFIER in tiers else None,
        solved=solved,
    )
    base = ModelCheck(
        model=model,
        problems=problems,
        samples=st.samples if st else 0,
        predicted=None,
        verified=verified,
        actual_cost=st.spent if st else Decimal(0),
        inside=None,
        z=None,
    )
    if pred is None:
        return base.model_copy(
            update={"note": "no prediction: the run stored none (imported, or older than budget check)"}
        )
    if not pred.predicted or pred.coverage is None or pred.interval is None:
        return base.model_copy(update={"note": pred.reason or "no prediction"})
    lo, hi = pred.interval
    eps = 1e-9
    z = None
    if pred.sd is not None and pred.sd > 0:
        z = (cov - pred.coverage) / pred.sd
    elif abs(cov - pred.coverage) <= eps:
        z = 0.0
    return base.model_copy(
        update={
            "predicted": Predicted(
                coverage=pred.coverage,
                interval=pred.interval,
                cost=pred.cost,
                cost_interval=pred.cost_interval,
                samples=pred.samples or 0.0,
                samples_interval=pred.samples_interval,
                curve=pred.curve.model_dump() if pred.curve else {},
            ),
            "inside": lo - eps <= cov <= hi + eps,
            "z": z,
        }
    )


def _policy(settings: dict[str, Any]) -> str:
    req = settings.get("request")
    return str(req.get("policy") or "fixed") if isinstance(req, dict) else "fixed"


def _refit(store: Store, result: CheckResult, db: str | None, seed: int) -> Refit:
    from budget.service.calibration import fit_from_store

    models = [m.model for m in result.models]
    before = _recommend(result, store, db, seed)
    try:
        fits = fit_from_store(store, result.task, models, seed=seed)
    except BudgetError as exc:
        return Refit(before=before, note=f"no refit: {exc}")
    after = _recommend(result, store, db, seed)
    return Refit(
        before=before,
        after=after,
        fits=[
            {
                "model": f.model,
                "status": f.status,
                "reason": f.reason,
                "curve_id": f.curve_id,
                "coverage": f.coverage,
            }
            for f in fits
        ],
        note="" if result.budget is not None else "the run had no budget to plan for",
    )


def _recommend(result: CheckResult, store: Store, db: str | None, seed: int) -> PlanSummary | None:
    if result.budget is None or result.budget <= 0:
        return None
    from budget.service.planning import PlanRequest, make_plan
    from budget.service.store_link import user_candidates

    try:
        plan = make_plan(
            PlanRequest(dollars=result.budget, task=result.task, seed=seed),
            user_candidates=user_candidates(store.url),
        )
    except BudgetError:
        return None
    rec = plan.recommendation
    return PlanSummary(
        headline=rec.headline,
        allocations=[a.model_dump(mode="json") for a in rec.allocations],
        expected_solved=rec.expected_solved,
        expected_cost=rec.expected_cost,
    )
