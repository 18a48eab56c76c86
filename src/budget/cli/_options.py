"""Command-line options that several commands share, defined once.

Each alias is a typed ``Annotated`` parameter for typer; commands use them as
``api_base: ApiBase = None``.  (The leading underscore keeps this module out of the command
registry in :func:`budget.cli._register`.)
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from budget.executor.records import Mode
from budget.planner.models import Policy

TaskOrFile = Annotated[
    str, typer.Option(metavar="TASK", help="Task name (e.g. humaneval) or a task JSONL file.")
]
ApiBase = Annotated[
    str | None,
    typer.Option(metavar="URL", help="Base URL of an OpenAI-compatible server (key: $BUDGET_API_KEY)."),
]
Price = Annotated[
    list[str] | None,
    typer.Option(metavar="MODEL=IN,OUT", help="USD per million input/output tokens for MODEL (repeatable)."),
]
Machine = Annotated[
    str | None,
    typer.Option(metavar="MACHINE", help="Price a local server by this machine's $/hour x busy time."),
]
ModeOption = Annotated[Mode, typer.Option(help="completion (raw prompt) or chat.")]
MaxTokens = Annotated[int, typer.Option(metavar="N", help="Most output tokens per sample.")]
Temperature = Annotated[float, typer.Option(metavar="T", help="Sampling temperature.")]
Concurrency = Annotated[
    int | None,
    typer.Option(
        metavar="N", help="Requests in flight per backend (default: a local server's slots, else 8)."
    ),
]
Backend = Annotated[
    Literal["auto", "litellm", "server", "vllm"],
    # a metavar, not the choice list: [auto|litellm|server|vllm] broke mid-word at 80 columns
    typer.Option(metavar="BACKEND", help="auto, litellm, server (with --api-base) or vllm."),
]
PolicyOption = Annotated[
    Policy | None,
    typer.Option(help="fixed: k samples per problem; until-pass: stop a problem at its first pass."),
]
UnsafeNoSandbox = Annotated[
    bool, typer.Option("--unsafe-no-sandbox", help="Run generated code without the sandbox.")
]
Db = Annotated[
    str | None,
    typer.Option(metavar="URL|FILE", help="Store: SQLAlchemy URL or SQLite file (default $BUDGET_DB)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def split_models(value: str | None) -> list[str]:
    """``a, b,,c`` -> ``["a", "b", "c"]`` (empty for no value)."""
    return [m.strip() for m in value.split(",") if m.strip()] if value else []


#: How a value's type reads in help when an option names no metavar: click's words, never
#: Python's (``<list[str]>``, ``<str>``).
_TYPE_WORDS = {"int": "INTEGER", "float": "NUMBER", "str": "TEXT", "path": "PATH", "bool": ""}


def help_conventions() -> None:
    """Make typer's help follow the command-line conventions of this project.

    typer (>= 0.20) prints every parameter's Python type (``--json <bool>``, ``--price
    <list[str]>``).  A flag takes no value, so it shows none; an argument is already named
    by its metavar; other options show their metavar, their choices (``[fixed|until-pass]``),
    or click's type word (``INTEGER``).  Called once when ``budget.cli`` is imported;
    tests/cli/test_help.py checks every command's help.
    """
    from typer.core import TyperArgument, TyperOption

    if getattr(TyperOption.display_type_rich, "_budget", False):
        return
    option_type = TyperOption.display_type_rich

    def option_display(self: TyperOption, ctx: object) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        return _words(option_type(self, ctx))  # type: ignore[arg-type]

    def argument_display(self: TyperArgument, ctx: object) -> str | None:
        return None

    option_display._budget = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = option_display  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_display  # type: ignore[method-assign,assignment]


def _words(shown: str | None) -> str | None:
    """Typer's ``<list[str]>``/``<fixed|until-pass>`` as ``TEXT...``/``[fixed|until-pass]``."""
    if shown is None:
        return None
    inner = shown.strip("<>.")
    many = inner.startswith("list[") or shown.endswith("...")
    inner = inner.removeprefix("list[").removesuffix("]")
    if "|" in inner:
        return f"[{inner}]" + ("..." if many else "")
    return _TYPE_WORDS.get(inner, inner.upper()) + ("..." if many else "")
