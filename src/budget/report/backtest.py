"""Rendering of ``budget backtest``: per model, predicted against replayed, and the summary."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from budget.money import fmt_usd
from budget.service.backtest import BacktestResult


def _pts(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_backtest(result: BacktestResult, console: Console) -> None:
    """``budget backtest``: each case's prediction against the outcome, and the summary."""
    i = result.inputs
    pilot = (
        f"{i.pilot_samples} samples per problem" if i.pilot_samples else f"{fmt_usd(i.pilot_dollars or 0)}"
    )
    console.print(
        f"[bold]backtest[/bold] of {i.source} ({i.task}, {i.problems} problems): {i.pilot} pilot of {pilot}, "
        f"{i.seeds} seeds, {i.interval_level:.0%} intervals"
    )
    table = Table(title_justify="left")
    for col in ("model", "k", "pilot/problem", "predicted", "interval", "replayed", "error (pts)", "cost"):
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    for x in result.cases:
        err = 100 * (x.predicted_coverage - x.replayed_coverage)
        inside = x.interval[0] <= x.replayed_coverage <= x.interval[1]
        table.add_row(
            x.model,
            f"{x.k:,}",
            f"{x.pilot_samples:.0f}",
            _pts(x.predicted_coverage),
            f"{_pts(x.interval[0])}-{_pts(x.interval[1])}",
            _pts(x.replayed_coverage) + ("" if inside else " [yellow]outside[/yellow]"),
            f"{err:+.1f}",
            fmt_usd(x.predicted_cost) if x.predicted_cost is not None else "-",
        )
    console.print(table)
    for model, s in result.by_model.items():
        console.print(
            f"{model}: MAE {s.mae_points:.2f} pts, interval holds the replay in {s.interval_hit_rate:.0%} "
            f"of {s.cases}, mean width {s.mean_interval_width_points:.1f} pts"
        )
    s = result.summary
    console.print(
        f"[bold]all[/bold]: MAE {s.mae_points:.2f} pts, hit rate {s.interval_hit_rate:.0%}, "
        f"mean width {s.mean_interval_width_points:.1f} pts over {s.cases} cases"
    )
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
