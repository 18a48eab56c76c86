"""``budget report``: the one-minute report, in the terminal and as HTML or Markdown to forward."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from budget.cli import app, emit
from budget.cli._options import Db, JsonOut


@app.command("report")
def report_command(
    run_id: Annotated[
        str | None, typer.Argument(metavar="RUN_ID", help="A run in the store (see budget runs).")
    ] = None,
    plan: Annotated[
        Path | None, typer.Option("--plan", metavar="FILE", help="A plan written by budget plan --export.")
    ] = None,
    task: Annotated[
        str | None, typer.Option(metavar="TASK", help="Plan this task now (with --dollars).")
    ] = None,
    dollars: Annotated[
        str | None, typer.Option("--dollars", "-d", metavar="USD", help="Budget for --task.")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Also write one self-contained HTML file (a directory: reports/)."
        ),
    ] = None,
    md: Annotated[
        Path | None,
        typer.Option("--md", metavar="FILE", help="Also write Markdown with PNG charts beside it."),
    ] = None,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed for interval draws.")] = 0,
    db: Db = None,
    json_out: JsonOut = False,
) -> None:
    """Report a run, a plan file, or a task and budget: headline, tables, charts, prices.

    Exports go to FILE; a directory (e.g. reports/) gets a file named after the run or the task.
    """
    from budget.errors import InputError
    from budget.money import usd
    from budget.service.reporting import ReportRequest, make_report
    from budget.service.store_link import user_candidates

    if dollars is not None and task is None and run_id is None and plan is None:
        task_needed = "--dollars needs --task (or give a RUN_ID or --plan FILE)"
        raise InputError(task_needed)
    amount = usd(dollars, what="--dollars") if dollars is not None else None
    if amount is not None and amount <= 0:
        raise InputError(f"--dollars must be positive, got {dollars}")
    request = ReportRequest(run_id=run_id, plan_file=plan, task=task, dollars=amount, db=db, seed=seed)
    report = make_report(request, user_candidates=user_candidates(db))
    written = []
    if html is not None:
        from budget.report.export import write_html

        written.append(write_html(report, html))
    if md is not None:
        from budget.report.export import write_markdown

        path, pngs = write_markdown(report, md)
        written += [path, *pngs]
    emit(report, "brief:render_report", json_out=json_out)
    for path in written:
        typer.echo(f"wrote {path}", err=True)
