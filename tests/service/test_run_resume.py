"""A resume that asks for something else than the run it continues (issue 9, hostile review): the
stub server's bill is the oracle; nothing a resume is given may under-charge the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.fakes.stub_server import StubServer

from budget.service.running import RunRequest, execute_run
from budget.store import Store


def billed(server: StubServer) -> Decimal:
    s = server.stats
    return (s.billed_prompt_tokens * 3 + s.billed_completion_tokens * 15) / Decimal(10**6)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer(seed=5)
    server.start_in_thread()
    yield server
    server.stop()


def test_a_resume_cannot_lower_the_prices_or_the_worst_case_and_a_new_cap_is_the_runs(
    stub: StubServer, tmp_path: Path
) -> None:
    """The first session stops at its cap; the resume raises the cap and asks for free tokens and
    a 1-token worst case.  The run keeps its prices and max_tokens (they are the run's: its past
    reservations and samples were priced by them), the new cap is recorded as the run's cap, and
    the record covers the bill within the new cap."""
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    first = execute_run(
        RunRequest.model_validate(
            {
                "task": "humaneval",
                "models": ["stub"],
                "dollars": Decimal("0.01"),
                "problems": 10,
                "samples": 4,
                "api_base": stub.url,
                "prices": ["stub=3,15"],
                "db": db,
                "max_tokens": 64,
                "concurrency": 2,
                "verify": "none",
                "timeout_s": 10.0,
            }
        )
    )
    assert first.stop_reason == "budget exhausted" and first.spent >= billed(stub)
    again = execute_run(
        RunRequest.model_validate(
            {
                "resume": first.run_id,
                "db": db,
                "api_base": stub.url,
                "dollars": Decimal("0.02"),
                "prices": ["stub=0,0"],
                "max_tokens": 1,
            }
        )
    )
    bill = billed(stub)
    with Store(db) as store:
        run = store.get_run(first.run_id)
        samples = store.samples(run_id=first.run_id)
    assert again.cap == run.cap == Decimal("0.02"), (again.cap, run.cap)
    assert bill <= Decimal("0.02") and run.spent >= bill and again.spent == run.spent
    assert run.settings["request"]["max_tokens"] == 64 and run.settings["request"]["prices"] == ["stub=3,15"]
    assert all(s.cost > 0 for s in samples) and len(samples) > first.samples


def test_a_plan_run_resumes_without_its_plan_file(stub: StubServer, tmp_path: Path) -> None:
    """The run keeps its plan (and allocations) in the store: a resume must not need the file
    (moved or deleted since), which before the fix ended every resume with 'cannot read the plan'."""
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "inputs": {"task": "humaneval", "problems": 3, "dollars": "0.05", "policy": "fixed"},
                "recommendation": {
                    "allocations": [{"model": "stub", "problems": 3, "samples_per_problem": 2}]
                },
            }
        )
    )
    first = execute_run(
        RunRequest.model_validate(
            {
                "plan_file": plan,
                "api_base": stub.url,
                "prices": ["stub=3,15"],
                "db": db,
                "max_tokens": 64,
                "verify": "none",
                "timeout_s": 10.0,
            }
        )
    )
    assert first.samples == 6 and first.problems == 3
    plan.unlink()
    again = execute_run(RunRequest(resume=first.run_id, db=db, api_base=stub.url))
    assert again.run_id == first.run_id and again.status == "finished" and again.samples == 6
    assert again.spent == first.spent >= billed(stub)


def test_a_resume_cannot_lower_the_cap_below_the_spend(stub: StubServer, tmp_path: Path) -> None:
    """Nothing is left to buy, so no request's worst case is checked: the new cap would be recorded
    below the run's spend (a run that looks over its cap) unless it is refused."""
    from budget.errors import InputError

    db = f"sqlite:///{tmp_path / 'runs.db'}"
    first = execute_run(
        RunRequest.model_validate(
            {
                "task": "humaneval",
                "models": ["stub"],
                "dollars": Decimal("0.05"),
                "problems": 2,
                "samples": 1,
                "api_base": stub.url,
                "prices": ["stub=3,15"],
                "db": db,
                "max_tokens": 64,
                "verify": "none",
                "timeout_s": 10.0,
            }
        )
    )
    assert first.status == "finished" and first.spent > 0
    with pytest.raises(InputError, match="below what run"):
        execute_run(RunRequest(resume=first.run_id, db=db, api_base=stub.url, dollars=Decimal("0.000001")))
    with Store(db) as store:
        assert store.get_run(first.run_id).cap == Decimal("0.05")
