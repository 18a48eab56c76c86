"""``budget fit``: coverage curves from a counts file, per-sample JSONL, or the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from budget.cli import app, emit
from budget.cli._options import Db, split_models


@app.command("fit")
def fit_command(
    counts: Annotated[
        Path | None,
        typer.Argument(
            metavar="COUNTS.csv|SAMPLES.jsonl",
            help="CSV: model, problem_id, num_samples, num_correct [, dataset]; or per-sample JSONL "
            "(task_id, model, passed). Omit with --db.",
        ),
    ] = None,
    predict: Annotated[
        list[int] | None,
        typer.Option(
            "--predict", "-k", metavar="K", help="Predict coverage at this k (repeat: -k 10 -k 1000)."
        ),
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="Task id (default: the dataset column or file name).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the backtest and bootstrap.")] = 0,
    fitter: Annotated[
        str | None, typer.Option(help="Force a fitter instead of choosing out of sample.")
    ] = None,
    db: Db = None,
    models: Annotated[
        str | None, typer.Option(help="With --db: only these models (comma-separated).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the fits as JSON.")] = False,
    export: Annotated[Path | None, typer.Option(help="Also write the JSON to this file.")] = None,
) -> None:
    """Fit coverage curves (pass@k against k) per model, with 90% intervals and extrapolations.

    With --db and no file: fit from the store's samples and store the curves (budget plan uses them).
    """
    from budget.errors import InputError

    if counts is None:
        if db is None:
            raise InputError("give a counts CSV or samples JSONL, or --db to fit from the store")
        from budget.report.progress import StepProgress
        from budget.service.calibration import fit_store

        with StepProgress("fit") as progress:
            fitted = fit_store(db, task, split_models(models), seed=seed, progress=progress)
        emit(fitted, "calibration:render_calibration", json_out=json_out, export=export)
        return
    if db is not None or models is not None:
        raise InputError("--db and --models fit from the store: leave out the file")
    from budget.report.progress import StepProgress
    from budget.service.fitting import DEFAULT_PREDICT, FitRequest, fit_file

    request = FitRequest(
        counts=counts, predict=list(predict or DEFAULT_PREDICT), task=task, seed=seed, fitter=fitter
    )
    with StepProgress("fit") as progress:
        result = fit_file(request, progress=progress)
    emit(result, "fit:render_fit", json_out=json_out, export=export)
