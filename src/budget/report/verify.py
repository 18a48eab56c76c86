"""Rendering of ``budget verify`` (pass@k per model, outcomes, bad rows) and ``budget tasks``."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from budget.service.tasks import TaskListing
from budget.service.verification import VerifyReport
from budget.verify.protocol import printable


def render_verify(report: VerifyReport, console: Console) -> None:
    summary = report.summary
    both = report.tier == "both"
    tier = {"verifier": "verifier tier", "ground_truth": "ground-truth tier", "both": "both tiers"}
    sandbox = "sandboxed" if report.sandbox else "UNSAFE: no sandbox required"
    console.print(
        f"{escape(printable(report.task, 200))}: {summary.samples} samples, {tier[report.tier]} ({sandbox})",
        highlight=False,
    )
    table = Table()
    table.add_column("model", overflow="fold", ratio=1)
    table.add_column("n", justify="right", no_wrap=True)
    ks = sorted({k for m in summary.models for k in m.pass_at_k})
    for k in ks:
        table.add_column(f"pass@{k}", justify="right", no_wrap=True)
    table.add_column("solved", justify="right", no_wrap=True)
    if both:
        table.add_column("GT pass@1", justify="right", no_wrap=True)
        table.add_column("FP", justify="right", no_wrap=True)
    modes = {m.mode for m in summary.models}
    for m in summary.models:
        name = m.model or "(no model)"
        if len(modes) > 1 or m.mode != "completion":
            name += f" [{m.mode}]"
        cells = [escape(printable(name, 200)), str(m.samples)]
        cells += [f"{m.pass_at_k[k]:.1%}" if k in m.pass_at_k else "-" for k in ks]
        cells.append(f"{m.solved}/{m.problems}")
        if both:
            gt = m.ground_truth_pass_at_k or {}
            cells.append(f"{gt[1]:.1%}" if 1 in gt else "-")
            rate = f" {m.false_positive_rate:.0%}" if m.false_positive_rate is not None else ""
            cells.append(f"{m.accepted_but_wrong}/{m.passed}{rate}")
        table.add_row(*cells)
    console.print(table)
    outcomes = ", ".join(f"{n} {name}" for name, n in sorted(summary.outcomes.items()))
    console.print(f"outcomes: {outcomes}")
    if any(m.min_samples_per_problem < max(ks, default=1) for m in summary.models):
        console.print("[dim]pass@k: up to the fewest samples of any problem of that model.[/dim]")
    if both:
        console.print(
            "[dim]FP: accepted by the verifier tier but rejected by the ground truth, of all accepted "
            "(false positives; Stroebl, Kapoor, Narayanan 2024).[/dim]"
        )
    for e in summary.errors[:5]:
        console.print(f"[red]line {e.line}[/red]: {escape(printable(e.message))}", highlight=False)


def render_tasks(listing: TaskListing, console: Console) -> None:
    table = Table(title="Built-in tasks", title_justify="left")
    table.add_column("task", no_wrap=True)
    table.add_column("problems", justify="right", no_wrap=True)
    table.add_column("verifier (production check)", overflow="fold", ratio=1)
    table.add_column("ground truth", overflow="fold", ratio=1)
    for t in listing.tasks:
        table.add_row(t.name, str(t.problems), t.verifier, t.ground_truth)
    console.print(table)
    for t in listing.tasks:
        console.print(f"[dim]{t.name}: {escape(t.description)}; {escape(t.source)}[/dim]")
    console.print(f"verifier plug-ins: {', '.join(listing.verifiers) or '(none found)'}")
    console.print(f"your own tasks: {escape(listing.user_tasks)}")
