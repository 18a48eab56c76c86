"""``budget run``: carry out a plan on real models under a hard cap, verify, store.

Nothing heavy is imported here at module level: ``budget plan`` imports every CLI module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from budget.cli import app


def _models(value: str | None) -> list[str]:
    return [m.strip() for m in value.split(",") if m.strip()] if value else []


@app.command("run")
def run_command(
    task: Annotated[str | None, typer.Option(help="Task name (e.g. humaneval) or a task JSONL file.")] = None,
    models: Annotated[str | None, typer.Option(help="Comma-separated models to sample.")] = None,
    dollars: Annotated[str | None, typer.Option("--dollars", "-d", help="Hard cap in US dollars.")] = None,
    problems: Annotated[int | None, typer.Option(help="Use the first N problems of the task.")] = None,
    samples: Annotated[
        int | None, typer.Option(help="Samples per problem (else: plan with --dollars).")
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="fixed, or until-pass (stop a problem at its first pass); default: the plan's, else fixed."
        ),
    ] = None,
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Run a plan written by budget plan --export.")
    ] = None,
    api_base: Annotated[
        str | None, typer.Option(help="Base URL of an OpenAI-compatible server (key: $BUDGET_API_KEY).")
    ] = None,
    price: Annotated[
        list[str] | None, typer.Option(help="MODEL=IN,OUT: USD per million input/output tokens (repeatable).")
    ] = None,
    machine: Annotated[
        str | None, typer.Option(help="Price a local server by this machine's $/hour x busy time.")
    ] = None,
    mode: Annotated[str, typer.Option(help="completion (raw prompt) or chat.")] = "completion",
    seed: Annotated[int, typer.Option(help="Run seed (each request's seed derives from it).")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Most output tokens per sample.")] = 512,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.8,
    concurrency: Annotated[int, typer.Option(help="Requests in flight per backend.")] = 8,
    n_per_request: Annotated[
        int | None, typer.Option(help="Samples per request (the API's n); default: 1 for servers.")
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds before a request is abandoned and retried (with --machine: its reservation)."
        ),
    ] = 120.0,
    backend: Annotated[str, typer.Option(help="auto, litellm, server (with --api-base) or vllm.")] = "auto",
    verify: Annotated[
        str, typer.Option(help="Verify samples as they arrive: both tiers, verifier, none.")
    ] = "both",
    unsafe_no_sandbox: Annotated[
        bool, typer.Option("--unsafe-no-sandbox", help="Run generated code without the sandbox.")
    ] = False,
    resume: Annotated[
        str | None, typer.Option(help="Continue run RUN_ID without buying its samples again.")
    ] = None,
    db: Annotated[
        str | None, typer.Option(help="Store: SQLAlchemy URL or SQLite file (default $BUDGET_DB).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Sample models on a task under a hard spending cap; verify and store every sample."""
    from rich.console import Console

    from budget.report.run import RunProgress, render_run
    from budget.service.running import RunRequest, execute_run

    request = RunRequest.parse(
        dollars,
        task=task,
        models=_models(models),
        problems=problems,
        samples=samples,
        policy=policy,
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
    with RunProgress() as progress:
        result = execute_run(request, progress=progress)
    if json_out:
        typer.echo(result.model_dump_json(indent=2))
    else:
        render_run(result, Console())
    if result.status == "interrupted":
        raise SystemExit(130)
