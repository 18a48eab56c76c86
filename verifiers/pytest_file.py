"""pytest_file: the user's pytest module runs against the sample, in the sandbox.

What it checks.  The sandbox's working directory gets ``solution.py`` (the problem's ``prompt`` +
the sample; ``program: "completion"`` for the sample alone) and ``test_solution.py`` (the tier's
``tests``: a pytest module that does ``from solution import ...``).  pytest runs from the
project's virtual environment, bound read-only into the sandbox.  The sample passes when every
collected test passed (at least one; skips and expected failures count as not passed), the
session finished with exit status 0, within ``timeout_s``.

Proof of completion.  A trusted runner (``_budget_pytest.py``, written by budget) forks pytest
into a child process *before* it reads this run's random nonce from stdin; the child closes
stdin first and sends per-test reports to the runner over a pipe; its stdout and stderr go to a
file.  Only the runner, after the child exited, prints the result line with the nonce, and the
runner is not dumpable (no ptrace or ``/proc/<pid>/mem`` from the sample).  So ``sys.exit(0)``
/ ``os._exit(0)`` at import (no session-finish report), killing the runner (no result line) or
printing a fake result (no nonce) all fail.

Settings: ``timeout_s`` (wall, default 30), ``program`` (``prompt+completion`` | ``completion``),
``memory_mb`` (default 1024), ``processes`` (default 64), ``unsafe_no_sandbox``.

How it can be fooled.  pytest and the sample share the child process: a sample that, at import,
patches pytest's internals (its reporting hooks, ``_pytest.runner``) or the test module's
functions can make failing tests report as passed; the runner then believes the reports.  Use
``python_tests`` (the tests run in a process the sample cannot touch) where that matters.  Weak
tests (a sample that special-cases the tested inputs) pass as with any unit-test verifier.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from typing import Any

from budget.errors import DataError, InputError
from budget.verify.protocol import Outcome, Verdict

DEFAULT_TIMEOUT_S = 30.0
RESULT_TAG = "BUDGET-PYTEST-RESULT"

_RUNNER = r"""
import ctypes, json, os, sys

# not dumpable before the fork: no window in which the pytest child could read this process's
# memory or open its stdin (the nonce) through /proc
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
REPORT_R, REPORT_W = os.pipe()
pid = os.fork()
if pid == 0:
    # pytest child: nothing of the runner's secrets exists yet; stdin (the nonce) closed first.
    os.close(0)
    os.close(REPORT_R)
    out = os.open("/tmp/pytest-output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    report = os.fdopen(REPORT_W, "w", buffering=1)

    def frame(obj):
        report.write(json.dumps(obj) + "\n")

    class Plugin:
        def pytest_collectreport(self, report):
            if report.failed:
                frame({"collect_error": str(report.nodeid), "text": report.longreprtext[-500:]})

        def pytest_runtest_logreport(self, report):
            frame({"test": report.nodeid, "when": report.when, "outcome": report.outcome,
                   "text": report.longreprtext[-300:] if report.failed else ""})

        def pytest_sessionfinish(self, session, exitstatus):
            frame({"finish": int(exitstatus), "collected": int(session.testscollected)})

    import pytest
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", "/sandbox",
                        "test_solution.py"], plugins=[Plugin()])
    frame({"exit": int(code)})
    report.close()
    os._exit(0)

# runner: the nonce, read after the fork (the child never had it)
nonce = sys.stdin.readline().strip()
os.close(REPORT_W)
frames = []
with os.fdopen(REPORT_R, "rb") as reader:
    for line in reader:
        if len(frames) > 100000:
            break
        try:
            frames.append(json.loads(line))
        except ValueError:
            frames.append({"garbled": True})
