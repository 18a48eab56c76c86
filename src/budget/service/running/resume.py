"""Resume: a stopped run's request, its lease and what it has spent, before anything else happens.

``--resume RUN_ID`` reloads the run's stored request (this session may change only where the
server is and how hard to push it: :data:`SESSION_FIELDS`, and raise ``--dollars``), takes the
run's lease (one process runs a run at a time), and charges the reservations its last process
left open: they were in flight when it died and may have been billed (``lost_in_flight``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from budget.errors import StoreError
from budget.money import from_micro, to_micro
from budget.service.running.lease import RunLease
from budget.service.running.request import RunRequest

if TYPE_CHECKING:
    from budget.store import RunRecord, Store

#: Options a resumed run may change (where the server is, how hard to push it).
SESSION_FIELDS = frozenset({"api_base", "concurrency", "timeout_s", "unsafe_no_sandbox", "verify_workers"})


@dataclass(frozen=True)
class Resumed:
    """A resumed run as the store has it: its record, its lease, what it spent and lost in flight."""

    run: RunRecord
    lease: RunLease
    spent_micro: int
    lost_micro: int


def resume(store: Store, request: RunRequest) -> tuple[RunRequest, Resumed]:
    """The stored request of ``request.resume`` with this session's options, and the run's state.

    Takes the run's lease first (one process runs a run: else
    :class:`~budget.errors.RunBusyError`), then charges the reservations its last process left
    open (:func:`_resume_spend`).
    """
    request, run = _resume_request(store, request)
    lease = RunLease(store, run.run_id).acquire()
    try:
        spent, lost = _resume_spend(store, run, lease)
        # the run's record holds what the ledger now knows, before anything below can refuse
        store.update_run(run.run_id, spent=from_micro(spent))
    except BaseException:
        lease.release()
        raise
    return request, Resumed(run=run, lease=lease, spent_micro=spent, lost_micro=lost)


def _resume_request(store: Store, request: RunRequest) -> tuple[RunRequest, Any]:
    assert request.resume is not None
    run = store.get_run(request.resume)
    stored = run.settings.get("request")
    if not isinstance(stored, dict):
        raise StoreError(f"run {run.run_id} was not started by budget run (no stored request)")
    session = {k: v for k, v in request.model_dump().items() if k in SESSION_FIELDS and v is not None}
    if request.dollars is not None:
        session["dollars"] = request.dollars
    merged = RunRequest.model_validate(
        {**stored, **session, "resume": run.run_id, "db": request.db, "api_key": request.api_key}
    )
    return merged, run


def _resume_spend(store: Store, run: Any, lease: RunLease) -> tuple[int, int]:
    """What a resumed run has spent, and what of it was lost in flight (micro-dollars).

    Its reservations still open were in flight when its process died: they are charged whole
    (the provider may have billed them).  A run recorded before reservations were kept carries
    its recorded spend (and the reservations it recorded as in flight) into one row.
    """
    from budget.store import RunStatus

    book = store.ledger_book(run.run_id)
    if book.rows == 0:
        lost = 0
        if run.status in (RunStatus.RUNNING, RunStatus.CREATED):  # died without settling
            lost = int((run.settings.get("ledger") or {}).get("reserved_micro", 0))
        carried = max(to_micro(run.spent), to_micro(store.sample_spend(run.run_id))) + lost
        if carried:
            store.carry_spend(run.run_id, carried)
    else:
        lost = store.charge_lost_reservations(run.run_id, lease.token)
    return store.ledger_book(run.run_id).charged_micro, lost

