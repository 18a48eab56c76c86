"""``budget fit``: coverage curves from a counts file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from budget.cli import app, emit


@app.command("fit")
def fit_command(
    counts: Annotated[
        Path,
        typer.Argument(
            metavar="COUNTS.csv", help="CSV: model, problem_id, num_samples, num_correct [, dataset]."
        ),
    ],
    predict: Annotated[
        list[int] | None, typer.Option(
            "--predict", "-k", metavar="K", help="Predict coverage at this k (repeat: -k 10 -k 1000)."
        )
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="Task id (default: the dataset column or file name).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the backtest and bootstrap.")] = 0,
    fitter: Annotated[
        str | None, typer.Option(help="Force a fitter instead of choosing out of sample.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the fits as JSON.")] = False,
    export: Annotated[Path | None, typer.Option(help="Also write the JSON to this file.")] = None,
) -> None:
    """Fit coverage curves (pass@k against k) per model, with 90% intervals and extrapolations."""
    from budget.service.fitting import DEFAULT_PREDICT, FitRequest, fit_file

    request = FitRequest(
        counts=counts, predict=list(predict or DEFAULT_PREDICT), task=task, seed=seed, fitter=fitter
    )
    result = fit_file(request)
    emit(result, "fit:render_fit", json_out=json_out, export=export)