_, status = os.waitpid(pid, 0)
tail = ""
try:
    with open("/tmp/pytest-output.txt", "rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - 600))
        tail = fh.read().decode("utf-8", "replace")
except OSError:
    pass
result = {"frames": frames[-2000:], "status": status, "tail": tail}
sys.stdout.write("\n" + "BUDGET-PYTEST-RESULT " + nonce + " " + json.dumps(result) + "\n")
sys.stdout.flush()
"""


def _judge(result: dict[str, Any]) -> tuple[Outcome, str]:
    """The verdict from the runner's frames (the child's per-test reports)."""
    frames: list[dict[str, Any]] = list(result.get("frames", []))
    finish = next((f for f in frames if "finish" in f), None)
    errors = [f for f in frames if "collect_error" in f]
    if errors:
        return (
            Outcome.FAIL,
            f"collection error in {errors[0]['collect_error']}: {_tail(errors[0].get('text', ''))}",
        )
    tests: dict[str, str] = {}
    first_failure = ""
    for f in frames:
        if "test" not in f:
            continue
        name, when, outcome = str(f["test"]), str(f.get("when")), str(f.get("outcome"))
        if outcome == "failed":
            tests[name] = "failed"
            first_failure = first_failure or f"{name} ({when}): {_tail(str(f.get('text', '')))}"
        elif when == "call" and tests.get(name) != "failed":
            tests[name] = outcome
        elif outcome == "skipped":
            tests.setdefault(name, "skipped")
    if finish is None:
        return Outcome.ERROR, "pytest did not finish (the program exited or crashed during the tests)"
    passed = sum(1 for v in tests.values() if v == "passed")
    collected = int(finish.get("collected", 0))
    if first_failure:
        return Outcome.FAIL, f"{passed}/{collected} passed; first failure {first_failure}"
    if collected == 0:
        return Outcome.FAIL, "no tests collected"
    if int(finish["finish"]) != 0 or passed != collected or len(tests) != collected:
        return Outcome.FAIL, f"{passed}/{collected} passed (exit status {finish['finish']})"
    return Outcome.PASS, f"{passed}/{collected} tests passed"


def _tail(text: str, lines: int = 2) -> str:
    """The last few non-blank lines of a pytest report, on one line."""
    kept = [line.strip() for line in str(text).splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-240:]


def _one_line(text: str, limit: int = 300) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())[-limit:]


class PytestFileVerifier:
    """Run the tier's pytest module against prompt + completion in the sandbox."""

    name = "pytest_file"

    def verify(self, problem: Any, completion: str, settings: dict[str, Any]) -> Verdict:
        from budget.verify.sandbox import Limits, get_sandbox

        started = time.monotonic()
        tests = getattr(problem, "tests", None)
        if not tests:
            raise DataError(
                f"problem {getattr(problem, 'id', '?')}: pytest_file needs 'tests' (a pytest module)"
            )
        program_mode = settings.get("program", "prompt+completion")
        if program_mode not in ("prompt+completion", "completion"):
            raise InputError(
                f"pytest_file: program must be 'prompt+completion' or 'completion', not {program_mode!r}"
            )
        prompt = str(getattr(problem, "prompt", "") or "")
        program = completion if program_mode == "completion" else prompt + completion
        wall = float(settings.get("timeout_s", DEFAULT_TIMEOUT_S))
        if not wall > 0:
            raise InputError(f"pytest_file: timeout_s must be > 0, not {wall}")
        limits = Limits(
            wall_s=wall,
            cpu_s=max(1, int(wall)),
            memory_mb=int(settings.get("memory_mb", 1024)),
            processes=int(settings.get("processes", 64)),
        )
        box = get_sandbox(unsafe_no_sandbox=bool(settings.get("unsafe_no_sandbox", False)), include_venv=True)
        nonce = secrets.token_hex(16)
        files: dict[str, bytes | str] = {
            "solution.py": program.encode("utf-8", errors="surrogateescape"),
            "test_solution.py": str(tests),
            "_budget_pytest.py": _RUNNER,
        }
        argv = [sys.executable, "-I", "_budget_pytest.py"]
        res = box.run(argv, files=files, stdin=(nonce + "\n").encode(), limits=limits)
        took = time.monotonic() - started
        if res.timed_out:
            return Verdict(passed=False, outcome=Outcome.TIMEOUT, duration_s=took, detail=f"over {wall:g} s")
        marker = f"{RESULT_TAG} {nonce} ".encode()
        lines = [line for line in res.stdout.splitlines() if line.startswith(marker)]
        if res.returncode != 0 or len(lines) != 1:
            why = _one_line(res.stderr.decode("utf-8", errors="replace")) or f"exit {res.returncode}"
            return Verdict(
                passed=False,
                outcome=Outcome.ERROR,
                duration_s=took,
                detail=f"no result from the runner: {why}",
            )
        try:
            result = json.loads(lines[0][len(marker) :])
        except ValueError:
            return Verdict(
                passed=False, outcome=Outcome.ERROR, duration_s=took, detail="garbled runner result"
            )
        outcome, detail = _judge(result)
        if outcome is Outcome.ERROR and result.get("tail"):
            detail += f"; output: {_one_line(str(result['tail']), 200)}"
        return Verdict(passed=outcome is Outcome.PASS, outcome=outcome, duration_s=took, detail=detail[:500])


VERIFIER = PytestFileVerifier()
