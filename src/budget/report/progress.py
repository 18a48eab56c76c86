"""Live progress of long work, one mechanism for every command (``run``, ``calibrate``,
``verify``, ``fit``, ``import``): a rich bar on a terminal; elsewhere (CI logs, pipes) a plain
line on stderr every :data:`LOG_INTERVAL_S` seconds and a last one at the end, so that a log
shows the work is alive without a line per unit.  Work shorter than the interval prints
nothing (stderr stays for the error).

:class:`LiveProgress` is generic over the event it is fed; a subclass says how an event reads
(:meth:`LiveProgress.line`) and how far along it is (:meth:`LiveProgress.fraction`).
:class:`StepProgress` shows the services' counted :class:`~budget.service.progress.Step`;
:class:`budget.report.run.RunProgress` shows a run's money.  The clock is injectable so that
tests drive time instead of waiting for it.  Events may come from worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from rich.console import Console
from rich.markup import escape

from budget.report.text import printable

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress

    from budget.service.progress import Step

#: Seconds between progress lines when stderr is not a terminal (CI logs).
LOG_INTERVAL_S = 5.0

E = TypeVar("E")


def eta(done: float, total: float, elapsed: float) -> tuple[float, str]:
    """Units per second so far, and ``ETA 3m`` / ``ETA 40s`` / ``ETA -`` / ``done`` for the rest."""
    rate = done / max(1e-9, elapsed)
    left = max(0.0, total - done)
    if rate > 0 and left:
        seconds = left / rate
        return rate, f"ETA {round(seconds / 60)}m" if seconds >= 60 else f"ETA {round(seconds)}s"
    return rate, "ETA -" if left else "done"


class LiveProgress(Generic[E]):
    """Shows events of type ``E`` as they come: a bar on a terminal, log lines elsewhere."""

    def __init__(
        self,
        label: str,
        console: Console | None = None,
        *,
        min_interval_s: float = 0.1,
        log_interval_s: float | None = None,
        clock: Callable[[], float] | None = None,
        transient: bool = False,
    ) -> None:
        self.label = label
        self.console = console or Console(stderr=True)
        self.enabled = self.console.is_terminal
        self.min_interval_s = min_interval_s
        # read here, not bound at import, so that a test can set them for a whole command
        self.log_interval_s = LOG_INTERVAL_S if log_interval_s is None else log_interval_s
        self.clock = clock or time.monotonic
        self.transient = transient
        self.started = self.clock()
        self._lock = threading.Lock()
        self._last = 0.0
        self._logged: float | None = None
        self._final: E | None = None
        self._printed = False
        self._bar: RichProgress | None = None
        self._task: object = None

    # -- what an event says: subclasses
    def line(self, event: E, now: float) -> str:
        """The plain line an event makes (logs, pipes)."""
        raise NotImplementedError

    def fraction(self, event: E) -> float:
        """How far along an event says the work is (0 to 1: the bar)."""
        raise NotImplementedError

    def final(self, event: E) -> bool:
        """Whether the bar must show this event even inside ``min_interval_s`` (the last one)."""
        return self.fraction(event) >= 1.0

    # -- the mechanism
    def __enter__(self) -> Self:
        self.started = self.clock()
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn(f"[bold]{self.label}"),
                BarColumn(bar_width=8),
                TextColumn("{task.description}"),
                console=self.console,
                transient=self.transient,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("starting", total=1.0)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.__exit__(kind, exc, tb)
            elif self._final is not None and self._printed:
                self._log(self._final, self.clock())

    def __call__(self, event: E) -> None:
        """Take one progress event (the worker's callback; thread-safe)."""
        with self._lock:
            now = self.clock()
            if self._bar is None:
                self._final = event
                if self._logged is None:
                    self._logged = now  # the log's clock starts at the first update
                elif now - self._logged >= self.log_interval_s:
                    self._log(event, now)
                return
            if now - self._last < self.min_interval_s and not self.final(event):
                return
            self._last = now
            self._bar.update(
                self._task,  # type: ignore[arg-type]
                completed=min(1.0, max(0.0, self.fraction(event))),
                description=escape(self.line(event, now)),
            )

    def _log(self, event: E, now: float) -> None:
        self._logged = now
        self._printed = True
        self._final = None
        self.console.file.write(f"{self.label}: {printable(self.line(event, now))}\n")
        self.console.file.flush()


def per_second(rate: float) -> str:
    """``12.5/s`` below 100 a second, ``43,194/s`` above (no decimals of noise)."""
    return f"{rate:,.0f}/s" if rate >= 100 else f"{rate:.1f}/s"


#: Columns of a step's line (the label and the bar take the rest of 80).
STEP_LINE_MAX = 64


def step_line(step: Step, elapsed: float) -> str:
    """``120/400 samples · 12.0/s · ETA 23s · verifier``, short enough for 80 columns."""
    rate, rest = eta(step.done, step.total, elapsed)
    text = f"{step.done:,}/{step.total:,} {step.unit} · {per_second(rate)} · {rest}"
    detail = printable(step.detail)
    if detail and len(text) + 3 + len(detail) <= STEP_LINE_MAX:  # a name too long is left out, not cut
        text += f" · {detail}"
    return text


class StepProgress(LiveProgress["Step"]):
    """Progress of counted work (:class:`~budget.service.progress.Step`); the bar goes away at the end."""

    def __init__(self, label: str, console: Console | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("transient", True)
        super().__init__(label, console, **kwargs)

    def line(self, event: Step, now: float) -> str:
        """The step's label, counts and elapsed time."""
        return step_line(event, now - self.started)

    def fraction(self, event: Step) -> float:
        """Steps done over steps in all."""
        return event.done / event.total if event.total else 1.0
