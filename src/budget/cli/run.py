"""``budget run``: carry out a plan on real models under a hard cap, verify, store.

Nothing heavy is imported here at module level: ``budget plan`` imports every CLI module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from budget.cli import app, emit
from budget.cli._options import (
    ApiBase,
    Backend,
    Concurrency,
    Db,
    JsonOut,
    Machine,
    MaxTokens,
    ModeOption,
    PolicyOption,
    Price,
    Temperature,
    UnsafeNoSandbox,
    split_models,
)
from budget.executor.records import Mode


@app.command("run")
def run_command(
    task: Annotated[
        str | None,
        typer.Option(
            metavar="TASK",
            help="Task name (e.g. humaneval) or a task JSONL file. Required unless --plan or --resume.",
        ),
    ] = None,
    models: Annotated[
        str | None,
        typer.Option(
            metavar="MODEL[,MODEL]", help="Models to sample. Required unless --plan or --resume."
        ),
    ] = None,
    dollars: Annotated[
        str | None,
        typer.Option(
            "--dollars", "-d", metavar="USD", help="Hard cap in US dollars. Required unless --resume."
        ),
    ] = None,
    problems: Annotated[int | None, typer.Option(help="Use the first N problems of the task.")] = None,
    samples: Annotated[
        int | None, typer.Option(help="Samples per problem (else: plan with --dollars).")
    ] = None,
    policy: PolicyOption = None,
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Run a plan written by budget plan --export.")
    ] = None,
    api_base: ApiBase = None,
    price: Price = None,
    machine: Machine = None,
    mode: ModeOption = Mode.COMPLETION,
    seed: Annotated[int, typer.Option(help="Run seed (each request's seed derives from it).")] = 0,
    max_tokens: MaxTokens = 512,
    temperature: Temperature = 0.8,
    concurrency: Concurrency = None,
    n_per_request: Annotated[
        int | None, typer.Option(help="Samples per request (the API's n); default: 1 for servers.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds before a request is abandoned and retried (with --machine: its reservation); "
            "default: from the machine's measured throughput, else 120."
        ),
    ] = None,
    backend: Backend = "auto",
    verify: Annotated[
        Literal["both", "verifier", "none"],
        typer.Option(help="Verify samples as they arrive: both tiers, the verifier only, or none."),
    ] = "both",
    unsafe_no_sandbox: UnsafeNoSandbox = False,
    resume: Annotated[
        str | None,
        typer.Option(metavar="RUN_ID", help="Continue run RUN_ID without buying its samples again."),
    ] = None,
    db: Db = None,
    json_out: JsonOut = False,
) -> None:
    """Sample models on a task under a hard spending cap; verify and store every sample."""
    from budget.report.run import RunProgress
    from budget.service.running import RunRequest, execute_run

    request = RunRequest.parse(
        dollars,
        task=task,
        models=split_models(models),
        problems=problems,
        samples=samples,
        policy=policy.value if policy else None,
        plan_file=plan,
        api_base=api_base,
        prices=price or [],
        machine=machine,
        mode=mode,
        seed=seed,
        max_tokens=max_tokens,
        temperature=temperature,
        concurrency=concurrency,
        n_per_request=n_per_request,
        timeout_s=timeout,
        backend=backend,
        verify=verify,
        unsafe_no_sandbox=unsafe_no_sandbox,
        resume=resume,
        db=db,
    )
    from budget.errors import RunFailedError

    try:
        with RunProgress() as progress:
            result = execute_run(request, progress=progress)
    except RunFailedError as failed:  # the summary (status failed, the reason) first, then the error
        emit(failed.result, "run:render_run", json_out=json_out)  # type: ignore[arg-type]
        raise
    emit(result, "run:render_run", json_out=json_out)
    if result.status == "interrupted":
        raise SystemExit(130)
