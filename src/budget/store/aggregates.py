"""Aggregates for fitting (per-problem counts, measured cost per sample) and fitted curves
(one part of the store).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from budget.curves import CoverageCurve
from budget.errors import StoreError
from budget.store.engine import StoreBase, _aware, _utc
from budget.store.records import CostStats, ProblemCounts, StoredCurve, utcnow
from budget.store.tables import CurveCountRow, CurveRow, RunRow, SampleRow, VerdictRow


class AggregateStore(StoreBase):
    """Counts and costs aggregated in SQL, and the coverage curves fitted from them."""

    # --- aggregation for fitting ----------------------------------------------------------
    def problem_counts(
        self,
        task: str,
        *,
        model: str | None = None,
        tier: str | None = None,
        run_ids: Sequence[str] | None = None,
    ) -> list[ProblemCounts]:
        """Per (model, problem): ``n`` verified samples and ``c`` accepted ones.

        A sample counts once it has a verdict.  With ``tier`` given, that tier decides;
        without, a sample is accepted when every tier that judged it passed it (the
        strictest check wins).  Unverified samples are left out of ``n``.
        """
        ok = func.min(case((col(VerdictRow.passed), 1), else_=0)).label("ok")
        per_sample = (
            select(SampleRow.model, SampleRow.problem_id, ok)
            .join(VerdictRow, col(VerdictRow.sample_id) == SampleRow.id)
            .where(SampleRow.task == task)
        )
        if model is not None:
            per_sample = per_sample.where(SampleRow.model == model)
        if tier is not None:
            per_sample = per_sample.where(VerdictRow.tier == tier)
        if run_ids is not None:
            per_sample = per_sample.where(col(SampleRow.run_id).in_(list(run_ids)))
        sub = per_sample.group_by(col(SampleRow.id), SampleRow.model, SampleRow.problem_id).subquery()
        q = (
            sa_select(sub.c.model, sub.c.problem_id, func.count(), func.sum(sub.c.ok))
            .group_by(sub.c.model, sub.c.problem_id)
            .order_by(sub.c.model, sub.c.problem_id)
        )
        with self._session() as s:
            return [
                ProblemCounts(model=m, task=task, problem_id=p, n=int(n), c=int(c or 0))
                for m, p, n, c in s.execute(q)
            ]

    def cost_stats(self, task: str, model: str | None = None) -> list[CostStats]:
        """Measured cost per sample of each model on ``task`` (exact sums, from all runs)."""
        q = sa_select(
            col(SampleRow.model),
            func.count(),
            func.avg(SampleRow.prompt_tokens),
            func.avg(SampleRow.output_tokens),
            func.max(SampleRow.output_tokens),
        ).where(col(SampleRow.task) == task)
        if model is not None:
            q = q.where(col(SampleRow.model) == model)
        q = q.group_by(SampleRow.model).order_by(SampleRow.model)
        with self._session() as s:
            groups = list(s.execute(q))
            out = []
            for m, n, mean_p, mean_o, max_o in groups:
                # exact: each distinct decimal cost times how often it occurs (10^6 imported
                # samples of one cost are one row here, not 10^6 Decimals)
                distinct = [
                    (Decimal(c), int(k))
                    for c, k in s.execute(
                        sa_select(col(SampleRow.cost_usd), func.count())
                        .where(col(SampleRow.task) == task, col(SampleRow.model) == m)
                        .group_by(col(SampleRow.cost_usd))
                    )
                ]
                total = sum((c * k for c, k in distinct), Decimal(0))
                count = sum(k for _, k in distinct)
                out.append(
                    CostStats(
                        model=m,
                        task=task,
                        samples=int(n),
                        total=total,
                        mean=total / count if count else Decimal(0),
                        max=max((c for c, _ in distinct), default=Decimal(0)),
                        mean_prompt_tokens=float(mean_p or 0),
                        mean_output_tokens=float(mean_o or 0),
                        max_output_tokens=int(max_o or 0),
                    )
                )
            return out

    # --- fitted curves ---------------------------------------------------------------------
    def save_curve(
        self,
        curve: CoverageCurve,
        *,
        counts: Sequence[ProblemCounts] = (),
        problems: int | None = None,
        samples: int | None = None,
        correct: int | None = None,
        run_ids: Sequence[str] = (),
        tier: str | None = None,
        fitted_at: datetime | None = None,
    ) -> StoredCurve:
        """Keep a curve fitted from the user's samples, with the per-problem counts behind it.

        ``problems``/``samples``/``correct`` default to the totals of ``counts``.
        """
        row = CurveRow(
            model=curve.model,
            task=curve.task,
            fitted_at=_utc(fitted_at or utcnow()),
            problems=len(counts) if problems is None else problems,
            samples=sum(c.n for c in counts) if samples is None else samples,
            correct=sum(c.c for c in counts) if correct is None else correct,
            tier=tier,
            run_ids_json=json.dumps(list(run_ids)),
            curve_json=curve.model_dump_json(),
        )
        with self._session() as s:
            s.add(row)
            s.flush()
            assert row.id is not None
            for c in counts:
                s.add(CurveCountRow(curve_id=row.id, problem_id=c.problem_id, n=c.n, c=c.c))
            s.commit()
            return _curve(row)

    def curve_counts(self, curve_id: int) -> list[ProblemCounts]:
        """The per-problem counts a stored curve was fitted to."""
        with self._session() as s:
            curve = s.get(CurveRow, curve_id)
            if curve is None:
                raise StoreError(f"no curve {curve_id} in the store")
            rows = s.exec(
                select(CurveCountRow)
                .where(CurveCountRow.curve_id == curve_id)
                .order_by(col(CurveCountRow.problem_id))
            )
            return [
                ProblemCounts(model=curve.model, task=curve.task, problem_id=r.problem_id, n=r.n, c=r.c)
                for r in rows
            ]

    def curves(self, task: str | None = None, *, latest: bool = True) -> list[StoredCurve]:
        """Stored curves (the latest per (model, task) unless ``latest=False``), newest first."""
        with self._session() as s:
            q = select(CurveRow).order_by(col(CurveRow.fitted_at).desc(), col(CurveRow.id).desc())
            if task is not None:
                q = q.where(CurveRow.task == task)
            rows = list(s.exec(q))
        out, seen = [], set()
        for r in rows:
            if latest and (r.model, r.task) in seen:
                continue
            seen.add((r.model, r.task))
            out.append(_curve(r))
        return out

    def latest_task(self) -> str | None:
        """The task of the most recently fitted curve, else of the most recent run."""
        with self._session() as s:
            c = s.exec(
                select(CurveRow.task).order_by(col(CurveRow.fitted_at).desc(), col(CurveRow.id).desc())
            ).first()
            if c is not None:
                return c
            return s.exec(select(RunRow.task).order_by(col(RunRow.created_at).desc())).first()


def _curve(r: CurveRow) -> StoredCurve:
    return StoredCurve(
        curve_id=r.id,
        model=r.model,
        task=r.task,
        curve=CoverageCurve.model_validate_json(r.curve_json),
        fitted_at=_aware(r.fitted_at),
        problems=r.problems,
        samples=r.samples,
        correct=r.correct,
        run_ids=json.loads(r.run_ids_json),
        tier=r.tier,
    )
