"""Use case: look into the store (``budget runs``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel

from budget import SCHEMA_VERSION
from budget.money import USD

if TYPE_CHECKING:
    from budget.store import RunRecord, Store


class RunSummary(BaseModel):
    run_id: str
    task: str
    status: str
    models: list[str]
    samples: int
    spent: USD
    cap: USD | None
    created_at: datetime
    #: why a failed run failed (recorded by ``budget run``); empty otherwise
    reason: str = ""


class RunList(BaseModel):
    schema_version: int = SCHEMA_VERSION
    db: str
    runs: list[RunSummary]


def _spent(store: Store, run: RunRecord) -> Decimal:
    """What a run has spent at most: its recorded spend, or its reservations' (a process killed
    mid-run recorded its spend late; its reservations, charged whole while open, do not lag)."""
    from budget.money import from_micro

    spent = max(run.spent, from_micro(store.ledger_book(run.run_id).spend_micro))
    return spent if spent else store.sample_spend(run.run_id)


def list_runs(db: str | None = None, *, task: str | None = None, limit: int | None = 20) -> RunList:
    """The newest runs in the store at ``db`` (resolved like ``--db``); none when there is no store."""
    from budget.store import location

    url = location.resolve(db)
    if not location.exists(url):
        return RunList(db=location.display(url), runs=[])
    from budget.store.database import NoStoreError, Store

    try:
        store = Store(url, create=False)
    except NoStoreError:
        return RunList(db=location.display(url), runs=[])
    with store:
        runs = store.runs(task=task, limit=limit)
        out = [
            RunSummary(
                run_id=r.run_id,
                task=r.task,
                status=r.status.value,
                models=r.models,
                samples=len(store.finished_keys(r.run_id)),
                spent=_spent(store, r),
                cap=r.cap,
                created_at=r.created_at,
                reason=r.note if r.status.value == "failed" else "",
            )
            for r in runs
        ]
        return RunList(db=location.display(store.url), runs=out)
