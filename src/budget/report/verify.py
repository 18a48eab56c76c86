"""Rendering of ``budget verify`` (pass@k per model, outcomes, bad rows) and ``budget tasks``."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from budget.money import fmt_pct
from budget.report.tables import Column, fitted_table
from budget.service.tasks import TaskListing
from budget.service.verification import VerifyReport
from budget.verify.protocol import printable


def render_verify(report: VerifyReport, console: Console) -> None:
    """``budget verify``: pass@k per model, outcomes and bad rows."""
    summary = report.summary
    both = report.tier == "both"
    tier = {"verifier": "verifier tier", "ground_truth": "ground-truth tier", "both": "both tiers"}
    sandbox = "sandboxed" if report.sandbox else "UNSAFE: no sandbox required"
    name = escape(printable(report.task, 200))
    console.print(
        f"{name}: {summary.samples:,} samples, {tier[report.tier]} ({sandbox})",
        highlight=False,
    )
    ks = sorted({k for m in summary.models for k in m.pass_at_k})
    modes = {m.mode for m in summary.models}
    show_mode = len(modes) > 1 or modes != {"completion"}
    columns = [Column("model", "left", wrap=True)]
    if show_mode:
        columns.append(Column("mode", "left"))
    columns += [Column("n", drop=3)]
    # the first and last k always; those between go first when the width is short
    columns += [Column(f"pass@{k}", drop=0 if k in (ks[0], ks[-1]) else 2) for k in ks]
    columns.append(Column("solved"))
    if both:
        columns += [Column("GT\npass@1"), Column("FP")]
    rows = []
    for m in summary.models:
        cells = [m.model or "(no model)"]
        if show_mode:
            cells.append(m.mode)
        cells.append(f"{m.samples:,}")
        cells += [fmt_pct(m.pass_at_k[k]) if k in m.pass_at_k else "-" for k in ks]
        cells.append(f"{m.solved:,}/{m.problems:,}")
        if both:
            gt = m.ground_truth_pass_at_k or {}
            cells.append(fmt_pct(gt[1]) if 1 in gt else "-")
            rate = f" {m.false_positive_rate:.0%}" if m.false_positive_rate is not None else ""
            cells.append(f"{m.accepted_but_wrong:,}/{m.passed:,}{rate}")
        rows.append(cells)
    table = fitted_table(columns, rows, console.width)
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
    """``budget tasks``: the built-in tasks and verifier plug-ins."""
    columns = [
        Column("task", "left", wrap=True),
        Column("problems"),
        Column("verifier (production check)", "left", prose=True),
        Column("ground truth", "left", prose=True),
    ]
    rows = [[t.name, f"{t.problems:,}", t.verifier, t.ground_truth] for t in listing.tasks]
    table = fitted_table(columns, rows, console.width, title="Built-in tasks")
    console.print(table)
    for t in listing.tasks:
        console.print(f"[dim]{t.name}: {escape(t.description)}; {escape(t.source)}[/dim]")
    console.print(f"verifier plug-ins: {', '.join(listing.verifiers) or '(none found)'}")
    console.print(f"your own tasks: {escape(listing.user_tasks)}")
