"""Combined attacks on the cap at the runner (issue 9, hostile review): the stub server's bill is
the only oracle.  Each test counts what the server received (``Stats``), never time."""

from __future__ import annotations

import pytest
from tests.executor.test_runner import bill_micro, run_stub
from tests.fakes.stub_server import FaultMix

from budget.executor.runner import StopReason
from budget.tasks import Task, load_task


@pytest.fixture(scope="module")
def task() -> Task:
    try:
        return load_task("humaneval")
    except Exception as exc:
        pytest.skip(f"HumanEval unavailable: {exc}")


#: run_stub's backend has 6 slots: at most that many requests are in flight when a run stops.
SLOTS = 6


@pytest.mark.parametrize(
    ("lie", "factor", "max_tokens"),
    [("overlong", 5, 200), ("overlong", 2, 20), ("extra_choices", 1, 200)],
    ids=["billed-past-the-reservation", "within-the-reservation", "more-choices-than-n"],
)
def test_a_server_that_ignores_max_tokens_stops_launching_and_says_so(
    task: Task, lie: str, factor: int, max_tokens: int
) -> None:
    """A reservation bounds a request's cost only while the server honours ``max_tokens``.  At the
    first reply that shows it does not, nothing more is launched (only the requests already in
    flight can overspend), and the run's reason names the provider's fault, not "budget exhausted".

    ``within-the-reservation``: the over-long reply still fits the prompt bound's slack, so the
    ledger saw no overrun; before the fix the run bought all 30 samples from such a server.  The
    same for a server that ignores ``n`` (``more-choices-than-n``: short extra choices).
    """
    faults = FaultMix(**{lie: 1.0}, overlong_factor=max(2, factor))
    outcome, sink, stats, ledger = run_stub(
        task, faults=faults, problems=10, k=3, cap_micro=10**9, timeout_s=10.0, max_tokens=max_tokens
    )
    assert stats.requests <= SLOTS < 30, "requests were launched after the first over-long reply"
    assert outcome.stop_reason is StopReason.ERROR
    assert "max_tokens" in outcome.error and "provider" in outcome.error, outcome.error
    assert outcome.spent_micro >= bill_micro(stats)  # every reply received: never less than billed
    assert ledger.open_reservations == 0 and len(sink.samples_) == stats.served
