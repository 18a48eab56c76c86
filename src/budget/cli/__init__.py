"""The ``budget`` command line: thin.

Each command parses its options, builds a request model, calls one function of
``budget.service`` and renders the result with ``budget.report``.  Commands live in one
module per area (``plan``, ``fit``, ``verify``, ``run``...), each registering on ``app``.
A :class:`~budget.errors.BudgetError` becomes one line on stderr and its exit code.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, ValidationError

from budget.cli._options import help_conventions
from budget.errors import BudgetError, InputError

help_conventions()

__all__ = ["COMMAND_MODULES", "app", "emit", "fail", "main"]

app = typer.Typer(
    name="budget",
    help="Which model to sample, and how many times, to solve the most problems per dollar.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from budget import __version__

        typer.echo(f"budget {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """budget: cost-aware model comparison."""


def fail(error: BudgetError) -> None:
    """Print a one-line error and exit with the error's code."""
    from budget.report.text import printable

    # one line, whatever the message echoes (a path or a name with an escape sequence, a newline)
    sys.stderr.write(f"budget: error: {printable(str(error))}\n")
    raise SystemExit(error.exit_code)


def emit(result: BaseModel, renderer: str, *, json_out: bool, export: Path | None = None) -> None:
    """Show a command's result: JSON on stdout with ``--json``, else the rich report.

    ``renderer`` names the report function as ``module:function`` under ``budget.report``
    (imported only when a terminal report is shown); ``export`` also writes the JSON there.
    """
    from budget.service.contracts import to_json

    payload = to_json(result) if json_out or export is not None else ""  # the terminal report needs none
    if export is not None:
        try:
            export.parent.mkdir(parents=True, exist_ok=True)
            export.write_text(payload + "\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {export}: {exc.strerror or exc}") from None
    if json_out:
        typer.echo(payload)
        return
    import importlib

    from rich.console import Console

    module, _, function = renderer.partition(":")
    getattr(importlib.import_module(f"budget.report.{module}"), function)(result, Console())


#: Which module of ``budget.cli`` defines each top-level command.  ``budget plan`` imports only
#: its own module: typer builds every registered command's options at start-up (~10 ms for
#: all of them).  tests/cli/test_registry.py checks this map against the modules.
COMMAND_MODULES = {
    "plan": "plan",
    "models": "listing",
    "pricing": "listing",
    "fit": "fit",
    "tasks": "tasks",
    "verify": "verify",
    "run": "run",
    "calibrate": "calibrate",
    "runs": "store",
    "check": "check",
    "show": "show",
    "export": "show",
    "import": "imports",
    "local": "local",
    "report": "report",
    "schema": "schema",
    "backtest": "backtest",
}


def _register(argv: list[str] | None = None) -> None:
    """Import command modules for their side effect of registering on ``app``.

    With a known command as the first argument, only its module; otherwise (help, an unknown
    or no command) every module, so the help lists them all and typer's errors name them.
    """
    import importlib
    import pkgutil

    import budget.cli as pkg

    if argv and argv[0] in COMMAND_MODULES:
        importlib.import_module(f"budget.cli.{COMMAND_MODULES[argv[0]]}")
        return
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"budget.cli.{info.name}")


def _invalid(exc: ValidationError) -> InputError:
    """A pydantic validation failure at the CLI boundary, as one line."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "input"
    return InputError(f"invalid {where}: {first.get('msg', 'invalid value')}")


def main() -> None:
    """The ``budget`` entry point: run the command; errors become one line and an exit code."""
    # typer vendors click (typer._click, 0.29): its usage errors are ClickExceptions there.
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    # What the imports made (typer, pydantic's schemas, numpy...) lives as long as the
    # process: out of the collector's generations, no later collection walks it again.  Each
    # full collection otherwise did: ~45 ms of `budget plan`'s ~370 (BENCHMARKS.md).
    gc.freeze()
    _register(sys.argv[1:])
    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except ClickException as exc:  # a usage error (bad choice, missing option): one line too
        message = exc.format_message().replace("Value error, ", "")
        fail(InputError(f"{message} (see {_usage_hint(exc)})"))
    except typer.Abort:
        sys.stderr.write("budget: interrupted\n")
        raise SystemExit(130) from None
    except BudgetError as error:
        fail(error)
    except ValidationError as exc:
        fail(_invalid(exc))
    except KeyboardInterrupt:
        sys.stderr.write("budget: interrupted\n")
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _usage_hint(exc: Exception) -> str:
    ctx = getattr(exc, "ctx", None)
    return f"{ctx.command_path} --help" if ctx is not None else "budget --help"
