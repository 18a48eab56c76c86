"""The budget guarantee: a hard cap on spending that holds under concurrency and retries.

Every request first *reserves* an upper bound of its cost (prompt tokens + ``max_tokens`` at
the model's prices, or the request timeout at the machine's $/hour); the reservation is
granted only if

    spent + reserved + amount <= cap                                           (1)

When the request returns it is *settled*: the reservation is released and the actual cost
charged.  Since each actual cost is at most its reservation, (1) gives the invariant

    spent <= spent + reserved <= cap                                           (2)

at every moment, whatever the order in which requests finish, fail or are retried (a retry
is a new reservation).  The runner stops launching when no reservation fits.  All amounts
are integer micro-dollars (``budget.money``), so sums are exact.

A settlement above its reservation means a cost bound was wrong (a provider billed more
tokens than the request allowed); it is charged all the same, because money spent is spent,
counted in ``overrun_micro`` and blocks every later reservation.

**Across kills** (a :class:`Journal`, the store's reservations table).  A reservation is granted
only once the journal has it durably (``Journal.opened`` returned); if that write fails the
reservation is undone and the error raised, so no request is sent for it.  Settlements reach
the journal afterwards (``Journal.settled``, possibly late or, in a kill, never).  With ``J_open``
the journal's open reservations and ``J_charged`` the charges of its closed ones, at every moment
(and so at the moment of any kill)

    J_charged + sum(amount of J_open) >= spent - spent_0 + reserved                  (3)

where ``spent_0`` is the spend the ledger started with: an open row counts its whole amount,
which is at least its actual cost.  A resumed run starts from
``spent_0' = spent_0 + J_charged + sum(amount of J_open)`` (its open rows are charged whole),
which by (3) is at least everything sent so far could have cost, so (2) holds across any number
of kills and resumes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from budget.errors import InputError


@dataclass
class Reservation:
    """A granted reservation; settle or release it exactly once."""

    amount_micro: int
    ident: int
    open: bool = field(default=True)
    #: its key in the journal (None without one)
    key: int | None = None


class Journal(Protocol):
    """Where reservations are kept durably (see (3) of the module docstring)."""

    def opened(self, amount_micro: int, label: str) -> int:
        """Keep a new reservation durably (committed when this returns); its key."""
        ...

    def settled(self, key: int, charged_micro: int) -> None:
        """Close reservation ``key`` with its actual cost (may be written later)."""
        ...


class Ledger:
    """Reservations and settlements against a cap (thread-safe)."""

    def __init__(self, cap_micro: int, *, spent_micro: int = 0, journal: Journal | None = None) -> None:
        if cap_micro < 0 or spent_micro < 0:
            raise InputError("budget cap and spend must be non-negative")
        self.cap_micro = cap_micro
        self.journal = journal
        self._spent = spent_micro
        self._reserved = 0
        self._overrun = 0
        self._next = 0
        self._open = 0
        self._lock = threading.Lock()

    @property
    def spent_micro(self) -> int:
        """Settled spend (micro-dollars), including overruns."""
        return self._spent

    @property
    def reserved_micro(self) -> int:
        """Reservations of requests still in flight (micro-dollars)."""
        return self._reserved

    @property
    def overrun_micro(self) -> int:
        """What settlements charged above their reservations (a wrong bound)."""
        return self._overrun

    @property
    def open_reservations(self) -> int:
        """How many reservations are not settled yet."""
        return self._open

    @property
    def available_micro(self) -> int:
        """What a new reservation may take now."""
        with self._lock:
            return self._available()

    def _available(self) -> int:
        if self._overrun:
            return 0
        return max(0, self.cap_micro - self._spent - self._reserved)

    def try_reserve(self, amount_micro: int, *, label: str = "") -> Reservation | None:
        """Reserve ``amount_micro`` if (1) allows it, else None.

        With a journal, the reservation is written there before it is returned; if that fails
        it is undone and the journal's error raised (nothing may be sent for it).
        """
        if amount_micro < 0:
            raise ValueError("a reservation cannot be negative")
        with self._lock:
            if amount_micro > self._available():
                return None
            self._reserved += amount_micro
            self._next += 1
            self._open += 1
            reservation = Reservation(amount_micro, self._next)
        if self.journal is not None:
            try:
                reservation.key = self.journal.opened(amount_micro, label)
            except BaseException:
                with self._lock:
                    reservation.open = False
                    self._reserved -= amount_micro
                    self._open -= 1
                raise
        return reservation

    def settle(self, reservation: Reservation, actual_micro: int) -> None:
        """Release ``reservation`` and charge the actual cost."""
        if actual_micro < 0:
            raise ValueError("a cost cannot be negative")
        with self._lock:
            if not reservation.open:
                raise RuntimeError(f"reservation {reservation.ident} settled twice")
            reservation.open = False
            self._open -= 1
            self._reserved -= reservation.amount_micro
            self._spent += actual_micro
            if actual_micro > reservation.amount_micro:
                self._overrun += actual_micro - reservation.amount_micro
        if self.journal is not None and reservation.key is not None:
            self.journal.settled(reservation.key, actual_micro)

    def release(self, reservation: Reservation) -> None:
        """Give a reservation back unused (nothing was sent, or nothing is billed)."""
        self.settle(reservation, 0)
