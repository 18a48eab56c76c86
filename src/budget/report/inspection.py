"""How ``budget show``, ``budget export`` and ``budget import`` show themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from budget.money import UNKNOWN_COST_NOTE, fmt_usd
from budget.report.tables import Column, fitted_table
from budget.report.text import markup_safe

if TYPE_CHECKING:
    from budget.service.importing import ImportResult
    from budget.service.store_view import ExportResult, RunDetail


def _n(x: int | None) -> str:
    return "-" if x is None else f"{x:,}"


def render_run(run: RunDetail, console: Console) -> None:
    """``budget show RUN_ID``: the run's status, spend and models."""
    cap = f" of {fmt_usd(run.cap)}" if run.cap is not None else ""
    why = f" ({markup_safe(run.stop_reason)})" if run.stop_reason else ""
    console.print(
        f"Run [bold]{run.run_id}[/] on {markup_safe(run.task)}: {run.status}{why}, "
        f"spent {fmt_usd(run.spent)}{cap}",
        highlight=False,
    )
    if run.imported:
        file, form = run.imported.get("file", "?"), run.imported.get("format", "?")
        console.print(f"Imported from {markup_safe(str(file))} ({markup_safe(str(form))})", highlight=False)
    if run.error:
        console.print(f"[red]error[/]: {markup_safe(run.error)}", highlight=False)
    columns = [
        Column("model", "left", wrap=True),
        Column("problems", drop=2),
        Column("samples", drop=1),
        Column("solved\n(ground truth)"),
        Column("solved\n(verifier)"),
        Column("spent"),
    ]
    rows = [
        [
            m.model,
            f"{m.problems:,}",
            f"{m.samples:,}",
            _n(m.solved_ground_truth),
            _n(m.solved_verifier),
            fmt_usd(m.spent),
        ]
        for m in run.models
    ]
    console.print(fitted_table(columns, rows, console.width))
    if run.spent is None or any(m.spent is None for m in run.models):
        console.print(f"  {UNKNOWN_COST_NOTE}", highlight=False)


def render_export(result: ExportResult, console: Console) -> None:
    """``budget show --export``: where the samples went."""
    console.print(
        f"Wrote {result.samples:,} samples of run {result.run_id} to {markup_safe(result.file)}",
        highlight=False,
    )


def render_import(result: ImportResult, console: Console) -> None:
    """``budget import``: the run the file became."""
    console.print(
        f"Imported {markup_safe(result.file)} ({result.format}) as run [bold]{result.run_id}[/] "
        f"of {markup_safe(result.task)} in {markup_safe(result.db)}",
        highlight=False,
    )
    for m in result.models:
        console.print(
            f"  {markup_safe(m.model)}: {m.samples:,} samples of {m.problems:,} problems", highlight=False
        )
    console.print(
        f"Next: budget fit --db {markup_safe(result.db)} --task {markup_safe(result.task)}", highlight=False
    )
