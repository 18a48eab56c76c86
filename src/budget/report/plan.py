"""Rendering of a plan for an engineering lead: headline, comparison table, frontier chart."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from budget.money import fmt_usd
from budget.planner import PlanResult
from budget.report.chart import line_chart


def _k(groups: list[tuple[int, int]], n: int) -> str:
    if not groups:
        return "-"
    ks = sorted({k for k, _ in groups})
    covered = sum(m for _, m in groups)
    txt = str(ks[0]) if len(ks) == 1 else f"{ks[0]}-{ks[-1]}"
    return txt if covered == n else f"{txt} on {covered}/{n}"


def render_plan(result: PlanResult, console: Console) -> None:
    s = result.inputs
    rec = result.recommendation
    console.print(
        Panel(
            Text(rec.headline, style="bold"),
            title=f"budget plan: {fmt_usd(s.dollars)} on {s.task} "
            f"({s.problems} {s.unit}, policy {s.policy.value}" + (", hard cap" if s.hard_cap else "") + ")",
            border_style="green",
        )
    )
    table = Table(title="Each model alone, and one sample of each", title_justify="left", expand=False)
    for col, kw in [
        ("model", {"no_wrap": True}),
        ("samples / problem", {"justify": "right"}),
        ("expected solved", {"justify": "right"}),
        ("90% interval", {"justify": "right"}),
        ("cost", {"justify": "right"}),
        ("$ / solved", {"justify": "right"}),
    ]:
        table.add_column(col, **kw)  # type: ignore[arg-type]
    best_models = {a.model for a in rec.allocations}
    for alt in sorted(result.alternatives, key=lambda a: -a.expected_solved):
        groups = [(a.samples_per_problem, a.problems) for a in alt.allocations]
        star = "★ " if best_models == {alt.model} else "  "
        table.add_row(
            f"{star}{alt.display} [dim]({alt.tier})[/dim]",
            _k(groups, s.problems),
            f"{alt.expected_solved:.1f}",
            f"{alt.solved_interval[0]:.0f}-{alt.solved_interval[1]:.0f}",
            fmt_usd(alt.expected_cost),
            fmt_usd(alt.dollars_per_solved) if alt.dollars_per_solved is not None else "-",
        )
    table.add_section()
    for one in sorted(result.frontier_single_sample, key=lambda x: -x.expected_solved):
        table.add_row(
            f"  [dim]{one.display}, 1 sample[/dim]",
            "1",
            f"{one.expected_solved:.1f}",
            "",
            fmt_usd(one.cost) + ("" if one.within_budget else " [red](over)[/red]"),
            fmt_usd(float(one.cost) / one.expected_solved) if one.expected_solved > 0 else "-",
        )
    chart = line_chart(
        {
            next(a.display for a in result.alternatives if a.model == m): [
                (p.dollars, p.expected_solved) for p in pts
            ]
            for m, pts in result.frontier.items()
        },
        mark_x=float(s.dollars),
    )
    notes = Text()
    for c in result.crossings:
        notes.append(
            f"• {c.cheaper_wins_below} solves more below {fmt_usd(c.dollars)}, "
            f"{c.dearer_wins_above} above it\n"
        )
    for w in result.warnings:
        notes.append(f"! {w}\n", style="yellow")
    notes.append("Assumes: " + "; ".join(result.assumptions) + ".\n", style="dim")
    costs = Text()
    for alt in result.alternatives:
        costs.append(f"• {alt.display}: {alt.cost_model}\n", style="dim")
        costs.append(f"  source: {alt.source}\n", style="dim")
    console.print(table)
    console.print(Panel(chart, title="Expected solved against dollars", border_style="blue"))
    console.print(Group(notes, Text("Cost models and sources:", style="dim"), costs))
