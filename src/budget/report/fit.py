"""Rendering of ``budget fit``: one table per model, predictions with intervals."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from budget.service.fitting import FitResult


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_fit(result: FitResult, console: Console) -> None:
    for m in result.models:
        table = Table(
            title=(
                f"{m.model} on {m.task}: {m.n_problems} problems,"
                f" pass@k measured up to k = {m.max_observed_k:,}"
            ),
            title_justify="left",
        )
        table.add_column("k", justify="right")
        table.add_column("observed", justify="right")
        bound = m.fitter == "zero_success_bound"
        table.add_column("upper bound only" if bound else "predicted", justify="right")
        table.add_column(f"{result.interval_level:.0%} interval", justify="right")
        table.add_column("note", no_wrap=True)
        observed = {o.k: o.pass_at_k for o in m.observed}
        for p in m.predictions:
            flag = f"[yellow]{p.extrapolation:.0f}x past data[/yellow]" if p.extrapolation > 1 else ""
            table.add_row(
                f"{p.k:,}",
                _pct(observed[p.k]) if p.k in observed else "-",
                _pct(p.coverage),
                f"{_pct(p.interval[0])} - {_pct(p.interval[1])}",
                flag,
            )
        console.print(table)
        params = ", ".join(f"{k}={v:.4g}" for k, v in m.params.items())
        console.print(f"fitter [bold]{m.fitter}[/bold] ({m.formula}); {params}")
        if m.scores:
            scores = ", ".join(f"{k} {100 * v:.2f}" for k, v in m.scores.items())
            console.print(f"[dim]out-of-sample error (points): {scores}[/dim]")
        for w in m.warnings:
            if not w.startswith("fitter chosen"):
                console.print(f"[yellow]note:[/yellow] {w}")
        console.print()
    for skipped in result.skipped:
        console.print(f"[red]skipped {skipped.model}:[/red] {skipped.reason}")
