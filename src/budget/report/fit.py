"""Rendering of ``budget fit``: per model a heading, a table of predictions with intervals
(:func:`budget.report.tables.fitted_table`: readable at 80 columns), the fitter and its notes.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from budget.money import fmt_pct
from budget.report.tables import Column, fitted_table, labelled_lines
from budget.report.text import markup_safe
from budget.service.fitting import BOUND_FITTER, FitResult, ModelFit

_pct = fmt_pct


def _times(ratio: float) -> str:
    """How far past the data a k lies: ``5x``, ``10,000x``."""
    return f"{ratio:,.0f}x" if ratio >= 1.5 else f"{ratio:,.1f}x"


def fit_table(m: ModelFit, level: float, width: int) -> Table:
    """Predictions of one model: k, observed pass@k, predicted, interval, and how far past the data."""
    bound = m.fitter == BOUND_FITTER
    columns = [
        Column("k"),
        Column("observed"),
        Column("upper bound only" if bound else "predicted"),
        Column(f"{level:.0%} interval"),
        Column("past data", drop=1),
    ]
    observed = {o.k: o.pass_at_k for o in m.observed}
    rows = [
        [
            f"{p.k:,}",
            _pct(observed[p.k]) if p.k in observed else "-",
            _pct(p.coverage),
            f"{_pct(p.interval[0])} - {_pct(p.interval[1])}",
            _times(p.extrapolation) if p.extrapolation > 1 else "",
        ]
        for p in m.predictions
    ]
    if not any(r[-1] for r in rows):  # nothing extrapolated: no empty column
        columns, rows = columns[:-1], [r[:-1] for r in rows]
    return fitted_table(columns, rows, width)


def render_fit(result: FitResult, console: Console) -> None:
    """``budget fit``: per model, the fitter chosen, its parameters and predictions."""
    for m in result.models:
        console.print(
            f"[bold]{markup_safe(m.model)}[/bold] on {markup_safe(m.task)}: {m.n_problems:,} problems,"
            f" pass@k measured up to k = {m.max_observed_k:,}",
            highlight=False,
        )
        console.print(fit_table(m, result.interval_level, console.width))
        lines: list[tuple[str, str]] = [("fitter", f"{m.fitter}: {m.formula}")]
        if m.params:
            lines.append(("", ", ".join(f"{k} = {v:.4g}" for k, v in m.params.items())))
        if m.scores:
            scores = ", ".join(f"{k} {100 * v:.2f}" for k, v in m.scores.items())
            lines.append(("backtest", f"out-of-sample error (points): {scores}"))
        lines += [("note", w) for w in m.warnings if not w.startswith("fitter chosen")]
        console.print(labelled_lines(lines))
        console.print()
    for skipped in result.skipped:
        console.print(f"[red]skipped {markup_safe(skipped.model)}:[/red] {markup_safe(skipped.reason)}")
