"""Rendering of a plan made with the verifier you really have: the coverage plan, then K*."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from budget.report.plan import render_plan
from budget.service.verifier_planning import VerifiedPlanResult


def render_verified_plan(result: VerifiedPlanResult, console: Console) -> None:
    """``budget plan`` with a verifier's error rates: the plan, then what acceptance buys."""
    render_plan(result, console)
    n = result.inputs.problems
    table = Table(
        title=f"With the verifier you have ({result.verifier_assumption}); a wrong submission costs "
        f"{result.fp_cost:g}: submit the first accepted sample, at most K* attempts",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("model", overflow="fold")
    for col in ("K*", "K if\nperfect", "right", "wrong", "abstain", "utility", "FP share\n(90%)"):
        table.add_column(col, justify="right", no_wrap=True)
    for a in result.alternatives:
        share = "-" if a.fp_share is None else f"{a.fp_share:.1%}"
        if a.fp_share_interval is not None:
            share += f"\n{a.fp_share_interval[0]:.0%}-{a.fp_share_interval[1]:.0%}"
        table.add_row(
            f"{a.display or a.model} ({a.verifier})",
            str(a.k_star),
            str(a.k_perfect),
            f"{a.expected_true_positives * n:.1f}",
            f"{a.expected_false_positives * n:.1f}",
            f"{a.expected_abstentions * n:.1f}",
            f"{a.expected_utility * n:.1f}",
            share,
        )
    console.print(table)
    for q in result.verifier_quality:
        bins = ", ".join(
            f"{b.label} {'-' if b.fp_share is None else f'{b.fp_share:.0%}'} "
            f"({b.false_positives}/{b.accepted})"
            for b in q.by_difficulty
        )
        console.print(f"{q.model}: false-positive share by difficulty: {bins}")
