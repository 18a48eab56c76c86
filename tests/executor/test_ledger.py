"""The budget guarantee: spent + reserved never exceeds the cap, whatever the interleaving."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.executor.ledger import Ledger


@given(
    cap=st.integers(0, 10_000),
    ops=st.lists(
        st.tuples(st.sampled_from(["reserve", "settle", "release"]), st.integers(0, 3_000), st.floats(0, 1)),
        max_size=200,
    ),
)
def test_cap_holds_under_any_interleaving(cap: int, ops: list[tuple[str, int, float]]) -> None:
    ledger = Ledger(cap)
    open_: list[tuple[object, int]] = []
    charged = 0
    for op, amount, frac in ops:
        if op == "reserve":
            r = ledger.try_reserve(amount)
            # reference: granted exactly when it fits beside what is spent and reserved
            fits = charged + sum(a for _, a in open_) + amount <= cap
            assert (r is not None) == fits
            if r is not None:
                open_.append((r, amount))
        elif open_:
            r, a = open_.pop(int(frac * len(open_)) % len(open_))
            actual = int(a * frac) if op == "settle" else 0
            if op == "settle":
                ledger.settle(r, actual)  # type: ignore[arg-type]
            else:
                ledger.release(r)  # type: ignore[arg-type]
            charged += actual
        assert ledger.spent_micro == charged
        assert ledger.spent_micro + ledger.reserved_micro <= cap
        assert ledger.open_reservations == len(open_)


def test_settle_twice_and_overrun() -> None:
    ledger = Ledger(100, spent_micro=10)
    r = ledger.try_reserve(50)
    assert r is not None and ledger.available_micro == 40
    ledger.settle(r, 60)  # a provider billed more than the bound: charged, and everything stops
    assert ledger.spent_micro == 70 and ledger.overrun_micro == 10
    assert ledger.try_reserve(1) is None
    with pytest.raises(RuntimeError):
        ledger.settle(r, 0)


def test_threads_never_exceed_cap() -> None:
    ledger = Ledger(10_000)
    peak = [0]
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(2_000):
            r = ledger.try_reserve(7)
            if r is None:
                continue
            with lock:
                peak[0] = max(peak[0], ledger.spent_micro + ledger.reserved_micro)
            ledger.settle(r, 3)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ledger.spent_micro <= 10_000 and peak[0] <= 10_000
    assert ledger.spent_micro % 3 == 0 and ledger.reserved_micro == 0 and ledger.open_reservations == 0


class _Journal:
    """A reference journal: rows by key; settlements arrive late (``flush``); a write can fail."""

    def __init__(self) -> None:
        self.rows: dict[int, list[int | None]] = {}  # key -> [amount, charged or None while open]
        self.late: list[tuple[int, int]] = []
        self.fail = False

    def opened(self, amount_micro: int, label: str) -> int:
        if self.fail:
            raise OSError("database or disk is full")
        key = len(self.rows) + 1
        self.rows[key] = [amount_micro, None]
        return key

    def settled(self, key: int, charged_micro: int) -> None:
        self.late.append((key, charged_micro))

    def flush(self, count: int) -> None:
        for key, charged in self.late[:count]:
            self.rows[key][1] = charged
        del self.late[:count]

    def spend_on_resume(self) -> int:
        """(1) of budget.store.ledger: charged rows, and open rows charged whole."""
        return sum(int(c) if c is not None else int(a or 0) for a, c in self.rows.values())


@given(
    cap=st.integers(0, 10_000),
    spent_0=st.integers(0, 2_000),
    ops=st.lists(
        st.tuples(
            st.sampled_from(["reserve", "reserve_fails", "settle", "release", "flush"]),
            st.integers(0, 3_000),
            st.floats(0, 1),
        ),
        max_size=200,
    ),
)
def test_journal_knows_every_reservation_at_every_kill_point(
    cap: int, spent_0: int, ops: list[tuple[str, int, float]]
) -> None:
    """Invariant (3) of budget.executor.ledger, against a reference model, after every operation
    (each a possible kill point): what a resume would charge is at least what was sent could cost."""
    spent_0 = min(spent_0, cap)  # a resumed run starts within its cap
    journal = _Journal()
    ledger = Ledger(cap, spent_micro=spent_0, journal=journal)
    open_: list[tuple[object, int]] = []
    sent_worst = 0  # what the requests sent so far could have cost: settled actuals + open amounts
    for op, amount, frac in ops:
        if op in ("reserve", "reserve_fails"):
            journal.fail = op == "reserve_fails"
            before = (ledger.spent_micro, ledger.reserved_micro, ledger.open_reservations)
            fits = spent_0 + sent_worst + amount <= cap  # (1): spent + reserved = spent_0 + sent_worst
            try:
                r = ledger.try_reserve(amount, label="m")
            except OSError:
                assert journal.fail and fits  # only a reservation that fits is written
                assert (ledger.spent_micro, ledger.reserved_micro, ledger.open_reservations) == before
                continue
            assert (r is not None) == fits
            if r is not None:
                assert r.key in journal.rows  # on record before it is handed out (and sent)
                open_.append((r, amount))
                sent_worst += amount
        elif op == "flush":
            journal.flush(int(frac * (len(journal.late) + 1)))
        elif open_:
            r, a = open_.pop(int(frac * len(open_)) % len(open_))
            actual = int(a * frac) if op == "settle" else 0
            ledger.settle(r, actual)  # type: ignore[arg-type]
            sent_worst += actual - a
        charged = sum(int(c) for _, c in journal.rows.values() if c is not None)
        open_rows = sum(int(a or 0) for a, c in journal.rows.values() if c is None)
        assert charged + open_rows >= ledger.spent_micro - spent_0 + ledger.reserved_micro  # (3)
        assert journal.spend_on_resume() >= sent_worst  # a resume after a kill here counts it all
        assert ledger.spent_micro + ledger.reserved_micro <= cap
    journal.flush(len(journal.late))  # a clean end: the journal and the ledger agree exactly
    charged = sum(int(c) for _, c in journal.rows.values() if c is not None)
    open_rows = sum(int(a or 0) for a, c in journal.rows.values() if c is None)
    assert charged + open_rows == ledger.spent_micro - spent_0 + ledger.reserved_micro
