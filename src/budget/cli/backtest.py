"""``budget backtest``: replay budget's predictions on your own recorded outcomes."""

from __future__ import annotations

from typing import Annotated

import typer

from budget.cli import app, emit
from budget.cli._options import Db, JsonOut, split_models
from budget.planner.pilot import DEFAULT_PILOT, PilotRule


@app.command("backtest")
def backtest_command(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|RUN_ID",
            help="A counts CSV (model, problem_id, num_samples, num_correct) or a run id.",
        ),
    ],
    pilot_samples: Annotated[
        int | None, typer.Option("--pilot-samples", help="Pilot of M samples per problem (on average).")
    ] = None,
    pilot_dollars: Annotated[
        str | None, typer.Option("--pilot-dollars", help="Pilot of D dollars per model.")
    ] = None,
    dollars: Annotated[
        str | None,
        typer.Option("--dollars", "-d", help="Also plan this budget per model and replay the plan."),
    ] = None,
    predict: Annotated[
        list[int] | None,
        typer.Option("--predict", "-k", help="Predict and replay coverage at this k (repeatable)."),
    ] = None,
    pilot: Annotated[
        PilotRule, typer.Option(help="uniform: M per problem; adaptive: next sample to the fewest successes.")
    ] = DEFAULT_PILOT,
    seeds: Annotated[int, typer.Option(help="Repeat with seeds 0..S-1.")] = 5,
    models: Annotated[str | None, typer.Option(help="Comma-separated models (default: all).")] = None,
    price: Annotated[
        list[str] | None, typer.Option("--price", help="MODEL=USD per sample (counts files carry no prices).")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="Task id of a counts file (default: its dataset or name).")
    ] = None,
    max_extrapolation: Annotated[
        float, typer.Option(help="Never plan k beyond this multiple of the pilot's largest k.")
    ] = 10.0,
    fitter: Annotated[
        str | None, typer.Option(help="Force a fitter instead of budget's out-of-sample choice.")
    ] = None,
    db: Db = None,
    json_out: JsonOut = False,
) -> None:
    """Keep a pilot of your recorded samples, fit, predict, and replay on the held-back samples."""
    from budget.money import positive_dollars
    from budget.service.backtest import BacktestRequest, backtest

    request = BacktestRequest(
        source=source,
        pilot_samples=pilot_samples,
        pilot_dollars=positive_dollars(pilot_dollars, what="--pilot-dollars")
        if pilot_dollars is not None
        else None,
        dollars=positive_dollars(dollars) if dollars is not None else None,
        predict=list(predict or []),
        pilot=pilot,
        seeds=seeds,
        models=split_models(models),
        prices=list(price or []),
        task=task,
        db=db,
        max_extrapolation=max_extrapolation,
        fitter=fitter,
    )
    emit(backtest(request), "backtest:render_backtest", json_out=json_out)
