"""``budget models`` and ``budget pricing show``: what budget knows, with sources."""

from __future__ import annotations

from typing import Annotated

import typer

from budget.cli import app, emit

pricing_app = typer.Typer(help="Prices in use, with their source and date.", no_args_is_help=True)
app.add_typer(pricing_app, name="pricing")


@app.command("models")
def models_command(
    task: Annotated[str | None, typer.Option(help="Only this task.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the tasks and models of the bundled catalog, with cost per sample and coverage."""
    from budget.service.listing import list_models

    listing = list_models(task)
    emit(listing, "listing:render_models", json_out=json_out)


@pricing_app.command("show")
def pricing_show(
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="[NAME]...", help="Model or machine names (none: every price in use)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the prices budget uses for models (per token, per attempt) or machines; every one
    in use when no name is given.
    """
    from budget.service.listing import show_prices

    prices = show_prices(names or [])
    emit(prices, "listing:render_prices", json_out=json_out)
