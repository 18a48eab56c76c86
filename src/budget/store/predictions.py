"""What each run was predicted to do, per model (one part of the store; ``budget check``).

A run stores, when it starts, one :class:`PredictionRecord` per model: the curve it was
planned with and what that curve said about this run (coverage at the run's k or under its
policy, with an interval; cost with an interval; for until-pass the samples it would buy), or
"no prediction" with the reason when there was no curve.  Written once per (run, model): a
resumed run keeps the prediction it started under.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from budget.store.engine import StoreBase, _aware, _utc
from budget.store.records import utcnow
from budget.store.tables import PredictionRow


class CurveUsed(BaseModel):
    """The curve a prediction came from: where it was fitted and on what."""

    model_config = ConfigDict(frozen=True)

    source: str
    form: str
    params: dict[str, float]
    fitted_on: str = ""
    curve_id: int | None = None
    max_observed_k: int | None = None


class PredictionRecord(BaseModel):
    """One model's prediction for one run (``curve`` None: no prediction, see ``reason``)."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    model: str
    policy: str = "fixed"
    k: int = Field(default=0, ge=0)
    problems: int = Field(default=0, ge=0)
    curve: CurveUsed | None = None
    coverage: float | None = None
    interval: tuple[float, float] | None = None
    sd: float | None = None
    level: float = 0.9
    cost: Decimal | None = None
    cost_interval: tuple[Decimal, Decimal] | None = None
    samples: float | None = None
    samples_interval: tuple[float, float] | None = None
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def predicted(self) -> bool:
        """Whether a prediction was made (a curve and a coverage figure)."""
        return self.curve is not None and self.coverage is not None


class PredictionStore(StoreBase):
    """Predictions per (run, model): written once when a run starts, read by ``budget check``."""

    def save_predictions(self, predictions: Iterable[PredictionRecord]) -> int:
        """Store predictions; one already stored for a (run, model) is kept.  Returns how many were new."""
        new = 0
        for p in predictions:
            row = PredictionRow(
                run_id=p.run_id,
                model=p.model,
                created_at=_utc(p.created_at),
                has_curve=p.predicted,
                prediction_json=p.model_dump_json(),
            )
            try:
                with self._session() as s:
                    s.add(row)
                    s.commit()
                new += 1
            except IntegrityError:  # the run's first prediction for this model stands
                continue
        return new

    def predictions(self, run_ids: Sequence[str] | None = None) -> list[PredictionRecord]:
        """Stored predictions (of ``run_ids``, else all), oldest first."""
        with self._session() as s:
            q = select(PredictionRow).order_by(col(PredictionRow.created_at), col(PredictionRow.id))
            if run_ids is not None:
                q = q.where(col(PredictionRow.run_id).in_(list(run_ids)))
            rows = list(s.exec(q))
        return [_record(r) for r in rows]


def _record(r: PredictionRow) -> PredictionRecord:
    doc: dict[str, Any] = PredictionRecord.model_validate_json(r.prediction_json).model_dump()
    doc["created_at"] = _aware(r.created_at)
    return PredictionRecord.model_validate(doc)
