"""How ``budget show``, ``budget export`` and ``budget import`` show themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from budget.money import fmt_usd

if TYPE_CHECKING:
    from budget.service.importing import ImportResult
    from budget.service.store_view import ExportResult, RunDetail


def _n(x: int | None) -> str:
    return "-" if x is None else str(x)


def render_run(run: RunDetail, console: Console) -> None:
    cap = f" of {fmt_usd(run.cap)}" if run.cap is not None else ""
    why = f" ({run.stop_reason})" if run.stop_reason else ""
    console.print(
        f"Run [bold]{run.run_id}[/] on {run.task}: {run.status}{why}, spent {fmt_usd(run.spent)}{cap}"
    )
    if run.imported:
        console.print(f"Imported from {run.imported.get('file', '?')} ({run.imported.get('format', '?')})")
    if run.error:
        console.print(f"[red]error[/]: {run.error}")
    table = Table(title_justify="left")
    for col in ("model", "problems", "samples", "solved (ground truth)", "solved (verifier)", "spent"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for m in run.models:
        table.add_row(
            m.model,
            str(m.problems),
            str(m.samples),
            _n(m.solved_ground_truth),
            _n(m.solved_verifier),
            fmt_usd(m.spent),
        )
    console.print(table)


def render_export(result: ExportResult, console: Console) -> None:
    console.print(f"Wrote {result.samples} samples of run {result.run_id} to {result.file}")


def render_import(result: ImportResult, console: Console) -> None:
    console.print(
        f"Imported {result.file} ({result.format}) as run [bold]{result.run_id}[/] "
        f"of {result.task} in {result.db}"
    )
    for m in result.models:
        console.print(f"  {m.model}: {m.samples} samples of {m.problems} problems")
    console.print(f"Next: budget fit --db {result.db} --task {result.task}")
