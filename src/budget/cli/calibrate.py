"""``budget calibrate``: a pilot run that fits the user's own curves (and ``budget runs``).

Nothing heavy is imported at module level: ``budget plan`` imports every CLI module.
"""

from __future__ import annotations

from typing import Annotated

import typer

from budget.cli import app, emit


def _models(value: str) -> list[str]:
    return [m.strip() for m in value.split(",") if m.strip()]


@app.command("calibrate")
def calibrate_command(
    task: Annotated[str, typer.Option(help="Task name (e.g. humaneval) or a task JSONL file.")],
    models: Annotated[str, typer.Option(help="Comma-separated models to calibrate.")],
    dollars: Annotated[
        str | None, typer.Option("--dollars", "-d", help="Hard cap of the pilot run in US dollars.")
    ] = None,
    problems: Annotated[int, typer.Option(help="Pilot on the first N problems of the task.")] = 20,
    samples: Annotated[int, typer.Option(help="Samples per problem and model (at least 2).")] = 5,
    api_base: Annotated[str | None, typer.Option(help="Base URL of an OpenAI-compatible server.")] = None,
    price: Annotated[
        list[str] | None, typer.Option(help="MODEL=IN,OUT: USD per million input/output tokens (repeatable).")
    ] = None,
    machine: Annotated[
        str | None, typer.Option(help="Price a local server by this machine's $/hour x busy time.")
    ] = None,
    mode: Annotated[str, typer.Option(help="completion (raw prompt) or chat.")] = "completion",
    seed: Annotated[int, typer.Option(help="Seed of the pilot's requests and of the fit's bootstrap.")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Most output tokens per sample.")] = 512,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.8,
    concurrency: Annotated[int, typer.Option(help="Requests in flight per backend.")] = 8,
    backend: Annotated[str, typer.Option(help="auto, litellm, server (with --api-base) or vllm.")] = "auto",
    verify: Annotated[str, typer.Option(help="Verifier tiers to run: both or verifier.")] = "both",
    unsafe_no_sandbox: Annotated[
        bool, typer.Option("--unsafe-no-sandbox", help="Run generated code without the sandbox.")
    ] = False,
    tier: Annotated[
        str | None, typer.Option(help="Count a sample as accepted by this tier only (default: all tiers).")
    ] = None,
    fit_only: Annotated[
        bool, typer.Option("--fit-only", help="No pilot run: refit from the samples already stored.")
    ] = False,
    db: Annotated[
        str | None, typer.Option(help="Store: SQLAlchemy URL or SQLite file (default $BUDGET_DB).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Pilot-sample your models on your task, fit their coverage curves, keep them for `budget plan`."""
    from budget.service.calibration import CalibrateRequest, calibrate

    request = CalibrateRequest.parse(
        dollars,
        task=task,
        models=_models(models),
        problems=problems,
        samples=samples,
        api_base=api_base,
        prices=price or [],
        machine=machine,
        mode=mode,
        seed=seed,
        max_tokens=max_tokens,
        temperature=temperature,
        concurrency=concurrency,
        backend=backend,
        verify=verify,
        unsafe_no_sandbox=unsafe_no_sandbox,
        tier=tier,
        fit_only=fit_only,
        db=db,
    )
    if fit_only:
        result = calibrate(request)
    else:
        from budget.report.run import RunProgress

        with RunProgress() as progress:
            result = calibrate(request, progress=progress)
    emit(result, "calibration:render_calibration", json_out=json_out)
