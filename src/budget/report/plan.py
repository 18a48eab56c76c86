"""Rendering of a plan for an engineering lead: headline, comparison table, frontier chart."""

from __future__ import annotations

from decimal import Decimal

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from budget.money import fmt_usd
from budget.planner import PlanResult, Policy
from budget.report.chart import line_chart


def _per_solved(x: object) -> str:
    """Dollars per solved problem in the one money format ('-' when nothing is solved)."""
    if x is None:
        return "-"
    return fmt_usd(Decimal(str(x)))


def _k(groups: list[tuple[int, int]], n: int, policy: Policy) -> str:
    """Samples per problem: ``23-24``; until-pass plans a most, so ``≤24``; ``(294/300)``
    when some problems get none."""
    if not groups:
        return "-"
    ks = sorted({k for k, _ in groups})
    covered = sum(m for _, m in groups)
    if policy is Policy.UNTIL_PASS:
        txt = f"≤{ks[-1]:,}"
    else:
        txt = f"{ks[0]:,}" if len(ks) == 1 else f"{ks[0]:,}-{ks[-1]:,}"
    return txt if covered == n else f"{txt} ({covered:,}/{n:,})"


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
    table = Table(
        title="Each model alone; then (dim) one sample per problem of each",
        title_justify="left",
        expand=False,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for col, kw in [
        ("model", {"overflow": "fold", "min_width": 26}),
        ("samples\n/problem" if s.policy is Policy.FIXED else "most\nsamples", {"justify": "right", "no_wrap": True}),
        ("solved", {"justify": "right", "no_wrap": True}),
        ("90%", {"justify": "right", "no_wrap": True}),
        ("cost", {"justify": "right", "no_wrap": True}),
        ("$/solved", {"justify": "right", "no_wrap": True}),
    ]:
        table.add_column(col, **kw)  # type: ignore[arg-type]
    best_models = {a.model for a in rec.allocations}
    for alt in sorted(result.alternatives, key=lambda a: -a.expected_solved):
        groups = [(a.samples_per_problem, a.problems) for a in alt.allocations]
        best = best_models == {alt.model}
        table.add_row(
            f"[bold green]{alt.display}[/bold green]" if best else alt.display,
            _k(groups, s.problems, s.policy),
            f"{alt.expected_solved:.1f}",
            f"{alt.solved_interval[0]:.0f}-{alt.solved_interval[1]:.0f}",
            fmt_usd(alt.expected_cost),
            _per_solved(alt.dollars_per_solved),
        )
    table.add_section()
    for one in sorted(result.frontier_single_sample, key=lambda x: -x.expected_solved):
        table.add_row(
            f"[dim]{one.display}[/dim]",
            "1",
            f"{one.expected_solved:.1f}",
            "",
            fmt_usd(one.cost) + ("" if one.within_budget else "[red]![/red]"),
            _per_solved(float(one.cost) / one.expected_solved if one.expected_solved > 0 else None),
        )
    chart = line_chart(
        {
            next(a.display for a in result.alternatives if a.model == m): [
                (p.dollars, p.expected_solved) for p in pts
            ]
            for m, pts in result.frontier.items()
        },
        width=max(40, console.width - 4),
        mark_x=float(s.dollars),
        crossings=[c.dollars for c in result.crossings],
    )
    notes = Text()
    for c in sorted(result.crossings, key=lambda c: abs(c.dollars - float(s.dollars))):
        notes.append(
            f"× at {fmt_usd(c.dollars)}: {c.cheaper_wins_below} solves more below, "
            f"{c.dearer_wins_above} above\n"
        )
    for w in dict.fromkeys(result.warnings):
        notes.append(f"! {w}\n", style="yellow")
    notes.append("Assumes: " + "; ".join(dict.fromkeys(result.assumptions)) + ".\n", style="dim")
    costs = Text()
    for alt in result.alternatives:
        costs.append(f"• {alt.display}: {alt.cost_model}\n", style="dim")
        costs.append(f"  source: {alt.source}\n", style="dim")
    if any(not one.within_budget for one in result.frontier_single_sample):
        table.caption = "! one sample of every problem costs more than the budget"
        table.caption_justify = "left"
    console.print(table)
    console.print(Panel(chart, title="Expected solved against dollars", border_style="blue"))
    console.print(Group(notes, Text("Cost models and sources:", style="dim"), costs))
