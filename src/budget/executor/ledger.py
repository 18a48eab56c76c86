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
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from budget.errors import InputError


@dataclass
class Reservation:
    """A granted reservation; settle or release it exactly once."""

    amount_micro: int
    ident: int
    open: bool = field(default=True)


class Ledger:
    """Reservations and settlements against a cap (thread-safe)."""

    def __init__(self, cap_micro: int, *, spent_micro: int = 0) -> None:
        if cap_micro < 0 or spent_micro < 0:
            raise InputError("budget cap and spend must be non-negative")
        self.cap_micro = cap_micro
        self._spent = spent_micro
        self._reserved = 0
        self._overrun = 0
        self._next = 0
        self._open = 0
        self._lock = threading.Lock()

    @property
    def spent_micro(self) -> int:
        return self._spent

    @property
    def reserved_micro(self) -> int:
        return self._reserved

    @property
    def overrun_micro(self) -> int:
        return self._overrun

    @property
    def open_reservations(self) -> int:
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

    def try_reserve(self, amount_micro: int) -> Reservation | None:
        """Reserve ``amount_micro`` if (1) allows it, else None."""
        if amount_micro < 0:
            raise ValueError("a reservation cannot be negative")
        with self._lock:
            if amount_micro > self._available():
                return None
            self._reserved += amount_micro
            self._next += 1
            self._open += 1
            return Reservation(amount_micro, self._next)

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

    def release(self, reservation: Reservation) -> None:
        """Give a reservation back unused (nothing was sent, or nothing is billed)."""
        self.settle(reservation, 0)
