"""A run's durable ledger: its reservations, written before their requests are sent, and its lease.

**Reservations.**  Every reservation of :class:`budget.executor.ledger.Ledger` is a row, written
(committed) before its request leaves, and closed with its actual cost when settled.  A process
killed at any moment leaves its in-flight requests as ``open`` rows; the next process to run the
run charges them whole (``lost``), since the provider may have billed them.  So the spend of a
run is one sum, over its rows,

    spend(run) = sum(charged of settled, lost and carried rows) + sum(amount of open rows)   (1)

and it is never below what the provider billed while every actual cost is at most its
reservation: a request is sent only after its row exists, and a row is closed with at most its
amount.  A settlement written late (or lost in a kill) leaves the row open, which counts more,
never less.

**The lease.**  One run has one ledger, so one process at a time runs it.  The ``run_leases``
row names the holder (a random token, its host and pid) and when the lease expires; it is taken
with a conditional ``UPDATE ... WHERE token = <the token seen>`` (compare-and-swap, so of two
processes that find the same stale lease only one gets it, on SQLite and on PostgreSQL alike),
renewed by its holder, and released at the end.  A lease is stale when it has expired, or when its
holder is a process on this host that no longer exists.  Every reservation renews the lease in the
same transaction that writes the reservation, and fails if the lease is no longer this process's
(fencing): a process that lost its lease cannot send another request.  Expiry compares wall
clocks of the processes involved: hosts sharing a store need clocks within the lease's time to live.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from budget.errors import RunBusyError
from budget.store.engine import StoreBase
from budget.store.ledger_tables import LeaseRow, ReservationRow

#: Seconds a lease lasts without renewal (its holder renews it far more often).
LEASE_TTL_S = 60.0

#: Tokens of the leases held by live runs of this process (a lease of this pid with another token
#: was left by a run of this process that ended without releasing it: stale).
_LIVE_TOKENS: set[str] = set()


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds (or asks for) a run's lease."""

    token: str
    host: str
    pid: int

    @classmethod
    def this_process(cls) -> LeaseHolder:
        """A holder for this process (a fresh token, the host and pid)."""
        return cls(uuid.uuid4().hex, socket.gethostname()[:255], os.getpid())

    def describe(self) -> str:
        """The holder as a reader sees it (pid and host)."""
        return f"pid {self.pid} on {self.host}"


@dataclass(frozen=True)
class LedgerBook:
    """A run's reservations, summed: (1) of the module docstring is ``charged_micro + open_micro``."""

    charged_micro: int = 0
    open_micro: int = 0
    open_count: int = 0
    rows: int = 0

    @property
    def spend_micro(self) -> int:
        """Charged plus still open: what the run may have spent."""
        return self.charged_micro + self.open_micro


def _alive_here(holder: LeaseRow) -> bool:
    """Whether the holder may still be alive (False only when it certainly is not)."""
    if holder.host != socket.gethostname()[:255]:
        return True
    if holder.pid == os.getpid():
        return holder.token in _LIVE_TOKENS
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


_RESERVATIONS = ReservationRow.__table__  # type: ignore[attr-defined]
_LEASES = LeaseRow.__table__  # type: ignore[attr-defined]
#: The statements written per request, compiled once (SQLAlchemy caches them): Core, not the ORM.
_RENEW = (
    sa_update(_LEASES)
    .where(_LEASES.c.run_id == bindparam("b_run"), _LEASES.c.token == bindparam("b_token"))
    .values(expires_ms=bindparam("b_expires"))
)
_OPEN = sa_insert(_RESERVATIONS)
_SETTLE = (
    sa_update(_RESERVATIONS)
    .where(_RESERVATIONS.c.id == bindparam("b_id"), _RESERVATIONS.c.state == "open")
    .values(state="settled", charged_micro=bindparam("b_charged"), closed_ms=bindparam("b_closed"))
)


