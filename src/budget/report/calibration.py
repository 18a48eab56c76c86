"""How ``budget calibrate`` and ``budget runs`` show themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from budget.money import fmt_usd
from budget.report.text import markup_safe

if TYPE_CHECKING:
    from budget.service.calibration import CalibrationResult
    from budget.service.store_view import RunList


def render_calibration(result: CalibrationResult, console: Console) -> None:
    """A line on the pilot run, a table of the fitted curves, and what to do next."""
    if result.run_id:
        cap = f" of {fmt_usd(result.cap)}" if result.cap is not None else ""
        console.print(
            f"Pilot run [bold]{result.run_id}[/] on {result.task}: {result.run_status}, "
            f"spent {fmt_usd(result.spent)}{cap}"
        )
    table = Table(title=f"Your curves for {result.task}", title_justify="left")
    for col in ("model", "problems", "samples", "passed", "cov@1", "cov@10", "cov@100", "$/sample"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for f in result.fits:
        cov = [f"{100 * f.coverage[k]:.1f}%" if k in f.coverage else "-" for k in ("1", "10", "100")]
        cost = fmt_usd(f.cost_per_sample) if f.cost_per_sample is not None else "-"
        table.add_row(f.model, str(f.problems), str(f.samples), str(f.correct), *cov, cost)
    console.print(table)
    for f in result.fits:
        if f.status != "fitted":
            console.print(f"[yellow]{f.model}: not fitted[/]: {f.reason}")
    console.print(f"Stored in {result.db}. Next: {result.next_step}")


def render_runs(runs: RunList, console: Console) -> None:
    """The stored runs, newest first."""
    if not runs.runs:
        console.print(f"No runs in {runs.db}.")
        return
    table = Table(title=f"Runs in {runs.db}", title_justify="left")
    for col in ("run", "task", "status", "models", "samples", "spent / cap", "started"):
        table.add_column(
            col, justify="right" if col in ("samples", "spent / cap") else "left", no_wrap=col == "run"
        )
    for r in runs.runs:
        cap = fmt_usd(r.cap) if r.cap is not None else "-"
        table.add_row(
            r.run_id,
            r.task,
            r.status,
            ",".join(r.models),
            str(r.samples),
            f"{fmt_usd(r.spent)} / {cap}",
            r.created_at.strftime("%m-%d %H:%M"),
        )
    console.print(table)
    for r in runs.runs:
        if r.reason:
            console.print(f"  {r.run_id} failed: {markup_safe(r.reason)}")
