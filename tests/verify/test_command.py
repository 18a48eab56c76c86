"""command: an executable judges the sample by its exit code, inside the sandbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from budget.errors import InputError
from budget.tasks import Problem, Task, VerifierSpec
from budget.verify.plugins import load_verifier
from budget.verify.protocol import Outcome
from budget.verify.sandbox import probe

pytestmark = pytest.mark.skipif(not probe().available, reason="bubblewrap sandbox unavailable")

VERIFIER = load_verifier("command")

#: A checker that compares stdin with the tier's answer in problem.json.
COMPARE = (
    "import json, sys\n"
    "answer = json.load(open('/sandbox/problem.json'))['answer']\n"
    "sys.exit(0 if sys.stdin.read().strip() == answer else 1)\n"
)


def _task() -> Task:
    spec = VerifierSpec(
        name="command",
        settings={"command": ["python3", "check.py"], "files": {"check.py": COMPARE}},
    )
    problem = Problem(id="p", prompt="6*7?", answer="42", hidden_answer="42.0")
    return Task(name="t", verifier=spec, problems=[problem])


def test_stdin_and_the_tiers_answer() -> None:
    task = _task()
    p = task.problem("p")
    spec, view = task.check_for(p, "verifier")
    assert VERIFIER.verify(view, "42\n", spec.settings).outcome is Outcome.PASS
    failed = VERIFIER.verify(view, "41", spec.settings)
    assert failed.outcome is Outcome.FAIL and failed.detail.startswith("exit 1")
    spec, view = task.check_for(p, "ground_truth")
    assert VERIFIER.verify(view, "42.0", spec.settings).passed
    assert not VERIFIER.verify(view, "42", spec.settings).passed


def test_file_input_placeholders_and_pass_codes() -> None:
    p = Problem(id="p", prompt="")
    settings: dict[str, object] = {"command": "grep -q needle {sample}", "input": "file"}
    assert VERIFIER.verify(p, "hay needle hay", settings).passed
    assert not VERIFIER.verify(p, "hay", settings).passed
    inverted = {**settings, "pass_codes": [1]}
    assert VERIFIER.verify(p, "hay", inverted).passed


def test_copied_checker_from_the_host(tmp_path: Path) -> None:
    script = tmp_path / "judge.sh"
    script.write_text('read line; [ "$line" = "yes" ]\n')
    settings = {"command": ["sh", "judge.sh"], "copy": [str(script)]}
    p = Problem(id="p", prompt="")
    assert VERIFIER.verify(p, "yes\n", settings).passed
    assert not VERIFIER.verify(p, "no\n", settings).passed
    with pytest.raises(InputError, match="cannot read"):
        VERIFIER.verify(p, "yes", {"command": ["true"], "copy": [str(tmp_path / "absent")]})


def test_timeouts_missing_commands_and_signals() -> None:
    p = Problem(id="p", prompt="")
    slow = VERIFIER.verify(p, "", {"command": ["sleep", "30"], "timeout_s": 1})
    assert slow.outcome is Outcome.TIMEOUT
    missing = VERIFIER.verify(p, "", {"command": ["no-such-checker"]})
    assert missing.outcome is Outcome.ERROR and "not runnable" in missing.detail
    killed = VERIFIER.verify(p, "", {"command": ["sh", "-c", "kill -9 $$"]})
    assert killed.outcome is Outcome.FAIL and "signal 9" in killed.detail


def test_the_sandbox_hides_secrets_and_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-budget-test-secret")
    p = Problem(id="p", prompt="")
    leak = VERIFIER.verify(p, "", {"command": ["sh", "-c", "env | grep -q sk-budget-test-secret"]})
    assert not leak.passed
    home = os.path.expanduser("~")
    sees_home = VERIFIER.verify(p, "", {"command": ["test", "-e", f"{home}/.bashrc"]})
    seen_project = VERIFIER.verify(p, "", {"command": ["test", "-e", str(Path(__file__).resolve())]})
    assert not sees_home.passed and not seen_project.passed


def test_bad_settings_are_input_errors() -> None:
    p = Problem(id="p", prompt="")
    with pytest.raises(InputError, match="command"):
        VERIFIER.verify(p, "", {})
    with pytest.raises(InputError, match="empty"):
        VERIFIER.verify(p, "", {"command": ""})
    with pytest.raises(InputError, match="input"):
        VERIFIER.verify(p, "", {"command": "true", "input": "socket"})
