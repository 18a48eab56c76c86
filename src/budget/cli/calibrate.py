"""``budget calibrate``: a pilot run that fits the user's own curves (and ``budget runs``).

Nothing heavy is imported at module level: ``budget plan`` imports every CLI module.
"""

from __future__ import annotations

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
    Price,
    TaskOrFile,
    Temperature,
    UnsafeNoSandbox,
    split_models,
)
from budget.executor.records import Mode
from budget.planner.pilot import DEFAULT_PILOT, PilotRule


@app.command("calibrate")
def calibrate_command(
    task: TaskOrFile,
    models: Annotated[str, typer.Option(help="Comma-separated models to calibrate.")],
    dollars: Annotated[
        str | None,
        typer.Option("--dollars", "-d", metavar="USD", help="Hard cap of the pilot run in US dollars."),
    ] = None,
    problems: Annotated[
        int, typer.Option(help="Pilot on N problems of the task (a seeded random subset).")
    ] = 20,
    samples: Annotated[int, typer.Option(help="Samples per problem and model, on average (at least 2).")] = 5,
    pilot: Annotated[
        PilotRule,
        typer.Option(help="uniform: K per problem; adaptive: a floor, then to the fewest successes."),
    ] = DEFAULT_PILOT,
    api_base: ApiBase = None,
    price: Price = None,
    machine: Machine = None,
    mode: ModeOption = Mode.COMPLETION,
    seed: Annotated[int, typer.Option(help="Seed of the pilot's requests and of the fit's bootstrap.")] = 0,
    max_tokens: MaxTokens = 512,
    temperature: Temperature = 0.8,
    concurrency: Concurrency = None,
    backend: Backend = "auto",
    verify: Annotated[
        Literal["both", "verifier"], typer.Option(help="Verifier tiers to run: both or verifier.")
    ] = "both",
    unsafe_no_sandbox: UnsafeNoSandbox = False,
    tier: Annotated[
        str | None, typer.Option(help="Count a sample as accepted by this tier only (default: all tiers).")
    ] = None,
    fit_only: Annotated[
        bool, typer.Option("--fit-only", help="No pilot run: refit from the samples already stored.")
    ] = False,
    db: Db = None,
    json_out: JsonOut = False,
) -> None:
    """Pilot-sample your models on your task, fit their coverage curves, keep them for `budget plan`."""
    from budget.service.calibration import CalibrateRequest, calibrate

    request = CalibrateRequest.parse(
        dollars,
        task=task,
        models=split_models(models),
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
        pilot=pilot,
        db=db,
    )
    if fit_only:
        result = calibrate(request)
    else:
        from budget.report.run import RunProgress

        with RunProgress() as progress:
            result = calibrate(request, progress=progress)
    emit(result, "calibration:render_calibration", json_out=json_out)
