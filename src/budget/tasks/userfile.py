r"""The user's own tasks: a JSONL file, one problem per line, an optional task header first.

Format (documented for users in ``verifiers/README.md``)::

    {"task": {"name": "my-math", "description": "...",
              "verifier": {"name": "exact_answer", "settings": {"timeout_s": 5}},
              "ground_truth": {"name": "exact_answer"}}}
    {"id": "p1", "prompt": "What is 6*7?", "answer": "42"}
    {"id": "p2", "prompt": "def f(x):\n", "entry_point": "f",
     "verifier": {"name": "python_tests"},
     "tests": "def check(c):\n    assert c(1) == 2\n",
     "hidden_tests": "def check(c):\n    assert c(1) == 2\n    assert c(5) == 6\n",
     "metadata": {"difficulty": "easy"}}

Problem fields: ``id`` and ``prompt`` (required), ``entry_point``, ``tests`` (the verifier tier),
``hidden_tests`` (the ground-truth tier; default: ``tests``), ``answer`` / ``hidden_answer``,
``canonical_solution``, ``verifier`` / ``ground_truth`` (``{"name", "settings"}``, overriding the
header's), ``metadata``.  Unknown keys are rejected, so a typo is an error, not a silent no-op.
Every problem must end up with a verifier (its own or the header's).  The task's name is the
header's ``name``, else the file's stem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from budget.errors import DataError
from budget.tasks.models import Problem, Task


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "value"
    return f"{where}: {err.get('msg', 'invalid')}"


def parse_task_lines(lines: list[str], name: str) -> Task:
    """Parse the JSONL task format (see the module docstring) from its lines."""
    header: dict[str, Any] = {}
    problems: list[Problem] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"task file {name}, line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise DataError(f"task file {name}, line {number}: expected a JSON object")
        if "task" in row and len(row) == 1:
            if problems or header:
                raise DataError(f"task file {name}, line {number}: the task header must be the first line")
            if not isinstance(row["task"], dict):
                raise DataError(f"task file {name}, line {number}: 'task' must be an object")
            header = dict(row["task"])
            continue
        try:
            problems.append(Problem.model_validate(row))
        except ValidationError as exc:
            raise DataError(f"task file {name}, line {number}: {_first_error(exc)}") from exc
    if not problems:
        raise DataError(f"task file {name}: no problems")
    header.setdefault("name", name)
    header["problems"] = problems
    try:
        task = Task.model_validate(header)
    except ValidationError as exc:
        raise DataError(f"task file {name}: {_first_error(exc)}") from exc
    for p in problems:
        if p.verifier is None and task.verifier is None:
            raise DataError(f"task file {name}: problem {p.id!r} names no verifier (and no task header does)")
    return task


def load_task_file(path: Path) -> Task:
    """Read a JSONL task file; a :class:`DataError` (one line, with the line number) if malformed."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise DataError(f"cannot read task file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"task file {path} is not UTF-8 (byte {exc.start})") from exc
    return parse_task_lines(text.splitlines(), path.stem)