class LedgerStore(StoreBase):
    """Reservations (written before sending, settled after) and the one-process lease of a run."""

    # --- the lease ---------------------------------------------------------------------
    def acquire_lease(self, run_id: str, holder: LeaseHolder, *, ttl_s: float = LEASE_TTL_S) -> None:
        """Take the run's lease for ``holder``, or raise :class:`RunBusyError` if a live process has it."""
        ttl = int(ttl_s * 1000)
        for _ in range(5):  # a lost race re-reads the row and decides again
            now = _now_ms()
            with self._guard(), Session(self.engine) as s:
                row = s.get(LeaseRow, run_id)
            if row is None:
                fresh = LeaseRow(
                    run_id=run_id,
                    token=holder.token,
                    host=holder.host,
                    pid=holder.pid,
                    acquired_ms=now,
                    expires_ms=now + ttl,
                )
                try:
                    with self._guard(), Session(self.engine) as s:
                        s.add(fresh)
                        s.commit()
                except IntegrityError:
                    continue  # another process wrote the lease first (or the run does not exist)
                _LIVE_TOKENS.add(holder.token)
                return
            if row.token != holder.token and row.expires_ms > now and _alive_here(row):
                until = time.strftime("%H:%M:%S UTC", time.gmtime(row.expires_ms / 1000))
                raise RunBusyError(
                    f"run {run_id} is being run by another budget process (pid {row.pid} on "
                    f"{row.host}, lease renewed until {until}); wait for it to end or stop it"
                )
            with self._guard(), Session(self.engine) as s:  # compare-and-swap on the token seen
                taken = s.exec(  # type: ignore[call-overload]
                    sa_update(LeaseRow)
                    .where(col(LeaseRow.run_id) == run_id, col(LeaseRow.token) == row.token)
                    .values(
                        token=holder.token,
                        host=holder.host,
                        pid=holder.pid,
                        acquired_ms=now,
                        expires_ms=now + ttl,
                    )
                )
                s.commit()
            if taken.rowcount == 1:
                _LIVE_TOKENS.add(holder.token)
                return
        raise RunBusyError(f"run {run_id} is being taken by another budget process; try again")

    def renew_lease(self, run_id: str, token: str, *, ttl_s: float = LEASE_TTL_S) -> bool:
        """Extend the lease if ``token`` still holds it; False if it was taken over."""
        with self._guard(), Session(self.engine) as s:
            done = s.exec(  # type: ignore[call-overload]
                sa_update(LeaseRow)
                .where(col(LeaseRow.run_id) == run_id, col(LeaseRow.token) == token)
                .values(expires_ms=_now_ms() + int(ttl_s * 1000))
            )
            s.commit()
        return bool(done.rowcount == 1)

    def release_lease(self, run_id: str, token: str) -> None:
        """Give the lease up (if ``token`` still holds it)."""
        _LIVE_TOKENS.discard(token)
        with self._guard(), Session(self.engine) as s:
            row = s.get(LeaseRow, run_id)
            if row is not None and row.token == token:
                s.delete(row)
                s.commit()

    def lease_holder(self, run_id: str) -> LeaseHolder | None:
        """Who holds the run's lease (None: nobody)."""
        with self._guard(), Session(self.engine) as s:
            row = s.get(LeaseRow, run_id)
        return None if row is None else LeaseHolder(row.token, row.host, row.pid)

    # --- reservations --------------------------------------------------------------------
    def open_reservation(
        self, run_id: str, token: str, amount_micro: int, *, model: str = "", ttl_s: float = LEASE_TTL_S
    ) -> int:
        """Write a reservation (committed when this returns) and renew the lease; its id.

        Raises :class:`RunBusyError` (and writes nothing) when ``token`` no longer holds the lease.
        """
        if amount_micro < 0:
            raise ValueError("a reservation cannot be negative")
        now = _now_ms()
        with self._guard(), self.engine.begin() as conn:  # SQLAlchemy Core: one short transaction
            expires = now + int(ttl_s * 1000)
            held = conn.execute(_RENEW, {"b_run": run_id, "b_token": token, "b_expires": expires})
            if held.rowcount != 1:
                conn.rollback()
                raise RunBusyError(f"run {run_id}: this process lost its lease; another process runs it now")
            row = conn.execute(
                _OPEN,
                {
                    "run_id": run_id,
                    "lease_token": token,
                    "model": model[:300],
                    "amount_micro": amount_micro,
                    "state": "open",
                    "opened_ms": now,
                },
            )
            key = row.inserted_primary_key
            assert key is not None
            return int(key[0])

    def settle_reservations(self, settlements: Iterable[tuple[int, int]]) -> None:
        """Close open reservations with their actual costs ((id, charged micro-dollars) pairs).

        A reservation that is no longer open (a resume charged it as lost) is left as it is.
        """
        items = list(settlements)
        if not items:
            return
        if any(charged < 0 for _, charged in items):
            raise ValueError("a cost cannot be negative")
        now = _now_ms()
        with self._guard(), self.engine.begin() as conn:
            conn.execute(_SETTLE, [{"b_id": i, "b_charged": c, "b_closed": now} for i, c in items])

    def charge_lost_reservations(self, run_id: str, token: str) -> int:
        """Charge every open reservation of the run at its whole amount (its process is gone).

        Only the lease holder may do this (``token``); returns the micro-dollars charged.
        """
        now = _now_ms()
        with self._guard(), Session(self.engine) as s:
            fence(s, run_id, token)
            rows = s.exec(
                select(ReservationRow).where(ReservationRow.run_id == run_id, ReservationRow.state == "open")
            ).all()
            lost = 0
            for row in rows:
                row.state, row.charged_micro, row.closed_ms = "lost", row.amount_micro, now
                lost += row.amount_micro
                s.add(row)
            s.commit()
        return lost

    def carry_spend(self, run_id: str, amount_micro: int) -> None:
        """Record spend that has no reservations (a run from before they were kept)."""
        now = _now_ms()
        with self._guard(), Session(self.engine) as s:
            s.add(
                ReservationRow(
                    run_id=run_id,
                    amount_micro=amount_micro,
                    charged_micro=amount_micro,
                    state="carried",
                    opened_ms=now,
                    closed_ms=now,
                )
            )
            s.commit()

    def ledger_book(self, run_id: str) -> LedgerBook:
        """The run's reservations summed (see (1) of the module docstring)."""
        with self._guard(), Session(self.engine) as s:
            rows: Sequence[tuple[str, int, int, int | None]] = s.exec(  # type: ignore[call-overload]
                select(
                    ReservationRow.state,
                    func.count(),
                    func.coalesce(func.sum(ReservationRow.amount_micro), 0),
                    func.coalesce(func.sum(ReservationRow.charged_micro), 0),
                )
                .where(ReservationRow.run_id == run_id)
                .group_by(ReservationRow.state)
            ).all()
        charged = open_micro = open_count = total = 0
        for state, count, amount, charged_sum in rows:
            total += int(count)
            if state == "open":
                open_micro += int(amount)
                open_count += int(count)
            else:
                charged += int(charged_sum or 0)
        return LedgerBook(charged_micro=charged, open_micro=open_micro, open_count=open_count, rows=total)


