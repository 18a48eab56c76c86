"""A store that stops accepting writes mid-run (a full disk): the run stops, stays resumable, and
no money is spent that the store does not know of (issue 9, item 2).  The oracle is the stub
server's bill."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from tests.fakes.stub_server import StubServer

from budget.errors import BudgetError
from budget.service.running import RunRequest, execute_run
from budget.store import Store

CAP = Decimal("0.05")


def billed(server: StubServer) -> Decimal:
    s = server.stats
    return (s.billed_prompt_tokens * 3 + s.billed_completion_tokens * 15) / Decimal(10**6)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer(seed=4)
    server.start_in_thread()
    yield server
    server.stop()


class FullDisk:
    """Every write to the store after the first ``allowed`` fails as SQLite fails on a full disk."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.writes = 0
        self.refused = 0

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() not in ("INSERT", "UPDATE", "DELETE"):
            return
        self.writes += 1
        if self.writes > self.allowed:
            self.refused += 1
            raise sqlite3.OperationalError("database or disk is full")

    def __enter__(self) -> FullDisk:
        event.listen(Engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Engine, "before_cursor_execute", self)


@pytest.mark.parametrize("allowed", [12, 30, 60])
def test_a_full_disk_stops_the_run_without_spending_unrecorded_money(
    stub: StubServer, tmp_path: Path, allowed: int
) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    req = RunRequest.model_validate(
        {
            "task": "humaneval", "models": ["stub"], "dollars": CAP, "problems": 20, "samples": 5,
            "api_base": stub.url, "prices": ["stub=3,15"], "db": db, "max_tokens": 64,
            "concurrency": 4, "verify": "none", "timeout_s": 10.0,
        }
    )  # fmt: skip
    with FullDisk(allowed) as disk, pytest.raises(BudgetError) as err:
        execute_run(req)
    assert disk.refused > 0 and "\n" not in str(err.value) and "resume with --resume" in str(err.value)
    with Store(db) as store:
        (run,) = store.runs()
        book = store.ledger_book(run.run_id)
    # every request the provider received has its reservation on record, charged at most in full
    assert book.rows >= stub.stats.requests > 0
    at_failure = Decimal(book.spend_micro) / 10**6  # settlements the disk refused count whole
    assert at_failure >= billed(stub)
    # the disk has room again: the run resumes and finishes within the cap
    try:
        again = execute_run(RunRequest(resume=run.run_id, db=db, api_base=stub.url))
    except BudgetError as exc:  # what is left of the cap cannot hold one more request: refused
        assert "\n" not in str(exc) and "--dollars" in str(exc), exc
    else:
        assert again.run_id == run.run_id and again.status == "finished"
    with Store(db) as store:
        final = store.get_run(run.run_id)
        book = store.ledger_book(run.run_id)
    bill = billed(stub)
    assert bill <= CAP and final.spent >= bill
    # the resume buys only within the cap; the record may be above it only by what it could not
    # know (reservations whose settlement the full disk refused are charged whole: an upper bound)
    assert final.spent <= max(CAP, at_failure)
    assert book.open_count == 0 and book.charged_micro == int(final.spent * 10**6)
