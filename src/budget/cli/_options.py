"""Command-line options that several commands share, defined once.

Each alias is a typed ``Annotated`` parameter for typer; commands use them as
``api_base: ApiBase = None``.  (The leading underscore keeps this module out of the command
registry in :func:`budget.cli._register`.)
"""

from __future__ import annotations

from typing import Annotated

import typer

TaskOrFile = Annotated[str, typer.Option(help="Task name (e.g. humaneval) or a task JSONL file.")]
ApiBase = Annotated[
    str | None, typer.Option(help="Base URL of an OpenAI-compatible server (key: $BUDGET_API_KEY).")
]
Price = Annotated[
    list[str] | None, typer.Option(help="MODEL=IN,OUT: USD per million input/output tokens (repeatable).")
]
Machine = Annotated[
    str | None, typer.Option(help="Price a local server by this machine's $/hour x busy time.")
]
Mode = Annotated[str, typer.Option(help="completion (raw prompt) or chat.")]
MaxTokens = Annotated[int, typer.Option(help="Most output tokens per sample.")]
Temperature = Annotated[float, typer.Option(help="Sampling temperature.")]
Concurrency = Annotated[
    int | None,
    typer.Option(help="Requests in flight per backend (default: a local server's slots, else 8)."),
]
Backend = Annotated[str, typer.Option(help="auto, litellm, server (with --api-base) or vllm.")]
UnsafeNoSandbox = Annotated[
    bool, typer.Option("--unsafe-no-sandbox", help="Run generated code without the sandbox.")
]
Db = Annotated[str | None, typer.Option(help="Store: SQLAlchemy URL or SQLite file (default $BUDGET_DB).")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def split_models(value: str | None) -> list[str]:
    """``a, b,,c`` -> ``["a", "b", "c"]`` (empty for no value)."""
    return [m.strip() for m in value.split(",") if m.strip()] if value else []
