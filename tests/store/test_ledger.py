"""A run's durable ledger in the store (SQLite and PostgreSQL): reservations and the lease."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from budget.errors import RunBusyError
from budget.store import STORE_SCHEMA_VERSION, Store
from budget.store.ledger import LeaseHolder


def _run(store: Store) -> str:
    return store.create_run("t", models=["m"], cap=Decimal("1")).run_id


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    code = "import os; print(os.getpid())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_reservations_sum_to_the_runs_spend(store_url: str) -> None:
    with Store(store_url) as store:
        run_id = _run(store)
        me = LeaseHolder.this_process()
        store.acquire_lease(run_id, me)
        a = store.open_reservation(run_id, me.token, 500, model="m")
        b = store.open_reservation(run_id, me.token, 300, model="m")
        c = store.open_reservation(run_id, me.token, 200)
        store.settle_reservations([(a, 120), (c, 0)])
        book = store.ledger_book(run_id)
        assert (book.charged_micro, book.open_micro, book.open_count, book.rows) == (120, 300, 1, 3)
        assert book.spend_micro == 420
        assert store.charge_lost_reservations(run_id, me.token) == 300  # b was in flight: charged whole
        store.settle_reservations([(b, 1)])  # a late settlement of a lost reservation changes nothing
        store.carry_spend(run_id, 7)
        book = store.ledger_book(run_id)
        assert (book.charged_micro, book.open_micro, book.rows) == (427, 0, 4)
        assert store.charge_lost_reservations(run_id, me.token) == 0  # counted once
        assert store.ledger_book("other").rows == 0


def test_one_process_holds_a_run(store_url: str) -> None:
    with Store(store_url) as store:
        run_id = _run(store)
        first = LeaseHolder.this_process()
        store.acquire_lease(run_id, first)
        store.acquire_lease(run_id, first)  # re-entrant for its holder
        other = LeaseHolder("x" * 32, first.host, 1)  # pid 1 is alive
        with pytest.raises(RunBusyError, match="is being run by another budget process") as err:
            store.acquire_lease(run_id, other)
        assert err.value.exit_code == 9 and "\n" not in str(err.value) and "pid " in str(err.value)
        with pytest.raises(RunBusyError):  # fenced: no reservation without the lease
            store.open_reservation(run_id, other.token, 10)
        with pytest.raises(RunBusyError):
            store.charge_lost_reservations(run_id, other.token)
        assert store.ledger_book(run_id).rows == 0
        store.release_lease(run_id, first.token)
        store.acquire_lease(run_id, other)
        with pytest.raises(RunBusyError):  # the first process lost it: it cannot reserve any more
            store.open_reservation(run_id, first.token, 10)
        assert store.renew_lease(run_id, other.token) and not store.renew_lease(run_id, first.token)


def test_a_stale_lease_is_taken_over(store_url: str) -> None:
    with Store(store_url) as store:
        run_id = _run(store)
        me = LeaseHolder.this_process()
        dead = LeaseHolder("d" * 32, me.host, _dead_pid())
        store.acquire_lease(run_id, dead)
        store.acquire_lease(run_id, me)  # its process is gone: taken at once
        holder = store.lease_holder(run_id)
        assert holder is not None and holder.token == me.token
        run2 = _run(store)
        far = LeaseHolder("f" * 32, "another-host", 1)  # alive, as far as we can tell
        store.acquire_lease(run2, far, ttl_s=-1)  # ... but it stopped renewing: expired
        store.acquire_lease(run2, me)
        run3 = _run(store)
        store.acquire_lease(run3, LeaseHolder("g" * 32, "another-host", 1))
        with pytest.raises(RunBusyError):
            store.acquire_lease(run3, me)


def test_a_lease_left_by_an_ended_run_of_this_process_is_stale(store_url: str) -> None:
    from budget.store.ledger import forget_live_lease

    with Store(store_url) as store:
        run_id = _run(store)
        first = LeaseHolder.this_process()
        store.acquire_lease(run_id, first)
        with pytest.raises(RunBusyError):  # alive in this process
            store.acquire_lease(run_id, LeaseHolder.this_process())
        forget_live_lease(first.token)  # it ended without releasing the lease (say, the disk was full)
        store.acquire_lease(run_id, LeaseHolder.this_process())


def test_a_version_1_store_gains_the_ledger_tables(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    Store(str(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE ledger_reservations")
        conn.execute("DROP TABLE run_leases")
        conn.execute("UPDATE budget_schema SET version = 1")
    with Store(str(path)) as store:
        run_id = _run(store)
        me = LeaseHolder.this_process()
        store.acquire_lease(run_id, me)
        store.open_reservation(run_id, me.token, 5)
        assert store.ledger_book(run_id).open_micro == 5
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM budget_schema").fetchone() == (STORE_SCHEMA_VERSION,)


def test_a_run_and_its_resume_keep_one_ledger_on_every_backend(store_url: str) -> None:
    """execute_run on SQLite and PostgreSQL: every reservation settled, the lease given back, and
    a reservation left open by a dead process charged once by the resume."""
    from tests.fakes.stub_server import StubServer

    from budget.service.running import RunRequest, execute_run
    from budget.store import RunStatus

    server = StubServer(seed=2)
    server.start_in_thread()
    try:
        request = {
            "task": "humaneval", "models": ["stub"], "dollars": "0.05", "problems": 3, "samples": 2,
            "api_base": server.url, "prices": ["stub=3,15"], "db": store_url, "verify": "none",
            "max_tokens": 64,
        }  # fmt: skip
        first = execute_run(RunRequest.model_validate(request))
        with Store(store_url) as store:
            book = store.ledger_book(first.run_id)
            assert book.open_count == 0 and book.rows >= 6
            assert Decimal(book.charged_micro) / 10**6 == first.spent
            assert store.lease_holder(first.run_id) is None
            dead = LeaseHolder("d" * 32, LeaseHolder.this_process().host, _dead_pid())
            store.acquire_lease(first.run_id, dead)  # a process that died with a request in flight
            store.open_reservation(first.run_id, dead.token, 999)
            store.update_run(first.run_id, status=RunStatus.RUNNING)
        again = execute_run(RunRequest(resume=first.run_id, db=store_url, api_base=server.url))
        lost = Decimal("0.000999")
        assert again.lost_in_flight == lost and again.spent == first.spent + lost
        with Store(store_url) as store:
            assert store.lease_holder(first.run_id) is None
            assert store.ledger_book(first.run_id).open_count == 0
    finally:
        server.stop()


def test_a_process_that_lost_the_lease_writes_nothing_about_the_run(store_url: str) -> None:
    """Fencing beyond reservations (hostile review): a holder taken over (stalled past its time to
    live, a clock jump) can neither change the run's status, spend, settings or cap nor undercut
    the recorded spend, which is never below the ledger's (open reservations count whole)."""
    from budget.store import RunStatus

    with Store(store_url) as store:
        run_id = _run(store)
        stalled = LeaseHolder("s" * 32, "another-host", 1)
        store.acquire_lease(run_id, stalled, ttl_s=-1)  # expired: it stalled, or a clock jumped
        store.open_reservation(run_id, stalled.token, 900, ttl_s=-1)  # in flight when it stalled
        assert store.get_run(run_id).spent == Decimal("0.0009")  # open: counted whole, not $0
        me = LeaseHolder.this_process()
        store.acquire_lease(run_id, me)
        assert store.charge_lost_reservations(run_id, me.token) == 900
        store.update_run(run_id, status=RunStatus.FINISHED, spent=Decimal("0.0009"), lease_token=me.token)
        with pytest.raises(RunBusyError):
            store.update_run(
                run_id,
                status=RunStatus.FAILED,
                spent=Decimal(0),
                cap=Decimal(9),
                settings={},
                lease_token=stalled.token,
            )
        run = store.get_run(run_id)
        assert (run.status, run.spent, run.cap) == (RunStatus.FINISHED, Decimal("0.0009"), Decimal(1))
        # a stale spend written without the lease (an older store writer) cannot undercut the ledger
        store.update_run(run_id, spent=Decimal(0))
        assert store.get_run(run_id).spent == store.runs()[0].spent == Decimal("0.0009")
        store.release_lease(run_id, me.token)
