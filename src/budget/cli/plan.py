"""``budget plan``: the main job."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from budget.cli import app, emit
from budget.cli._options import Db, JsonOut, split_models
from budget.planner import PlanResult, Policy


@app.command("plan")
def plan_command(
    dollars: Annotated[
        str,
        typer.Option(
            "--dollars",
            "-d",
            metavar="USD[,USD...]",
            help="Budget in US dollars; several (10,50,500) give one row per budget.",
        ),
    ],
    task: Annotated[str | None, typer.Option(help="Task id (see `budget models`).")] = None,
    problems: Annotated[int | None, typer.Option(help="Number of problems (default: the task's).")] = None,
    models: Annotated[str | None, typer.Option(help="Comma-separated candidate models.")] = None,
    policy: Annotated[
        Policy,
        typer.Option(help="fixed: k samples per problem; until-pass: stop at the first accepted."),
    ] = Policy.FIXED,
    hard_cap: Annotated[bool, typer.Option("--hard-cap", help="Plan on the worst-case cost.")] = False,
    max_extrapolation: Annotated[
        float, typer.Option(help="Never plan k beyond this multiple of the largest measured k.")
    ] = 10.0,
    seed: Annotated[int, typer.Option(help="Seed for interval draws.")] = 0,
    price: Annotated[
        list[str] | None,
        typer.Option(
            "--price",
            help="Re-price a model: MODEL=IN,OUT (USD per million tokens) "
            "or MODEL=USD per attempt (repeatable).",
        ),
    ] = None,
    machine: Annotated[
        str | None,
        typer.Option(
            help="Run local models on this machine: NAME (see `budget pricing show`) or NAME=USD_PER_HOUR."
        ),
    ] = None,
    worst_attempt_multiple: Annotated[
        str | None,
        typer.Option(
            "--worst-multiple",
            metavar="X",
            help="--hard-cap: bound each per-attempt cost at this multiple of its average "
            "where none is published."
        ),
    ] = None,
    db: Db = None,
    json_out: JsonOut = False,
    export: Annotated[
        Path | None,
        typer.Option(help="Also write the JSON plan to this file (e.g. reports/plan.json)."),
    ] = None,
    fp_cost: Annotated[
        float | None, typer.Option(help="Cost of a wrong submission (a right one scores 1): plan K*.")
    ] = None,
    verifier: Annotated[
        str | None, typer.Option(help="perfect, measured (two-tier samples in the store) or none.")
    ] = None,
    fp_rate: Annotated[
        float | None, typer.Option(help="Stated share of accepted samples that are wrong.")
    ] = None,
    fp_rate_source: Annotated[str | None, typer.Option(help="Where --fp-rate comes from.")] = None,
) -> None:
    """Recommend which model to sample, and how many times, to solve the most problems."""
    from budget.money import usd
    from budget.service.planning import PlanRequest, make_plan, parse_budgets, plan_sweep
    from budget.service.store_link import user_candidates

    budgets = parse_budgets(dollars)

    def plan_one(amount: Decimal) -> PlanResult:
        return make_plan(request.model_copy(update={"dollars": amount}), user_candidates=lookup)

    request = PlanRequest.parse(
        str(budgets[0]),
        task=task,
        problems=problems,
        models=split_models(models),
        policy=policy,
        hard_cap=hard_cap,
        max_extrapolation=max_extrapolation,
        seed=seed,
        prices=list(price or []),
        machine=machine,
        worst_attempt_multiple=usd(worst_attempt_multiple, what="--worst-multiple")
        if worst_attempt_multiple is not None
        else None,
    )
    lookup = user_candidates(db)
    if fp_cost is not None or verifier is not None or fp_rate is not None:
        from budget.service.verifier_planning import VerifierRequest, make_verified_plan

        if len(budgets) > 1:
            from budget.errors import InputError

            raise InputError("--fp-cost/--verifier/--fp-rate plan one budget at a time")
        vreq = VerifierRequest.parse(fp_cost, verifier, fp_rate, fp_rate_source)
        verified = make_verified_plan(request, vreq, db)
        emit(verified, "verifier:render_verified_plan", json_out=json_out, export=export)
        return
    if len(budgets) > 1:
        emit(plan_sweep(budgets, plan_one), "plan:render_sweep", json_out=json_out, export=export)
        return
    emit(plan_one(budgets[0]), "plan:render_plan", json_out=json_out, export=export)
