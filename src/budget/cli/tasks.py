"""``budget tasks``: the tasks budget knows and the verifier plug-ins installed."""

from __future__ import annotations

from typing import Annotated

import typer

from budget.cli import app, emit


@app.command("tasks")
def tasks_command(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the built-in tasks (with their verifier and ground-truth checks) and the verifiers."""
    from budget.service.tasks import list_tasks

    listing = list_tasks()
    emit(listing, "verify:render_tasks", json_out=json_out)
