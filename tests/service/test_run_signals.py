"""Stop signals while a run is already stopping (hostile review): a second SIGTERM or SIGHUP (a
closed terminal sends SIGHUP, a supervisor SIGTERM) must not cut the cleanup short, in which the
requests in flight are charged their reservations and the run is marked interrupted."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from budget.service.running.lease import cancel_on_stop_signals


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_a_second_stop_signal_does_not_cancel_the_cleanup() -> None:
    cleaned = []

    async def run() -> str:
        task = asyncio.current_task()
        assert task is not None
        stops = cancel_on_stop_signals(task)
        try:
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                await asyncio.Event().wait()  # the run, until the signal cancels it
            except asyncio.CancelledError:
                task.uncancel()  # the runner settles what is in flight, then reports "interrupted"
                os.kill(os.getpid(), signal.SIGHUP)  # a second signal while it cleans up
                while stops.received < 2:  # the loop has run the second signal's handler
                    await asyncio.sleep(0)
                await asyncio.sleep(0)
                cleaned.append(True)
                return "interrupted"
            return "completed"
        finally:
            stops()

    assert asyncio.run(run()) == "interrupted" and cleaned == [True]
