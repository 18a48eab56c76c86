"""``budget report`` in the terminal: the one-minute report an engineering lead reads.

Headline with its assumption, the comparison table, expected solved against dollars (with
every crossing), coverage against samples per model (fit, interval band, observed points),
the run and its check results, the verifier's measured false-positive rate, and the prices
with their dates.  The HTML and Markdown exports (``budget.report.export``) show the same.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from budget.money import UNKNOWN_COST_NOTE, fmt_usd
from budget.report.chart import line_chart
from budget.report.plan import comparison_table, cost_notes, frontier_chart, headline_panel, plan_notes
from budget.report.tables import Column, fitted_table
from budget.report.text import markup_safe as _t
from budget.service.reporting import Report


def coverage_chart(report: Report, width: int) -> Text:
    """Coverage (%) against k per model: fitted line, interval band, observed points."""
    series = {c.display: [(float(p.k), 100 * p.coverage) for p in c.fitted] for c in report.curves}
    bands = {c.display: [(float(p.k), 100 * p.low, 100 * p.high) for p in c.fitted] for c in report.curves}
    points = {c.display: [(float(p.k), 100 * p.coverage) for p in c.observed] for c in report.curves}
    return line_chart(
        series,
        width=max(40, width),
        x_label="samples per problem, k (log scale)",
        y_label="coverage %",
        x_format=lambda k: f"{k:,.0f}",
        bands=bands,
        points={k: v for k, v in points.items() if v},
        y_limit=100.0,
    )


def check_table(report: Report) -> Table | Text:
    """The run's check results, or the note saying why there are none."""
    if report.check is None:
        return Text(f"Check: {report.check_note}", style="dim") if report.check_note else Text("")
    table = Table(title="Check", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("check", overflow="fold")
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold", ratio=1)
    style = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}
    for item in report.check.items:
        table.add_row(_t(item.name), f"[{style[item.status]}]{item.status}[/]", _t(item.detail))
    return table


def verifier_table(report: Report) -> Table | None:
    """The verifier's false-positive rate per model (None without a two-tier run)."""
    if not report.verifier:
        return None
    table = Table(
        title="Verifier against the ground truth (false positives)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("model", overflow="fold")
    table.add_column("accepted", justify="right", no_wrap=True)
    table.add_column("wrongly accepted", justify="right", no_wrap=True)
    table.add_column("rate", justify="right", no_wrap=True)
    for v in report.verifier:
        table.add_row(_t(v.model), f"{v.accepted:,}", f"{v.wrongly_accepted:,}", f"{v.rate:.1%}")
    return table


def price_table(report: Report, width: int) -> Table:
    """The price behind each model's cost per sample, with its source and date."""
    columns = [
        Column("model", "left", wrap=True),
        Column("$/sample"),
        Column("source and date", "left", prose=True),
    ]
    rows = [[p.display, fmt_usd(p.cost_per_sample), "; ".join(p.sources)] for p in report.prices]
    return fitted_table(columns, rows, width, title="Prices behind the costs")


def render_report(report: Report, console: Console) -> None:
    """The one-minute report on a terminal."""
    plan = report.plan
    if plan is not None:
        console.print(headline_panel(plan, extra=report.assumption))
    else:
        text = Text(report.headline, style="bold")
        text.append("\n" + report.assumption, style="")
        console.print(Panel(text, title=Text(report.title), border_style="yellow"))
    if report.run is not None:
        r = report.run
        cap = f" of {fmt_usd(r.cap)}" if r.cap is not None else ""
        console.print(
            f"[bold]{_t(report.title)}[/bold]: {r.status}, {r.samples:,} samples, "
            f"spent {fmt_usd(r.spent)}{cap}",
            highlight=False,
        )
    if plan is not None:
        console.print(comparison_table(plan))
        chart = frontier_chart(plan, console.width - 4)
        console.print(Panel(chart, title="Expected solved against dollars", border_style="blue"))
        console.print(plan_notes(plan))
    if report.curves:
        cov = coverage_chart(report, console.width - 4)
        console.print(Panel(cov, title="Coverage against samples per problem", border_style="blue"))
    console.print(check_table(report))
    table = verifier_table(report)
    if table is not None:
        console.print(table)
    console.print(price_table(report, console.width))
    if any(p.cost_per_sample is None for p in report.prices):
        console.print(f"  $/sample {UNKNOWN_COST_NOTE}", highlight=False)
    if plan is not None:
        console.print(cost_notes(plan))
