"""``budget verify``: verify a samples file against a task; pass@k per model, verdicts as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from budget.cli import app, emit
from budget.executor.records import Mode


@app.command("verify")
def verify_command(
    task: Annotated[
        str,
        typer.Option("--task", metavar="TASK", help="A built-in task (budget tasks) or a task JSONL file."),
    ],
    samples: Annotated[
        Path, typer.Option("--samples", help="JSONL rows: task_id, completion, optional model and mode.")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="One verdict per sample, in input order.")] = False,
    tier: Annotated[
        Literal["verifier", "ground_truth", "both"],
        typer.Option(
            metavar="TIER",
            help="verifier (the production check), ground_truth (the stronger check) or both"
            " (false-positive rate).",
        ),
    ] = "verifier",
    unsafe_no_sandbox: Annotated[
        bool,
        typer.Option(
            "--unsafe-no-sandbox", help="Run generated code without isolation where no sandbox works."
        ),
    ] = False,
    timeout: Annotated[float | None, typer.Option(help="Seconds per sample (overrides the task's).")] = None,
    mode: Annotated[
        Mode,
        typer.Option(help="Default for rows without 'mode': chat replies get their code extracted."),
    ] = Mode.COMPLETION,
    workers: Annotated[int | None, typer.Option(help="Parallel checks (default: one per CPU).")] = None,
) -> None:
    """Verify samples (sandboxed); print pass@k per model, or with --json every verdict.

    Unreadable rows (bad JSON, not UTF-8, missing fields, unknown task id): 'error' verdicts, exit code 3.
    """
    from budget.errors import DataError
    from budget.report.progress import StepProgress
    from budget.service.verification import VerifyRequest, verify_samples

    request = VerifyRequest(
        task=task,
        samples=samples,
        tier=tier,
        unsafe_no_sandbox=unsafe_no_sandbox,
        timeout_s=timeout,
        mode=mode,
        workers=workers,
    )
    with StepProgress("verify") as progress:
        report = verify_samples(request, progress=progress)
    emit(report, "verify:render_verify", json_out=json_out)
    errors = report.summary.errors
    if errors:
        shown = "; ".join(f"line {e.line}: {e.message}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise DataError(
            f"{len(errors)} of {report.summary.samples} rows could not be verified: {shown}{more}"
        )
