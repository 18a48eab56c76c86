"""execute_run end to end on the stub server: store, real verification, cap, resume, errors."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.fakes.stub_server import FaultMix, StubServer

from budget.errors import InputError, PricingError
from budget.service.running import RunRequest, execute_run
from budget.store import Store


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer(faults=FaultMix(p429=0.1, p500=0.05, retry_after="0.01"), seed=7)
    server.start_in_thread()
    yield server
    server.stop()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


def _sandbox_or_skip() -> None:
    from budget.errors import BudgetError
    from budget.service.verification import verify_one

    try:
        verify_one("humaneval", "HumanEval/0", "    return False\n")
    except BudgetError as exc:
        pytest.skip(f"verification unavailable here: {exc}")


def request(stub: StubServer, db: str, **kw: object) -> RunRequest:
    base: dict[str, object] = {
        "task": "humaneval",
        "models": ["stub"],
        "dollars": Decimal("1"),
        "problems": 4,
        "samples": 3,
        "api_base": stub.url,
        "prices": ["stub=3,15"],
        "db": db,
        "timeout_s": 5.0,
        "backoff_base_s": 0.01,
        "verify_workers": 2,
    }
    base.update(kw)
    return RunRequest.model_validate(base)


def test_run_stores_verified_samples(stub: StubServer, db: str) -> None:
    _sandbox_or_skip()
    result = execute_run(request(stub, db))
    assert result.status == "finished" and result.stop_reason == "completed"
    assert result.samples == 12 and result.models[0].samples == 12
    with Store(db) as store:
        samples = store.samples(run_id=result.run_id)
        assert len(samples) == 12
        assert all(set(s.verdicts) == {"verifier", "ground_truth"} for s in samples)
        assert sum((s.cost for s in samples), Decimal(0)) + result.unattributed == result.spent
        assert store.get_run(result.run_id).spent == result.spent <= Decimal(1)
        prices = store.prices(result.run_id)
        assert prices[0].input_per_mtok == Decimal(3) and prices[0].output_per_mtok == Decimal(15)
        solved = {s.problem_id for s in samples if s.verdicts["verifier"].passed}
        # completion mode sends the problem's prompt as is: each sample names it by its hash
        prompts = {p.problem_id: p.prompt_hash for p in store.problems("humaneval")}
        assert all(s.prompt_hash and s.prompt_hash == prompts[s.problem_id] for s in samples)
    assert result.models[0].problems_solved == len(solved)
    # the stub answers the canonical solution or `return None`: real verdicts tell them apart
    assert all(
        s.verdicts["ground_truth"].passed == ("return None" not in (s.completion or "")) for s in samples
    )


def test_until_pass_through_the_service(stub: StubServer, db: str) -> None:
    _sandbox_or_skip()
    result = execute_run(request(stub, db, policy="until-pass", samples=5, problems=5, verify="verifier"))
    with Store(db) as store:
        samples = store.samples(run_id=result.run_id)
    by_problem: dict[str, list[int]] = {}
    for s in samples:
        by_problem.setdefault(s.problem_id, []).append(s.sample_index)
        if s.verdicts["verifier"].passed:  # the accepted sample is the problem's last one
            assert s.sample_index == max(
                i for p, i in ((x.problem_id, x.sample_index) for x in samples) if p == s.problem_id
            )
    assert result.samples == len(samples) <= 25


def test_budget_stop_then_resume_with_more_money(stub: StubServer, db: str) -> None:
    # a sample's worst case (512 output tokens at $15/M, ~$0.009) fits once in $0.01
    first = execute_run(request(stub, db, dollars=Decimal("0.01"), verify="none"))
    assert first.stop_reason == "budget exhausted" and first.spent <= Decimal("0.01")
    assert 0 < first.samples < 12
    second = execute_run(RunRequest(resume=first.run_id, db=db, dollars=Decimal("1"), api_base=stub.url))
    assert second.run_id == first.run_id and second.samples == 12 and second.stop_reason == "completed"
    with Store(db) as store:
        samples = store.samples(run_id=first.run_id)
    keys = [(s.model, s.problem_id, s.sample_index) for s in samples]
    assert len(keys) == len(set(keys)) == 12
    assert (
        second.spent == sum((s.cost for s in samples), Decimal(0)) + first.unattributed + second.unattributed
    )
    assert second.spent <= Decimal(1)


def test_machine_time_pricing(stub: StubServer, db: str) -> None:
    result = execute_run(request(stub, db, prices=[], machine="cpu-2core", verify="none"))
    assert result.spent > 0
    with Store(db) as store:
        (price,) = store.prices(result.run_id)
    assert price.kind == "local_machine" and price.machine == "cpu-2core" and price.usd_per_hour is not None


def test_errors_are_one_line(stub: StubServer, db: str) -> None:
    with pytest.raises(PricingError, match="--price"):
        execute_run(request(stub, db, prices=[], models=["no-such-model-xyz"], verify="none"))
    with pytest.raises(InputError, match="until-pass"):
        execute_run(request(stub, db, policy="until-pass", verify="none"))
    with pytest.raises(InputError, match="exceeds"):
        execute_run(request(stub, db, problems=10_000, verify="none"))


def _dead_pid() -> int:
    import subprocess
    import sys

    code = "import os; print(os.getpid())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_resume_after_a_kill_counts_reservations_lost_in_flight_once(stub: StubServer, db: str) -> None:
    import socket

    from budget.store import RunStatus
    from budget.store.ledger import LeaseHolder

    first = execute_run(request(stub, db, verify="none"))
    with Store(db) as store:  # what a SIGKILL mid-run leaves: its lease, a reservation still open
        dead = LeaseHolder("d" * 32, socket.gethostname(), _dead_pid())
        store.acquire_lease(first.run_id, dead)
        store.open_reservation(first.run_id, dead.token, 1234)
        store.update_run(first.run_id, status=RunStatus.RUNNING)
    second = execute_run(RunRequest(resume=first.run_id, db=db))
    assert second.lost_in_flight == Decimal("0.001234")
    assert second.spent == first.spent + Decimal("0.001234") and second.samples == first.samples
    third = execute_run(RunRequest(resume=first.run_id, db=db))
    assert third.lost_in_flight == 0 and third.spent == second.spent


def test_a_run_recorded_before_reservations_carries_its_spend(stub: StubServer, db: str) -> None:
    import sqlite3

    from budget.store import RunStatus

    first = execute_run(request(stub, db, verify="none"))
    with Store(db) as store:  # an older budget killed mid-run: spend and in-flight in the settings
        run = store.get_run(first.run_id)
        settings = {**run.settings, "ledger": {"spent_micro": 0, "reserved_micro": 1234}}
        store.update_run(first.run_id, status=RunStatus.RUNNING, settings=settings)
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM ledger_reservations")
    second = execute_run(RunRequest(resume=first.run_id, db=db))
    assert second.lost_in_flight == Decimal("0.001234")
    assert second.spent == first.spent + Decimal("0.001234") and second.samples == first.samples
    third = execute_run(RunRequest(resume=first.run_id, db=db))
    assert third.lost_in_flight == 0 and third.spent == second.spent


def test_server_dying_mid_run_fails_the_run_with_the_reason_and_no_charge_for_refusals(db: str) -> None:
    """A server that stops after the first sample: the run ends failed, says why (error, store),
    keeps what it bought, and refused connections (never sent, never billed) cost nothing."""
    from budget.errors import RunFailedError

    server = StubServer(seed=1)
    server.start_in_thread()

    stopped: list[bool] = []

    def stop_after_first(p: object) -> None:
        if getattr(p, "samples", 0) >= 1 and not stopped:
            stopped.append(True)
            server.stop()

    req = RunRequest.model_validate(
        {
            "task": "humaneval", "models": ["stub"], "dollars": "1", "problems": 4, "samples": 3,
            "api_base": server.url, "prices": ["stub=3,15"], "db": db, "verify": "none",
            "max_attempts": 2, "backoff_base_s": 0.01, "concurrency": 1,
        }
    )  # fmt: skip
    try:
        with pytest.raises(RunFailedError, match="resume with --resume") as info:
            execute_run(req, progress=stop_after_first)
    finally:
        if not stopped:
            server.stop()
    result = info.value.result
    assert result.status == "failed" and "cannot connect" in result.error
    with Store(db) as store:
        (run,) = store.runs()
        samples = store.samples(run_id=run.run_id)
        assert run.status.value == "failed" and "cannot connect" in run.note
        assert len(samples) >= 1 and run.spent == sum((s.cost for s in samples), Decimal(0))


def test_plan_file_policy_is_used(stub: StubServer, db: str, tmp_path: Path) -> None:
    import json

    _sandbox_or_skip()
    plan = {
        "inputs": {"dollars": 0.5, "task": "humaneval", "policy": "until-pass"},
        "recommendation": {"allocations": [{"model": "stub", "problems": 4, "samples_per_problem": 4}]},
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    req = RunRequest(plan_file=path, api_base=stub.url, prices=["stub=3,15"], db=db, verify="verifier")
    result = execute_run(req)
    with Store(db) as store:
        run = store.get_run(result.run_id)
        samples = store.samples(run_id=result.run_id)
    assert run.settings["request"]["policy"] == "until-pass" and result.cap == Decimal("0.5")
    for s in samples:  # nothing bought after a problem's accepted sample
        if s.verdicts["verifier"].passed:
            assert s.sample_index == max(x.sample_index for x in samples if x.problem_id == s.problem_id)
