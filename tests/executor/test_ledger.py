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
