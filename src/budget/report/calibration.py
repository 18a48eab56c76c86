"""How ``budget calibrate`` and ``budget runs`` show themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from budget.money import UNKNOWN_COST_NOTE, fmt_pct, fmt_usd
from budget.report.tables import Column, fitted_table
from budget.report.text import markup_safe
from budget.report.text import markup_safe as _t

if TYPE_CHECKING:
    from budget.service.calibration import CalibrationResult
    from budget.service.store_view import RunList


def render_calibration(result: CalibrationResult, console: Console) -> None:
    """A line on the pilot run, a table of the fitted curves, and what to do next."""
    if result.run_id:
        cap = f" of {fmt_usd(result.cap)}" if result.cap is not None else ""
        console.print(
            f"Pilot run [bold]{_t(result.run_id)}[/] on {_t(result.task)}: {result.run_status}, "
            f"spent {fmt_usd(result.spent)}{cap}"
        )
    columns = [
        Column("model", "left", wrap=True),
        Column("problems", drop=3),
        Column("samples", drop=4),
        Column("passed", drop=5),
        Column("cov@1", drop=2),
        Column("cov@10", drop=1),
        Column("cov@100"),
        Column("$/sample"),
    ]
    rows = []
    for f in result.fits:
        cov = [fmt_pct(f.coverage[k]) if k in f.coverage else "-" for k in ("1", "10", "100")]
        cost = fmt_usd(f.cost_per_sample) if f.cost_per_sample is not None else "-"
        rows.append([f.model, f"{f.problems:,}", f"{f.samples:,}", f"{f.correct:,}", *cov, cost])
    table = fitted_table(columns, rows, console.width, title=f"Your curves for {result.task}")
    console.print(table)
    if any(f.cost_per_sample is None and f.samples for f in result.fits):
        console.print(f"  $/sample - {UNKNOWN_COST_NOTE}", highlight=False)
    for f in result.fits:
        if f.status != "fitted":
            console.print(f"[yellow]{_t(f.model)}: not fitted[/]: {_t(f.reason)}")
    console.print(f"Stored in {_t(result.db)}. Next: {_t(result.next_step)}")


def _n(x: int | None) -> str:
    return "-" if x is None else str(x)


def render_runs(runs: RunList, console: Console) -> None:
    """The stored runs, newest first."""
    if not runs.runs:
        console.print(f"No runs in {_t(runs.db)}.")
        return
    columns = [
        Column("run", "left"),
        Column("task", "left", wrap=True, drop=1),
        Column("status", "left", drop=2),
        Column("models", "left", wrap=True),
        Column("samples", drop=3),
        Column("solved\n(ground truth\n/ verifier)"),  # on three lines: 13 columns, not 32
        Column("spent / cap"),
        Column("started", "left", wrap=True, drop=4, breaks=" "),  # never inside the date
    ]
    rows = []
    for r in runs.runs:
        cap = fmt_usd(r.cap) if r.cap is not None else "-"
        rows.append(
            [
                r.run_id,
                r.task,
                r.status,
                ", ".join(r.models),
                f"{r.samples:,}",
                f"{_n(r.solved_ground_truth)} / {_n(r.solved_verifier)} of {r.problems:,}",
                f"{fmt_usd(r.spent)} / {cap}",
                r.created_at.strftime("%Y-%m-%d %H:%M"),
            ]
        )
    console.print(fitted_table(columns, rows, console.width, title=f"Runs in {runs.db}"))
    if any(r.spent is None for r in runs.runs):
        console.print(f"  spent {UNKNOWN_COST_NOTE}", highlight=False)
    for r in runs.runs:
        if r.reason:
            console.print(f"  {r.run_id} failed: {markup_safe(r.reason)}")
