"""The steps of execute_run that stand alone: what a plan file fills in, and the work still to buy."""

from __future__ import annotations

from decimal import Decimal

from budget.executor.records import Mode
from budget.planner.models import Policy
from budget.service.running import RunRequest
from budget.service.running.execution import schedule, with_plan_inputs
from budget.store import SampleRecord
from budget.tasks import load_task
from budget.verify.protocol import Outcome, Verdict


def stored(problem: str, index: int, passed: bool | None = None) -> SampleRecord:
    verdicts = {}
    if passed is not None:
        outcome = Outcome.PASS if passed else Outcome.FAIL
        verdicts["verifier"] = Verdict(passed=passed, outcome=outcome, duration_s=0.0)
    return SampleRecord(run_id="r", model="m", problem_id=problem, sample_index=index, verdicts=verdicts)


def test_schedule_skips_stored_samples_and_marks_solved_problems() -> None:
    task = load_task("humaneval")
    ids = task.problem_ids()[:3]
    existing = [
        stored(ids[0], 0, passed=False),
        stored(ids[0], 1, passed=True),  # a prefix was bought, and it solved the problem
        stored(ids[1], 2, passed=False),  # not a prefix: the others are still to buy
    ]
    work = schedule(task, ids, [("m", 3, 4)], Mode.COMPLETION, existing)
    assert [(w.problem_id, tuple(w.indices), w.solved) for w in work] == [
        (ids[0], (2, 3), True),
        (ids[1], (0, 1, 3), False),
        (ids[2], (0, 1, 2, 3), False),
    ]
    assert isinstance(work[0].indices, range) and isinstance(work[2].indices, range)
    assert schedule(task, ids, [("m", 3, 4)], Mode.COMPLETION, []) == schedule(
        task, ids, [("m", 3, 4)], Mode.COMPLETION, []
    )


def test_plan_inputs_fill_only_what_the_request_leaves_open() -> None:
    open_request = RunRequest(dollars=Decimal(1))
    filled = with_plan_inputs(open_request, {"task": "humaneval", "problems": 5, "policy": "until-pass"})
    assert (filled.task, filled.problems, filled.policy) == ("humaneval", 5, Policy.UNTIL_PASS)
    assert isinstance(filled.policy, Policy)  # not a bare string: it serialises without warnings
    assert with_plan_inputs(open_request, {"policy": "fixed"}).policy is Policy.FIXED
    assert with_plan_inputs(open_request, {}).policy is Policy.FIXED
    own = RunRequest(dollars=Decimal(1), task="t", problems=2, policy=Policy.FIXED)
    assert with_plan_inputs(own, {"task": "humaneval", "problems": 5, "policy": "until-pass"}) == own
