"""The runner's kill points, judged by the stub server's bill (issue 9, item 2).

A SIGKILL cannot be caught: what survives it is what the ledger's journal had written.  Here the
journal "dies" right after its ``kill_at``-th reservation: it writes nothing more (later
reservations fail, later settlements are lost), exactly the store a kill at that moment leaves.
What a resume would charge from it (settled rows at their cost, open rows whole) must cover
everything the provider billed for the requests the runner sent, under any fault mix: no
request leaves without its reservation on record.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.executor.test_runner import PRICE, Sink, billed_by_server, humaneval, reference_verify
from tests.fakes.stub_server import FaultMix, StubServer

from budget.executor.backends.openai_server import OpenAIServerBackend
from budget.executor.costs import TokenCost, parse_price
from budget.executor.ledger import Ledger
from budget.executor.prompts import build_prompt
from budget.executor.records import Mode
from budget.executor.runner import ProblemWork, Runner, RunnerSettings
from budget.money import from_micro
from budget.planner.models import Policy


class KilledJournal:
    """A journal cut off by a kill right after its ``kill_at``-th reservation."""

    def __init__(self, kill_at: int) -> None:
        self.kill_at = kill_at
        self.rows: dict[int, list[int | None]] = {}  # key -> [amount, charged or None while open]
        self.dead = False

    def opened(self, amount_micro: int, label: str) -> int:
        if self.dead:
            raise OSError("the process was killed")
        key = len(self.rows) + 1
        self.rows[key] = [amount_micro, None]
        self.dead = len(self.rows) >= self.kill_at
        return key

    def settled(self, key: int, charged_micro: int) -> None:
        if not self.dead:
            self.rows[key][1] = charged_micro

    def spend_on_resume(self) -> int:
        return sum(int(c) if c is not None else int(a or 0) for a, c in self.rows.values())


@settings(max_examples=8, deadline=None)
@given(
    kill_at=st.integers(1, 14),
    p429=st.floats(0, 0.2),
    p500=st.floats(0, 0.2),
    hang=st.floats(0, 0.2),
    drop=st.floats(0, 0.2),
    malformed=st.floats(0, 0.2),
    no_usage=st.floats(0, 0.3),
    bad_usage=st.floats(0, 0.3),
    until_pass=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_a_kill_at_any_reservation_leaves_a_record_that_covers_the_bill(
    kill_at: int,
    p429: float,
    p500: float,
    hang: float,
    drop: float,
    malformed: float,
    no_usage: float,
    bad_usage: float,
    until_pass: bool,
    seed: int,
) -> None:
    """Also with lying usage (charged as the worst case) and the until-pass policy (hostile review)."""
    task = humaneval()
    faults = FaultMix(
        p429=p429, p500=p500, hang=hang, drop=drop, malformed=malformed, retry_after="0.01", hang_s=0.4,
        no_usage=no_usage, bad_usage=bad_usage,
    )  # fmt: skip
    server = StubServer(faults=faults, seed=seed)
    server.start_in_thread()
    journal = KilledJournal(kill_at)
    ledger = Ledger(10**9, journal=journal)
    try:
        backend = OpenAIServerBackend(server.url, concurrency=4, max_n=1)
        work = [
            ProblemWork("stub", p.id, build_prompt(task, p, Mode.COMPLETION), (0, 1))
            for p in task.problems[:5]
        ]
        runner = Runner(
            backends={"stub": backend},
            costs={"stub": TokenCost(parse_price(PRICE))},
            ledger=ledger,
            sink=Sink(),
            verify=reference_verify(task) if until_pass else None,
            settings=RunnerSettings(
                policy=Policy.UNTIL_PASS if until_pass else Policy.FIXED,
                max_tokens=200,
                timeout_s=0.2,
                backoff_base_s=0.01,
                backoff_cap_s=0.05,
                max_attempts=4,
                seed=seed,
            ),
        )

        async def go() -> None:
            try:
                await runner.run(work)
            finally:
                await backend.aclose()

        asyncio.run(go())
    finally:
        server.stop()
    stats = server.stats
    assert 1 <= len(journal.rows) <= kill_at and stats.requests >= 1
    bill = billed_by_server(stats)
    assert bill <= from_micro(journal.spend_on_resume()), (bill, journal.rows, stats.faults)
    # and the ledger itself, which outlived its journal here, never recorded less either
    assert bill <= from_micro(ledger.spent_micro)


class GatedJournal:
    """A journal whose first write blocks until the test lets it finish (a slow disk)."""

    def __init__(self) -> None:
        import threading

        self.entered = threading.Event()
        self.go_on = threading.Event()
        self.rows: dict[int, list[int | None]] = {}

    def opened(self, amount_micro: int, label: str) -> int:
        self.entered.set()
        self.go_on.wait(30)
        key = len(self.rows) + 1
        self.rows[key] = [amount_micro, None]
        return key

    def settled(self, key: int, charged_micro: int) -> None:
        self.rows[key][1] = charged_micro


def test_a_stop_while_a_reservation_is_being_written_leaves_it_closed() -> None:
    """SIGTERM/Ctrl-C cancel the run while a reservation's write is in its thread: the write
    lands all the same, nothing was sent for it, so it is given back (closed at $0), not left
    open for ever (seen: an interrupted run with one open reservation under load)."""
    task = humaneval()
    journal = GatedJournal()
    ledger = Ledger(10**9, journal=journal)
    server = StubServer()
    server.start_in_thread()
    try:
        backend = OpenAIServerBackend(server.url, concurrency=1, max_n=1)
        work = [
            ProblemWork(
                "stub", task.problems[0].id, build_prompt(task, task.problems[0], Mode.COMPLETION), (0,)
            )
        ]
        runner = Runner(
            backends={"stub": backend},
            costs={"stub": TokenCost(parse_price(PRICE))},
            ledger=ledger,
            sink=Sink(),
            verify=None,
            settings=RunnerSettings(policy=Policy.FIXED, max_tokens=64, timeout_s=5.0),
        )

        async def go() -> None:
            run = asyncio.ensure_future(runner.run(work))
            await asyncio.to_thread(journal.entered.wait, 30)
            run.cancel()  # the stop arrives while the write is in its thread
            await asyncio.sleep(0)
            journal.go_on.set()
            try:
                await run
            finally:
                await backend.aclose()

        asyncio.run(go())
    finally:
        journal.go_on.set()
        server.stop()
    assert server.stats.requests == 0
    assert journal.rows == {1: [journal.rows[1][0], 0]}  # on record, and closed at $0
    assert ledger.reserved_micro == 0 and ledger.spent_micro == 0


def test_a_reservation_being_written_is_given_back_through_repeated_cancellations() -> None:
    """The run's clean-up cancels a worker again while it waits for its reservation's write (the
    run's gather returns at the first cancelled worker, then cancels every worker): the wait
    must outlast both cancellations and close the reservation at $0.  Before the fix the second
    cancellation escaped the wait and left it open (`budget run` + SIGTERM: 2 of 11 runs)."""
    journal = GatedJournal()
    ledger = Ledger(10**9, journal=journal)
    runner = Runner(
        backends={},
        costs={},
        ledger=ledger,
        sink=Sink(),
        verify=None,
        settings=RunnerSettings(policy=Policy.FIXED, max_tokens=64, timeout_s=5.0),
    )

    async def go() -> None:
        reserving = asyncio.ensure_future(runner._reserve("stub", 1234))
        await asyncio.to_thread(journal.entered.wait, 30)
        reserving.cancel()
        await asyncio.sleep(0.05)
        reserving.cancel()  # the second cancellation, while the write is still in its thread
        await asyncio.sleep(0.05)
        journal.go_on.set()
        with pytest.raises(asyncio.CancelledError):
            await reserving

    try:
        asyncio.run(go())
    finally:
        journal.go_on.set()
    assert journal.rows == {1: [1234, 0]}  # on record, and closed at $0
    assert ledger.reserved_micro == 0 and ledger.open_reservations == 0
