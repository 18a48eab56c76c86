"""The plan's link to the store on every backend: SQLite file and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from budget.curves import CoverageCurve
from budget.service.planning import PlanRequest, make_plan
from budget.service.store_link import user_candidates
from budget.service.store_view import list_runs
from budget.store import ProblemCounts, SampleRecord, Store
from budget.verify.protocol import Outcome, Verdict


def test_empty_location_gives_no_candidates_and_no_runs(store_url: str) -> None:
    lookup = user_candidates(store_url)
    if lookup is not None:  # a server URL: it exists, but holds no budget tables yet
        assert tuple(lookup(None)) == (None, [], None, ())
    assert list_runs(store_url).runs == []


def test_plan_from_the_store(store_url: str) -> None:
    with Store(store_url) as s:
        run = s.create_run("own-task", models=["mine"])
        ok = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0)
        s.add_samples(
            SampleRecord(
                run_id=run.run_id,
                model="mine",
                problem_id=f"p{i}",
                sample_index=0,
                cost=Decimal("0.002"),
                verdicts={"v": ok},
            )
            for i in range(5)
        )
        curve = CoverageCurve(model="mine", task="own-task", form="power_law", params={"a": -0.9, "b": -0.35})
        s.save_curve(curve, counts=[ProblemCounts(model="mine", task="own-task", problem_id="p0", n=1, c=1)])
    lookup = user_candidates(store_url)
    assert lookup is not None
    result = make_plan(PlanRequest.parse("0.5"), user_candidates=lookup)
    assert result.inputs.task == "own-task" and [a.model for a in result.alternatives] == ["mine"]
    assert result.recommendation.expected_cost <= Decimal("0.5")
    assert [r.run_id for r in list_runs(store_url).runs] == [run.run_id]
