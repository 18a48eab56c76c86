r"""What the model is sent for a problem, in completion or chat mode, and each request's seed.

* **completion**: the problem's prompt as raw text.  For code tasks (verifier ``python_tests``
  or ``pytest_file``) generation stops at the next top-level statement, as in the Codex paper
  (Chen et al. 2021, Sec. 2.3: stop sequences ``\nclass``, ``\ndef``, ``\n#``, ``\nif``,
  ``\nprint``); the program is then prompt + completion.
* **chat**: one user message.  Code tasks ask for the completed function in one fenced Python
  block (the verifier extracts it); other tasks send the prompt as it is.

Seeds: each request's seed is derived from the run's seed and the sample's identity (model,
problem, first sample index) with SHA-256, so a resumed run asks for the same samples.
"""

from __future__ import annotations

import hashlib

from budget.executor.records import ChatMessage, Mode, Prompt
from budget.tasks import Problem, Task

CODE_VERIFIERS = frozenset({"python_tests", "pytest_file"})
CODE_STOPS = ("\nclass ", "\ndef ", "\n#", "\nif __name__", "\nprint(", "\nassert ")
CHAT_CODE_INSTRUCTION = (
    "Complete the following Python function. Reply with the whole function (including its "
    "signature and any imports it needs) in a single ```python code block.\n\n```python\n{prompt}```"
)


def is_code_problem(task: Task, problem: Problem) -> bool:
    """Whether ``problem`` is checked by a code verifier (its own, else the task's)."""
    spec = problem.verifier or task.verifier
    return spec is not None and spec.name in CODE_VERIFIERS


def build_prompt(task: Task, problem: Problem, mode: Mode) -> Prompt:
    """The prompt sent for ``problem`` in ``mode`` (see module docstring)."""
    code = is_code_problem(task, problem)
    if mode is Mode.COMPLETION:
        return Prompt(mode=mode, text=problem.prompt, stop=CODE_STOPS if code else ())
    content = CHAT_CODE_INSTRUCTION.format(prompt=problem.prompt) if code else problem.prompt
    return Prompt(mode=mode, messages=(ChatMessage(role="user", content=content),))


def request_seed(run_seed: int, model: str, problem_id: str, first_index: int) -> int:
    """A 31-bit seed for one request, stable across processes and resumes."""
    digest = hashlib.sha256(f"{run_seed}\x00{model}\x00{problem_id}\x00{first_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
