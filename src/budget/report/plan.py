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
from budget.planner.provenance import Provenance
from budget.report.chart import line_chart
from budget.report.tables import labelled_lines
from budget.report.text import markup_safe as _t
from budget.service.planning import PlanSweep


def _basis(p: Provenance | None) -> str:
    """Where the row's coverage comes from: (fitted), (measured), (extrapolated 4x), (borrowed 2x).

    The cost's basis (measured, published, user-given, estimated) is in --json and in the
    cost models below the table.
    """
    if p is None:
        return ""
    if p.coverage in ("extrapolated", "borrowed") and p.extrapolation > 1:
        word = "extrapolated" if p.coverage == "extrapolated" else "borrowed"
        return f" [dim]({word} {p.extrapolation:.3g}x)[/dim]"
    return f" [dim]({p.coverage})[/dim]"


def _per_solved(x: object) -> str:
    """Dollars per solved problem in the one money format ('-' when nothing is solved)."""
    if x is None:
        return "-"
    return fmt_usd(Decimal(str(x)))


def _k(groups: list[tuple[int, int]], n: int, policy: Policy) -> str:
    """Samples per problem: ``23-24``; until-pass plans a most, so ``≤24``; ``(294/300)``
    when some problems get none.
    """
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
    """``budget plan``: headline, comparison, chart, notes and cost sources."""
    console.print(headline_panel(result))
    console.print(comparison_table(result))
    chart = frontier_chart(result, console.width - 4)
    console.print(Panel(chart, title="Expected solved against dollars", border_style="blue"))
    console.print(Group(plan_notes(result), cost_notes(result)))


def headline_panel(result: PlanResult, extra: str = "") -> Panel:
    """The recommendation in one sentence, titled with the question it answers."""
    s = result.inputs
    text = Text(result.recommendation.headline, style="bold")
    if extra:
        text.append("\n" + extra, style="")
    return Panel(
        text,
        title=f"budget plan: {fmt_usd(s.dollars)} on {s.task} "
        f"({s.problems} {s.unit}, policy {s.policy.value}" + (", hard cap" if s.hard_cap else "") + ")",
        border_style="green",
    )


def comparison_table(result: PlanResult) -> Table:
    """Each model alone at the budget, then one sample per problem of each."""
    s = result.inputs
    rec = result.recommendation
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
        (
            "samples\n/problem" if s.policy is Policy.FIXED else "most\nsamples",
            {"justify": "right", "no_wrap": True},
        ),
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
            (f"[bold green]{_t(alt.display)}[/bold green]" if best else _t(alt.display))
            + _basis(alt.provenance),
            _k(groups, s.problems, s.policy),
            f"{alt.expected_solved:.1f}",
            f"{alt.solved_interval[0]:.0f}-{alt.solved_interval[1]:.0f}",
            fmt_usd(alt.expected_cost),
            _per_solved(alt.dollars_per_solved),
        )
    table.add_section()
    for one in sorted(result.frontier_single_sample, key=lambda x: -x.expected_solved):
        table.add_row(
            f"[dim]{_t(one.display)}[/dim]" + _basis(one.provenance),
            "1",
            f"{one.expected_solved:.1f}",
            "",
            fmt_usd(one.cost) + ("" if one.within_budget else "[red]![/red]"),
            _per_solved(float(one.cost) / one.expected_solved if one.expected_solved > 0 else None),
        )
    if any(not one.within_budget for one in result.frontier_single_sample):
        table.caption = "! one sample of every problem costs more than the budget"
        table.caption_justify = "left"
    return table


def frontier_series(result: PlanResult) -> dict[str, list[tuple[float, float]]]:
    """Expected solved against dollars, per model (display names)."""
    labels = {a.model: a.display for a in result.alternatives}
    return {
        labels.get(m, m): [(p.dollars, p.expected_solved) for p in pts] for m, pts in result.frontier.items()
    }


def frontier_chart(result: PlanResult, width: int) -> Text:
    """Expected problems solved against dollars per model, with the budget and the crossings marked."""
    return line_chart(
        frontier_series(result),
        width=max(40, width),
        mark_x=float(result.inputs.dollars),
        crossings=[c.dollars for c in result.crossings],
    )


def crossing_lines(result: PlanResult) -> list[str]:
    """Every crossing, nearest the budget first."""
    budget = float(result.inputs.dollars)
    return [
        f"at {fmt_usd(c.dollars)}: {c.cheaper_wins_below} solves more below, {c.dearer_wins_above} above"
        for c in sorted(result.crossings, key=lambda c: abs(c.dollars - budget))
    ]


def plan_notes(result: PlanResult) -> Group:
    """Crossings, warnings and assumptions, each wrapped under itself (a hanging indent)."""
    lines: list[tuple[str, str] | tuple[str, str, str]] = [("×", line, "") for line in crossing_lines(result)]
    lines += [("!", w, "yellow") for w in dict.fromkeys(result.warnings)]
    assumes = "; ".join(dict.fromkeys(result.assumptions)) + "."
    return Group(labelled_lines(lines), labelled_lines([("Assumes:", assumes)], style="dim"))


def cost_notes(result: PlanResult) -> Group:
    """Each model's cost model and its source, wrapped under the model's bullet."""
    lines: list[tuple[str, str] | tuple[str, str, str]] = []
    for alt in result.alternatives:
        lines.append(("•", f"{alt.display}: {alt.cost_model}"))
        lines.append(("", f"source: {alt.source}"))
    return Group(Text("\nCost models and sources:", style="dim"), labelled_lines(lines, style="dim"))


def render_sweep(sweep: PlanSweep, console: Console) -> None:
    """``budget plan --dollars 10,50,500``: one row per budget."""
    table = Table(
        title=f"What each budget buys on {sweep.task} ({sweep.problems:,} {sweep.unit})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("budget", justify="right", no_wrap=True)
    table.add_column("sample (per problem)", overflow="fold", ratio=1)
    table.add_column("solved", justify="right", no_wrap=True)
    table.add_column("90%", justify="right", no_wrap=True)
    table.add_column("cost", justify="right", no_wrap=True)
    table.add_column("$/solved", justify="right", no_wrap=True)
    for r in sweep.rows:
        table.add_row(
            fmt_usd(r.dollars),
            r.recommendation,
            f"{r.expected_solved:,.1f}",
            f"{r.solved_interval[0]:,.0f}-{r.solved_interval[1]:,.0f}",
            fmt_usd(r.expected_cost),
            _per_solved(r.dollars_per_solved),
        )
    table.caption = (
        "solved: problems with at least one correct sample, if your verifier recognises it; "
        "details per budget: budget plan --dollars D"
    )
    table.caption_justify = "left"
    console.print(table)
    warnings = dict.fromkeys(f"{fmt_usd(p.inputs.dollars)}: {w}" for p in sweep.plans for w in p.warnings)
    for w in warnings:
        console.print(Text(f"! {w}", style="yellow"))
