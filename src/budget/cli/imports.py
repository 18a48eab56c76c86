"""``budget import FILE --format F``: results users already have, stored as a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from budget.cli import app, emit
from budget.cli._options import Db, JsonOut


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The results file.")],
    format: Annotated[
        str, typer.Option("--format", help="counts, monkey-business, evalplus, inspect or samples.")
    ],
    task: Annotated[str | None, typer.Option(help="Task id (default: from the file, else its name).")] = None,
    model: Annotated[str | None, typer.Option(help="Model id (for files that do not name it).")] = None,
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Import even when the store already holds this file's content for the task "
            "(its samples then count twice).",
        ),
    ] = False,
    db: Db = None,
    json_out: JsonOut = False,
) -> None:
    """Store the results as an imported run, so fit --db, plan and check --all use them."""
    from budget.errors import InputError
    from budget.report.progress import StepProgress
    from budget.service.importing import FORMATS, ImportRequest, import_file

    if format not in FORMATS:
        raise InputError(f"unknown --format {format!r}; known: {', '.join(FORMATS)}")
    request = ImportRequest(file=file, format=format, task=task, model=model, db=db, again=again)  # type: ignore[arg-type]
    with StepProgress("import") as progress:
        result = import_file(request, progress=progress)
    emit(result, "inspection:render_import", json_out=json_out)
