"""pytest_file: the user's pytest module runs against the sample, in the sandbox.

What it checks.  The sandbox's working directory gets ``solution.py`` (the problem's ``prompt`` +
the sample; ``program: "completion"`` for the sample alone) and ``test_solution.py`` (the tier's
``tests``: a pytest module that does ``from solution import ...``).  pytest runs from the
project's virtual environment, bound read-only into the sandbox.  The sample passes when every
collected test passed (at least one; skips and expected failures count as not passed), the
session finished with exit status 0, within ``timeout_s``.

Proof of completion, as ``python_tests`` proves it.  The tests never share a process with the
sample.  A trusted runner (``budget.verify.harness.pytest_main``, from the read-only
``/verifier`` directory of the sandbox, with the test module) forks the *sample process*, which
loads ``solution.py`` and then only answers calls; the runner itself runs pytest with
``solution`` in ``sys.modules`` as a proxy: each function call is forwarded to the sample process
and its return value comes back as plain data (``None``, ``bool``, numbers, ``str``, ``bytes``,
lists, tuples, dicts, sets; exact types), any other name is fetched as plain data.  The runner
reads this run's random nonce from stdin only after the fork, keeps pytest's per-test reports
in its own memory, and, after pytest returned, writes one result line with the nonce on a
descriptor the sample process never holds; it is not dumpable (no ptrace, ``/proc/<pid>/mem``
or ``/proc/<pid>/fd`` from the sample).  So ``sys.exit(0)`` / ``os._exit(0)`` at import (the
program does not load: a failure), fake report lines on any descriptor the sample has, killing
the runner (no result line), printing a fake result (no nonce) and patching pytest (it is not in
the sample's process) all fail.

Settings: ``timeout_s`` (wall, default 30), ``program`` (``prompt+completion`` | ``completion``),
``memory_mb`` (default 1024), ``processes`` (default 64), ``unsafe_no_sandbox``.

How it can be fooled.  Weak tests (a sample that special-cases the tested inputs) pass as with
any unit-test verifier; the sample can read the test module (it is in the sandbox).  What the
proxy cannot carry fails instead of passing: a test that uses the sample's classes or other
objects (only functions and plain-data values cross the process boundary), or passes functions
to the sample.  Arguments changed in place and exceptions reach the tests as in one process (see
``python_tests``).
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from budget.errors import DataError, InputError
from budget.verify import harness
from budget.verify.protocol import Outcome, Verdict

DEFAULT_TIMEOUT_S = 30.0
RESULT_TAG = harness.PYTEST_TAG

_RUNNER = r"""
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))  # the read-only /verifier
sys.path.insert(0, here)
import _budget_harness
settings = json.loads(sys.argv[1])
_budget_harness.pytest_main(os.path.join(here, "test_solution.py"), "solution.py", "solution",
                            settings["limits"], settings["wall_s"])
"""


def _judge(result: dict[str, Any]) -> tuple[Outcome, str]:
    """The verdict from the runner's frames (the child's per-test reports)."""
    frames: list[dict[str, Any]] = list(result.get("frames", []))
    loading = next((f for f in frames if "load_error" in f), None)
    if loading is not None:
        return Outcome.FAIL, f"the program does not load: {loading['load_error']}"
    finish = next((f for f in frames if "finish" in f), None)
    died = next((f for f in frames if "sample_failure" in f), None)
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
    if died is not None:
        return Outcome.FAIL, f"the sample failed during the tests: {died['sample_failure']}"
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
        """Run the problem's pytest file against the sample in the sandbox."""
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
        runner_settings = {
            "wall_s": wall,
            "limits": {
                "cpu_s": limits.cpu_s,
                "memory_mb": limits.memory_mb,
                "file_size_mb": limits.file_size_mb,
                "open_files": limits.open_files,
                "processes": limits.processes,
            },
        }
        files: dict[str, bytes | str] = {"solution.py": program.encode("utf-8", errors="surrogatepass")}
        ro_files: dict[str, bytes | str] = {
            "test_solution.py": str(tests),
            "_budget_pytest.py": _RUNNER,
            "_budget_harness.py": Path(harness.__file__).read_bytes(),
        }
        argv = [sys.executable, "-I", "../verifier/_budget_pytest.py", json.dumps(runner_settings)]
        res = box.run(argv, files=files, ro_files=ro_files, stdin=(nonce + "\n").encode(), limits=limits)
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
        if outcome is Outcome.PASS and "frames_without_changes" in result:
            # the sample changed its arguments in place: the tests must pass without those changes
            # too (else they passed only because of them: `add(xs) == sorted(xs)` with xs emptied)
            again, why = _judge({"frames": result["frames_without_changes"]})
            if again is not Outcome.PASS:
                outcome = Outcome.FAIL
                detail = f"the tests pass only with the sample's changes to its arguments; {why}"
        if outcome is Outcome.ERROR and result.get("tail"):
            detail += f"; output: {_one_line(str(result['tail']), 200)}"
        return Verdict(passed=outcome is Outcome.PASS, outcome=outcome, duration_s=took, detail=detail[:500])


VERIFIER = PytestFileVerifier()
