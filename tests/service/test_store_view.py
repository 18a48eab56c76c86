"""budget runs: listing the stored runs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from budget.service.store_view import list_runs
from budget.store import RunStatus, SampleRecord, Store


def test_no_store_lists_nothing_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    assert list_runs(str(db)).runs == []
    assert not db.exists()


def test_runs_newest_first_with_samples_and_spend(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with Store(db) as s:
        old = s.create_run("a", models=["m"], cap=Decimal("2"))
        for i in range(3):
            s.add_sample(
                SampleRecord(
                    run_id=old.run_id, model="m", problem_id="p", sample_index=i, cost=Decimal("0.1")
                )
            )
        new = s.create_run("b", models=["m", "n"])
        s.update_run(new.run_id, status=RunStatus.FINISHED, spent=Decimal("0.25"))
    got = list_runs(db)
    assert [r.run_id for r in got.runs] == [new.run_id, old.run_id]
    first, second = got.runs
    assert first.status == "finished" and first.spent == Decimal("0.25") and first.cap is None
    assert second.samples == 3 and second.spent == Decimal("0.3") and second.cap == Decimal("2")
    assert [r.task for r in list_runs(db, task="a").runs] == ["a"]
    assert len(list_runs(db, limit=1).runs) == 1


def test_a_killed_run_shows_what_it_may_have_spent(tmp_path: Path) -> None:
    """A process killed with requests in flight: its recorded spend lags, its reservations do not."""
    from budget.store.ledger import LeaseHolder

    db = str(tmp_path / "k.db")
    with Store(db) as s:
        run = s.create_run("a", models=["m"], cap=Decimal("1"))
        me = LeaseHolder.this_process()
        s.acquire_lease(run.run_id, me)
        settled = s.open_reservation(run.run_id, me.token, 500_000)
        s.open_reservation(run.run_id, me.token, 200_000)  # in flight when the process died
        s.settle_reservations([(settled, 100_000)])
        s.update_run(run.run_id, status=RunStatus.RUNNING, spent=Decimal("0.05"))  # written earlier
        s.release_lease(run.run_id, me.token)
    (got,) = list_runs(db).runs
    assert got.spent == Decimal("0.3")  # 0.1 settled + 0.2 in flight, charged whole
