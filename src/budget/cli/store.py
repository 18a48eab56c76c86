"""``budget runs``: the runs kept in the store."""

from __future__ import annotations

from typing import Annotated

import typer

from budget.cli import app, emit
from budget.cli._options import Db


@app.command("runs")
def runs_command(
    task: Annotated[str | None, typer.Option(help="Only runs of this task.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (newest first).")] = 20,
    db: Db = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the runs as JSON.")] = False,
) -> None:
    """List the runs in the store, newest first."""
    from budget.service.store_view import list_runs

    result = list_runs(db, task=task, limit=limit)
    emit(result, "calibration:render_runs", json_out=json_out)
