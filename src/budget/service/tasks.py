"""Use case: list the tasks budget can verify samples of (``budget tasks``)."""

from __future__ import annotations

from pydantic import BaseModel

from budget import SCHEMA_VERSION
from budget.tasks import TaskEntry, known_tasks


class TaskListing(BaseModel):
    """The built-in tasks and verifier plug-ins (``budget tasks --json``)."""
    schema_version: int = SCHEMA_VERSION
    tasks: list[TaskEntry]
    verifiers: list[str]
    user_tasks: str = "any JSONL task file: budget verify --task PATH.jsonl (format: verifiers/README.md)"


def list_tasks() -> TaskListing:
    """The built-in tasks and the installed verifier plug-ins."""
    from budget.verify.plugins import available

    return TaskListing(tasks=known_tasks(), verifiers=available())
