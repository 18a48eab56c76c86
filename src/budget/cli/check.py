"""``budget check RUN_ID`` / ``budget check --all``: did the predictions hold?"""

from __future__ import annotations

from typing import Annotated

import typer

from budget.cli import app, emit
from budget.cli._options import Db, JsonOut
from budget.errors import InputError


@app.command("check")
def check_command(
    run_id: Annotated[
        str | None, typer.Argument(metavar="[RUN_ID]", help="The run to check (see budget runs).")
    ] = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Every run with a stored prediction.")] = False,
    no_refit: Annotated[bool, typer.Option("--no-refit", help="Do not refit the curves afterwards.")] = False,
    seed: Annotated[int, typer.Option(help="Seed for the refit's bootstrap and the plans.")] = 0,
    db: Db = None,
    json_out: JsonOut = False,
) -> None:
    """Compare a run's stored prediction with its verified results, then refit and re-plan."""
    from budget.service.check import check_all, check_run

    if all_runs == (run_id is not None):
        raise InputError("give a RUN_ID or --all (not both)")
    if all_runs:
        emit(check_all(db), "check:render_check_all", json_out=json_out)
    else:
        assert run_id is not None
        emit(check_run(run_id, db, refit=not no_refit, seed=seed), "check:render_check", json_out=json_out)
