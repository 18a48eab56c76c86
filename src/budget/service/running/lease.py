"""Holding a run while running it: its lease in the store, renewed in the background; stop signals.

One run has one ledger, so one process at a time may run it (see :mod:`budget.store.ledger`).
:class:`RunLease` takes the lease (or raises :class:`~budget.errors.RunBusyError`), renews it
every :data:`RENEW_EVERY_S` seconds from a daemon thread while the run lasts, and gives it back at
the end; a process that dies leaves a lease that the next ``--resume`` takes over (its process is
gone, or it stopped being renewed).

SIGTERM and SIGHUP stop a run as Ctrl-C does (:func:`stop_signals_interrupt`,
:func:`cancel_on_stop_signals`): requests in flight are cancelled and charged their reservations,
the run is marked interrupted, and ``--resume`` continues it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, Self

from budget.errors import StoreError

if TYPE_CHECKING:
    from budget.store import Store

#: How often the holder renews its lease (a small fraction of its time to live).
RENEW_EVERY_S = 10.0

#: The signals that stop a run cleanly, besides SIGINT (Ctrl-C).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class RunLease:
    """This process's lease on a run (a context manager; also usable with acquire/release)."""

    def __init__(self, store: Store, run_id: str) -> None:
        from budget.store.ledger import LeaseHolder

        self.store = store
        self.run_id = run_id
        self.holder = LeaseHolder.this_process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def token(self) -> str:
        """This process's lease token (writes to the run carry it)."""
        return self.holder.token

    def acquire(self) -> Self:
        """Take the run's lease and keep it renewed.

        Raises :class:`~budget.errors.RunBusyError` if another live process holds it.
        """
        self.store.acquire_lease(self.run_id, self.holder)
        self._thread = threading.Thread(target=self._renew, name="budget-lease", daemon=True)
        self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_EVERY_S):
            try:
                if not self.store.renew_lease(self.run_id, self.token):
                    return  # taken over: reservations are refused from now on (fencing)
            except StoreError:
                continue  # the database is unavailable for now: the lease lives until it expires

    def release(self) -> None:
        """Stop renewing and give the lease back; if the store cannot be written, it goes stale."""
        from budget.store.ledger import forget_live_lease

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        forget_live_lease(self.token)
        with contextlib.suppress(StoreError):
            self.store.release_lease(self.run_id, self.token)

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While in the block, SIGTERM and SIGHUP raise KeyboardInterrupt (as Ctrl-C does)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class StopSignals:
    """SIGTERM and SIGHUP handlers of a running loop that cancel a task once; call to undo them.

    Only the first signal cancels: the task is then stopping (settling what is in flight, marking
    the run interrupted), and a second signal (a closed terminal's SIGHUP after a supervisor's
    SIGTERM) must not cut that cleanup short.  ``received`` counts the signals handled.
    """

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task = task
        self.loop = task.get_loop()
        self.received = 0
        self._installed: dict[int, Any] = {}
        for sig in STOP_SIGNALS:
            before = signal.getsignal(sig)
            try:
                self.loop.add_signal_handler(sig, self._stop)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no support
                continue
            self._installed[sig] = before

    def _stop(self) -> None:
        self.received += 1
        if self.received == 1:
            self.task.cancel()

    def __call__(self) -> None:
        """Remove the handlers and restore the ones that were there before."""
        for sig, before in self._installed.items():
            self.loop.remove_signal_handler(sig)
            signal.signal(sig, before if before is not None else signal.SIG_DFL)
        self._installed = {}


def cancel_on_stop_signals(task: asyncio.Task[object]) -> StopSignals:
    """In a running loop, the first SIGTERM or SIGHUP cancels ``task``; returns what undoes this."""
    return StopSignals(task)
