"""How ``budget run`` shows itself: a live progress line, and the summary of a run."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console

from budget.money import fmt_usd, from_micro
from budget.report.tables import Column, fitted_table
from budget.report.text import markup_safe

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress

    from budget.executor.runner import Progress
    from budget.service.running import RunResult


def progress_line(p: Progress, now: float | None = None) -> str:
    """``$spent/$cap · samples · problems solved · samples/s · ETA``, short enough for 80 columns."""
    elapsed = max(1e-9, (time.monotonic() if now is None else now) - p.started)
    rate = p.samples / elapsed
    left = max(0, p.planned - p.samples)
    if rate > 0 and left:
        eta_s = left / rate
        eta = f"ETA {round(eta_s / 60)}m" if eta_s >= 60 else f"ETA {round(eta_s)}s"
    else:
        eta = "ETA -" if left else "done"
    return (
        f"{fmt_usd(from_micro(p.spent_micro))}/{fmt_usd(from_micro(p.cap_micro))}"
        f" · {p.samples:,}/{p.planned:,} samples · {p.solved:,}/{p.problems:,} solved · {rate:.1f}/s · {eta}"
    )


#: Seconds between progress lines when stderr is not a terminal (CI logs).
LOG_INTERVAL_S = 5.0


class RunProgress:
    """Progress of a run: a rich bar on a terminal; elsewhere (CI logs, pipes) a plain line on
    stderr every :data:`LOG_INTERVAL_S` seconds, and a last one at the end of a run that
    printed any.  A run shorter than the interval prints none (stderr stays for the error).

    ``clock`` is injectable so that tests drive time instead of waiting for it.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        min_interval_s: float = 0.1,
        log_interval_s: float = LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = self.console.is_terminal
        self.min_interval_s = min_interval_s
        self.log_interval_s = log_interval_s
        self.clock = clock
        self._last = 0.0
        self._logged: float | None = None
        self._final: Progress | None = None
        self._printed = False
        self._bar: RichProgress | None = None
        self._task: object = None

    def __enter__(self) -> RunProgress:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("[bold]run"),
                BarColumn(bar_width=8),
                TextColumn("{task.description}"),
                console=self.console,
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("starting", total=1.0)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)
        elif self._final is not None and self._printed:
            self._log(self._final, self.clock())

    def __call__(self, p: Progress) -> None:
        now = self.clock()
        if self._bar is None:
            self._final = p
            if self._logged is None:
                self._logged = now  # the clock starts at the first update
            elif now - self._logged >= self.log_interval_s:
                self._log(p, now)
            return
        if now - self._last < self.min_interval_s and p.in_flight:
            return
        self._last = now
        done = p.spent_micro / p.cap_micro if p.cap_micro else 1.0
        self._bar.update(self._task, completed=min(1.0, done), description=progress_line(p, now))  # type: ignore[arg-type]

    def _log(self, p: Progress, now: float) -> None:
        self._logged = now
        self._printed = True
        self._final = None
        self.console.file.write(f"run: {progress_line(p, now)}\n")
        self.console.file.flush()


def render_run(result: RunResult, console: Console) -> None:
    """The summary table of a finished (or stopped) run."""
    console.print(
        f"[bold]run {markup_safe(result.run_id)}[/bold] on {markup_safe(result.task)}: {result.stop_reason} "
        f"({result.status}); spent {fmt_usd(result.spent)} of {fmt_usd(result.cap)}; "
        f"{result.samples:,} samples in {result.elapsed_s:.1f}s"
    )
    columns = [
        Column("model", "left", wrap=True),
        Column("samples"),
        Column("solved"),
        Column("spent"),
        Column("failed", drop=2),
        Column("retries", drop=1),
    ]
    rows = [
        [
            m.model,
            f"{m.samples:,}",
            f"{m.problems_solved:,}/{result.problems:,}",
            fmt_usd(m.spent),
            f"{m.failed_samples:,}",
            f"{m.retries:,}",
        ]
        for m in result.models
    ]
    table = fitted_table(columns, rows, console.width)
    console.print(table)
    notes = []
    if result.error:
        notes.append(f"[bold red]failed:[/bold red] {markup_safe(result.error)}")
    if result.concurrency_source:
        notes.append(
            f"{result.concurrency} requests in flight ({markup_safe(result.concurrency_source)}), "
            f"timeout {result.timeout_s:g}s ({markup_safe(result.timeout_source)})"
        )
    if result.unattributed:
        notes.append(f"{fmt_usd(result.unattributed)} charged for failed or interrupted requests")
    for m in result.models:
        if m.provider_faults:
            extra = f", {m.extra_choices} extra choices" if m.extra_choices else ""
            first = m.fault_notes[0] if m.fault_notes else ""
            notes.append(
                f"{markup_safe(m.model)}: {m.provider_faults} replies broke the request's terms{extra}, "
                f"charged as billed or as the worst case (first: {markup_safe(first)})"
            )
    if result.lost_in_flight:
        notes.append(f"{fmt_usd(result.lost_in_flight)} reserved by requests lost when the run was killed")
    if result.verified == "none":
        notes.append("samples were not verified (--verify none)")
    if result.status != "finished":
        notes.append(
            markup_safe(
                f"resume with: budget run --resume {result.run_id}"
                + (f" --db {result.db}" if result.db else "")
            )
        )
    for n in notes:
        console.print(f"  {n}")
