"""python_tests: HumanEval-style unit tests, run in the sandbox with proof of completion.

What it checks.  The program is the problem's ``prompt`` + the sample's completion; the test
code (the tier's ``tests``) defines ``check(candidate)``; the sample passes when
``check(<entry_point>)`` returns without raising, within ``timeout_s`` (default 10 s).  This is
the HumanEval protocol (program = prompt + completion + test + ``check(entry_point)``), with one
difference in how it is run: the test code never runs in the sample's process.  The sample runs
in its own process (bubblewrap sandbox, fresh rlimits); the tests run in a separate trusted
process and every call to the entry point is forwarded to the sample, its return value coming
back as plain data.  Success is reported only by that trusted process, with a per-job random
nonce, after ``check`` returned (see ``budget.verify.harness``).

Settings: ``timeout_s`` (all calls of one check together), ``memory_mb`` (address space of the
sample process, 32 to 1024, default 1024: the workers' own limit), ``unsafe_no_sandbox`` (set by
``--unsafe-no-sandbox``).

How it can be fooled.
- Weak tests: a sample that special-cases the tested inputs passes (the reason budget keeps a
  ground-truth tier with stronger tests).
- A sample can read what it is called with; it cannot read the test code, the expected values or
  the nonce, which reach only the trusted process after the sample process exists.
- Return values must be plain data (``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``,
  ``complex``, ``list``, ``tuple``, ``dict``, ``set``, ``frozenset``, exact types): an object with
  a forged ``__eq__`` fails instead of passing, and so does a correct answer of another type
  (a ``map``/generator where a list is expected fails, as it does in HumanEval).
- What a call does reaches the test as in one process: arguments the sample changed in place
  (list, dict, set contents, at any depth) are changed the same way in the tester, so a test
  that checks an in-place sort, or that the input was left alone, sees the truth; an exception
  arrives as the most specific built-in class it is an instance of, with its arguments (a
  test's ``except RuntimeError`` does not catch an ``OSError``); ``SystemExit`` and other
  non-``Exception`` raises fail the sample; ``StopIteration`` arrives as ``RuntimeError`` (it
  would end a test's loop early); a reply the tester cannot read fails the sample even inside
  the test's ``except Exception``.
- Tests that pass functions to the candidate cannot be forwarded (none of HumanEval's 164 do);
  such a check fails with an ``error`` verdict.
- Not a defence against kernel exploits: the sandbox is bubblewrap namespaces plus rlimits.
"""

from __future__ import annotations

from typing import Any

from budget.errors import DataError, InputError
from budget.verify.pool import DEFAULT_LIMITS, UnitTestJob, run_python_tests
from budget.verify.protocol import Verdict

DEFAULT_TIMEOUT_S = 10.0


class PythonTestsVerifier:
    """The ``python_tests`` plug-in (thread-safe: the worker pool is shared)."""

    name = "python_tests"

    def verify(self, problem: Any, completion: str, settings: dict[str, Any]) -> Verdict:
        """Run the problem's tests (``check(entry_point)``) on prompt + completion in the sandbox."""
        test = getattr(problem, "tests", None)
        entry_point = getattr(problem, "entry_point", None)
        if not test or not entry_point:
            pid = getattr(problem, "id", "?")
            raise DataError(f"problem {pid}: python_tests needs 'tests' (defining check) and 'entry_point'")
        timeout = settings.get("timeout_s", DEFAULT_TIMEOUT_S)
        if not isinstance(timeout, int | float) or not timeout > 0:
            raise InputError(f"python_tests: timeout_s must be a positive number, not {timeout!r}")
        memory = settings.get("memory_mb")
        cap = DEFAULT_LIMITS.memory_mb
        if memory is not None and (not isinstance(memory, int) or not 32 <= memory <= cap):
            raise InputError(f"python_tests: memory_mb must be an integer from 32 to {cap}, not {memory!r}")
        job = UnitTestJob(
            memory_mb=memory,
            prompt=str(getattr(problem, "prompt", "")),
            completion=completion,
            test=test,
            entry_point=entry_point,
            timeout_s=float(timeout),
        )
        return run_python_tests(job, unsafe_no_sandbox=bool(settings.get("unsafe_no_sandbox", False)))


VERIFIER = PythonTestsVerifier()
