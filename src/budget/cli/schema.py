"""``budget schema``: the JSON Schema of a command's ``--json`` output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from budget.cli import app


@app.command("schema")
def schema_command(
    command: Annotated[
        list[str] | None,
        typer.Argument(metavar="COMMAND", help="A command with --json (e.g. plan, pricing show)."),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option("--write", metavar="DIR", help="Write every command's schema into DIR (docs/schemas)."),
    ] = None,
) -> None:
    """Print the JSON Schema of COMMAND's --json output; without COMMAND, list the commands."""
    from budget.service.contracts import OUTPUTS, render, write_all

    if write is not None:
        for path in write_all(write):
            typer.echo(f"wrote {path}", err=True)
        return
    if not command:
        for name in OUTPUTS:
            typer.echo(name)
        return
    typer.echo(render(" ".join(command)), nl=False)