def _row_spend() -> Any:
    """One reservation's part of (1), as SQL: an open row whole, a closed one at its charge."""
    from sqlalchemy import case

    return case(
        (col(ReservationRow.state) == "open", ReservationRow.amount_micro),
        else_=func.coalesce(ReservationRow.charged_micro, 0),
    )


def ledger_spend(session: Session, run_ids: Sequence[str]) -> dict[str, int]:
    """(1) of the module docstring for each run that has reservations (micro-dollars): open rows
    at their whole amount, closed ones at their charge.  A run's recorded spend is never below
    it: a process killed with requests in flight leaves them open, never settled.
    """
    if not run_ids:
        return {}
    rows = session.exec(  # type: ignore[call-overload]
        select(ReservationRow.run_id, func.sum(_row_spend()))
        .where(col(ReservationRow.run_id).in_(list(run_ids)))
        .group_by(ReservationRow.run_id)
    ).all()
    return {str(run_id): int(total or 0) for run_id, total in rows}


def ledger_spend_by_model(conn: Any, run_ids: Sequence[str]) -> dict[tuple[str, str], int]:
    """(1) of the module docstring per (run, model) of ``run_ids`` that has reservations of its
    own (micro-dollars): open rows whole, closed ones at their charge.
    """
    if not run_ids:
        return {}
    rows = conn.execute(
        select(ReservationRow.run_id, ReservationRow.model, func.sum(_row_spend()))
        .where(col(ReservationRow.run_id).in_(list(run_ids)), col(ReservationRow.model) != "")
        .group_by(ReservationRow.run_id, ReservationRow.model)
    ).all()
    return {(str(run_id), str(model)): int(total or 0) for run_id, model, total in rows}


def fence(session: Session, run_id: str, token: str) -> None:
    """In ``session``'s transaction, before its writes: renew the lease if ``token`` holds it, else
    roll back and raise :class:`RunBusyError`.

    The renewal is the transaction's first write, so it takes the write lock (SQLite) or the lease
    row's lock (PostgreSQL): no other process can take the lease over before the commit.  A process
    that lost its lease (stalled past its time to live, or a wall clock that jumped) so writes
    nothing more about the run: no reservation, no status, no spend.
    """
    held = session.exec(  # type: ignore[call-overload]
        sa_update(LeaseRow)
        .where(col(LeaseRow.run_id) == run_id, col(LeaseRow.token) == token)
        .values(expires_ms=_now_ms() + int(LEASE_TTL_S * 1000))
    )
    if held.rowcount != 1:
        session.rollback()
        raise RunBusyError(f"run {run_id}: this process lost its lease; another process runs it now")


def forget_live_lease(token: str) -> None:
    """This process's run holding ``token`` has ended (its lease, if still written, is stale)."""
    _LIVE_TOKENS.discard(token)


__all__ = [
    "LEASE_TTL_S",
    "LeaseHolder",
    "LedgerBook",
    "LedgerStore",
    "fence",
    "forget_live_lease",
    "ledger_spend",
]
