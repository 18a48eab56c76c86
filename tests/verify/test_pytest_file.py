"""pytest_file: a user's pytest module against the sample, in the sandbox, with proof of completion."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from budget.errors import DataError, InputError
from budget.verify.plugins import load_verifier
from budget.verify.protocol import Outcome
from budget.verify.sandbox import probe

pytestmark = pytest.mark.skipif(not probe().available, reason="bubblewrap sandbox unavailable")

VERIFIER = load_verifier("pytest_file")
TESTS = (
    "from solution import add\n\n\n"
    "def test_small():\n    assert add(1, 2) == 3\n\n\n"
    "def test_signs():\n    assert add(-1, 1) == 0\n"
)


def run(completion: str, tests: str = TESTS, **settings: Any) -> Any:
    problem = SimpleNamespace(id="p", prompt="def add(a, b):\n", tests=tests)
    return VERIFIER.verify(problem, completion, {"timeout_s": 20, **settings})


def test_correct_passes_and_wrong_fails_with_the_failing_test_named() -> None:
    ok = run("    return a + b\n")
    assert ok.outcome is Outcome.PASS and ok.detail == "2/2 tests passed"
    bad = run("    return a - b\n")
    assert bad.outcome is Outcome.FAIL
    assert "test_small" in bad.detail and "\n" not in bad.detail


@pytest.mark.parametrize(
    "program",
    [
        "import os\nos._exit(0)\n",  # ends the process before any test
        "import sys\nsys.exit(0)\n",
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef add(a, b):\n    return a + b\n",
        # forged success output with a guessed nonce, then a wrong function
        "print('BUDGET-PYTEST-RESULT 00000000000000000000000000000000 {\"frames\": []}')\n"
        "def add(a, b):\n    return 0\n",
    ],
)
def test_cheating_programs_do_not_pass(program: str) -> None:
    verdict = run(program, program="completion")
    assert not verdict.passed
    assert verdict.outcome in (Outcome.FAIL, Outcome.ERROR)


def test_no_tests_or_only_skips_is_not_a_pass() -> None:
    skipped = "import pytest\n\n\n@pytest.mark.skip\ndef test_x():\n    pass\n"
    assert run("    return a + b\n", tests=skipped).outcome is Outcome.FAIL
    empty = "from solution import add\n"
    verdict = run("    return a + b\n", tests=empty)
    assert verdict.outcome is Outcome.FAIL and "no tests" in verdict.detail


def test_misconfigured_tasks_raise() -> None:
    with pytest.raises(DataError, match="needs 'tests'"):
        run("    return a + b\n", tests="")
    with pytest.raises(InputError, match="program"):
        run("    return a + b\n", program="both")
