"""Progress of counted work (samples verified, models fitted, rows imported), as the services report it.

A service that does long work takes an optional ``progress`` callback and calls it with a
:class:`Step` as units finish (from any thread); :class:`budget.report.progress.LiveProgress`
shows it (a bar on a terminal, a line every few seconds in CI logs).  Runs report the
executor's richer :class:`budget.executor.accounting.Progress` (money) through the same display.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """``done`` of ``total`` units of ``unit`` finished; ``detail`` says what is being done now."""

    done: int
    total: int
    unit: str
    detail: str = ""


StepCallback = Callable[[Step], None]
