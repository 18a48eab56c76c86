"""``budget show RUN_ID`` and ``budget export RUN_ID --samples FILE``: one run in detail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from budget.cli import app, emit
from budget.cli._options import Db, JsonOut


@app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run (see budget runs).")],
    db: Db = None,
    json_out: JsonOut = False,
) -> None:
    """One run: per model, problems, samples, solved on each verifier tier, spend."""
    from budget.service.store_view import show_run

    emit(show_run(run_id, db), "inspection:render_run", json_out=json_out)


@app.command("export")
def export_command(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run (see budget runs).")],
    samples: Annotated[Path, typer.Option("--samples", help="Write the run's samples here (JSON Lines).")],
    db: Db = None,
    json_out: JsonOut = False,
) -> None:
    """Write a run's samples, one JSON object a line (budget import --format samples reads it)."""
    from budget.service.store_view import export_samples

    emit(export_samples(run_id, samples, db), "inspection:render_export", json_out=json_out)
