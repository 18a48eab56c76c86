"""Per-run, per-model figures in SQL: samples, problems, solved per verdict tier, spend
(one part of the store; ``budget runs``, ``budget show``, ``budget check``).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from sqlalchemy import case, distinct, func, select

from budget.money import USD, from_micro
from budget.store.engine import StoreBase
from budget.store.tables import SampleRow, VerdictRow


class RunModelStats(BaseModel):
    """One model's part of a run: samples, distinct problems, problems solved per tier, spend."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    model: str
    problems: int
    samples: int
    solved: dict[str, int]
    spent: USD


class InspectionStore(StoreBase):
    """Read-only views of stored runs for ``budget show`` and ``budget runs``."""
    def run_model_stats(self, run_ids: Sequence[str]) -> list[RunModelStats]:
        """Per (run, model) of ``run_ids``: aggregated in the database, one query per figure.

        Spend is what the run's ledger holds for the model (its reservations: open ones whole,
        closed ones at their charge), which includes what no sample carries (timeouts, dropped
        replies, requests in flight at a kill); a run without reservations on record (an import,
        a run from before they were kept) spends the sum of its samples' micro-dollars.
        """
        if not run_ids:
            return []
        s, v = _SAMPLES.c, _VERDICTS.c
        ids = list(run_ids)
        base = (
            select(
                s.run_id, s.model, func.count(), func.count(distinct(s.problem_id)), func.sum(s.cost_micro)
            )
            .where(s.run_id.in_(ids))
            .group_by(s.run_id, s.model)
        )
        # one pass over the verdicts, grouped per problem (no DISTINCT over a million rows): a
        # problem is solved on a tier when one of its samples passed there; a tier that judged
        # but never passed counts 0
        per_problem = (
            select(s.run_id, s.model, v.tier, func.max(case((v.passed, 1), else_=0)))
            .join(_VERDICTS, v.sample_id == s.id)
            .where(s.run_id.in_(ids))
            .group_by(s.run_id, s.model, s.problem_id, v.tier)
        )
        from budget.store.ledger import ledger_spend_by_model

        with self._guard(), self.engine.connect() as conn:
            rows = list(conn.execute(base))
            billed = ledger_spend_by_model(conn, ids)
            solved: dict[tuple[str, str], dict[str, int]] = {}
            for run_id, model, tier, ok in conn.execute(per_problem):
                slot = solved.setdefault((run_id, model), {})
                slot[tier] = slot.get(tier, 0) + int(ok or 0)
        return [
            RunModelStats(
                run_id=run_id,
                model=model,
                problems=int(problems),
                samples=int(n),
                solved=dict(sorted(solved.get((run_id, model), {}).items())),
                spent=from_micro(billed.get((run_id, model), int(micro or 0))),
            )
            for run_id, model, n, problems, micro in rows
        ]

    def run_solved(self, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Per run of ``run_ids``: distinct problems solved (by any model) per verdict tier."""
        if not run_ids:
            return {}
        s, v = _SAMPLES.c, _VERDICTS.c
        q = (
            select(s.run_id, v.tier, func.count(distinct(case((v.passed, s.problem_id)))))
            .join(_VERDICTS, v.sample_id == s.id)
            .where(s.run_id.in_(list(run_ids)))
            .group_by(s.run_id, v.tier)
        )
        out: dict[str, dict[str, int]] = {}
        with self._guard(), self.engine.connect() as conn:
            for run_id, tier, n in conn.execute(q):
                out.setdefault(run_id, {})[tier] = int(n)
        return out


_SAMPLES = SampleRow.__table__  # type: ignore[attr-defined]
_VERDICTS = VerdictRow.__table__  # type: ignore[attr-defined]
