"""How ``budget run`` shows itself: a live progress line (:mod:`budget.report.progress`), and its summary."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Console

from budget.money import fmt_usd, from_micro
from budget.report.progress import LiveProgress, eta, per_second
from budget.report.tables import Column, fitted_table
from budget.report.text import markup_safe

if TYPE_CHECKING:
    from budget.executor.runner import Progress
    from budget.service.running import RunResult


def progress_line(p: Progress, now: float | None = None) -> str:
    """``$spent/$cap · samples · problems solved · samples/s · ETA``, short enough for 80 columns."""
    elapsed = (time.monotonic() if now is None else now) - p.started
    rate, rest = eta(p.samples, p.planned, elapsed)
    return (
        f"{fmt_usd(from_micro(p.spent_micro))}/{fmt_usd(from_micro(p.cap_micro))}"
        f" · {p.samples:,}/{p.planned:,} samples · {p.solved:,}/{p.problems:,} solved"
        f" · {per_second(rate)} · {rest}"
    )


class RunProgress(LiveProgress["Progress"]):
    """Progress of a run (:mod:`budget.report.progress`): the bar fills with the money spent."""

    def __init__(self, console: Console | None = None, **kwargs: Any) -> None:
        super().__init__("run", console, **kwargs)

    def line(self, event: Progress, now: float) -> str:
        """Spend against the cap, samples, solved, rate and time left."""
        return progress_line(event, now)

    def fraction(self, event: Progress) -> float:
        """The share of the cap spent."""
        return event.spent_micro / event.cap_micro if event.cap_micro else 1.0

    def final(self, event: Progress) -> bool:
        """Whether nothing is in flight any more (the run's last event)."""
        return not event.in_flight


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
