"""command: any executable judges the sample; exit code 0 (or one of ``pass_codes``) accepts it.

What it checks.  Whatever the command checks.  It runs in the sandbox
(:mod:`budget.verify.sandbox`: no network, read-only system, private ``/sandbox`` working
directory, limits, wall clock, the whole process tree killed at the end) and gets:

- the sample on stdin (``input: "stdin"``, the default) or as the file ``sample.txt``
  (``input: "file"``; ``{sample}`` in the command is replaced by its path);
- ``problem.json``: the problem as the requested tier sees it (``id``, ``prompt``, ``answer``,
  ``tests``, ``entry_point``, ``metadata``), so one checker serves both tiers; ``{problem}`` in the
  command is replaced by its path;
- the task author's ``files`` (``{"name": "content"}``) and ``copy`` (host files read by budget and
  copied in: the checker script itself, say).

Settings: ``command`` (an argv list, or a string split like a shell would), ``input``,
``files``, ``copy``, ``pass_codes`` (default ``[0]``), ``timeout_s`` (wall, default 10),
``cpu_s``, ``memory_mb``, ``processes``, ``include_venv`` (bind the venv read-only so its
``python`` and packages work inside), ``unsafe_no_sandbox`` (set by budget from the CLI flag).

Exit codes 126/127 (command not executable / not found inside the sandbox) are an ``error``
(the task is misconfigured), a wall-clock overrun is a ``timeout``, any other code a ``fail``.

How it can be fooled.  Only as well as the command: the exit code is the whole verdict.  If the
command *runs* the sample in its own process (``python3 {sample}``, ``sh {sample}``), the sample
controls the exit code (``exit 0`` passes): for code, use ``python_tests`` or ``pytest_file``,
which demand proof that the tests ran to the end.  A checker that greps the output for a word
accepts any sample that prints that word.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

from budget.errors import InputError
from budget.verify.protocol import Outcome, Verdict

SAMPLE_FILE = "sample.txt"
PROBLEM_FILE = "problem.json"
DEFAULT_TIMEOUT_S = 10.0


def _argv(settings: dict[str, Any], sample_path: str, problem_path: str) -> list[str]:
    raw = settings.get("command")
    if isinstance(raw, str):
        argv = shlex.split(raw)
    elif isinstance(raw, list) and all(isinstance(a, str) for a in raw):
        argv = list(raw)
    else:
        raise InputError("command verifier: settings.command must be a string or a list of strings")
    if not argv:
        raise InputError("command verifier: settings.command is empty")
    return [a.replace("{sample}", sample_path).replace("{problem}", problem_path) for a in argv]


def _problem_json(problem: Any) -> str:
    fields = ("id", "prompt", "answer", "tests", "entry_point", "metadata")
    return json.dumps({f: getattr(problem, f, None) for f in fields}, ensure_ascii=False, default=str)


def _tail(data: bytes, n: int = 200) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    return text[-n:].replace("\n", " | ")


class CommandVerifier:
    """Run the task's command on the sample in the sandbox; its exit code is the verdict."""

    name = "command"

    def verify(self, problem: Any, completion: str, settings: dict[str, Any]) -> Verdict:
        """Run the problem's command on the sample in the sandbox; its exit status is the verdict."""
        from budget.verify.sandbox import WORKDIR, Limits, get_sandbox

        started = time.monotonic()
        mode = settings.get("input", "stdin")
        if mode not in ("stdin", "file"):
            raise InputError(f"command verifier: input must be 'stdin' or 'file', not {mode!r}")
        argv = _argv(settings, f"{WORKDIR}/{SAMPLE_FILE}", f"{WORKDIR}/{PROBLEM_FILE}")
        pass_codes = {int(c) for c in settings.get("pass_codes", [0])}
        files: dict[str, bytes | str] = {PROBLEM_FILE: _problem_json(problem)}
        for name, content in dict(settings.get("files", {})).items():
            files[str(name)] = str(content)
        for host in settings.get("copy", []):
            path = Path(str(host)).expanduser()
            try:
                files[path.name] = path.read_bytes()
            except OSError as exc:
                raise InputError(f"command verifier: cannot read {path}: {exc.strerror or exc}") from exc
        sample = completion.encode("utf-8", errors="surrogateescape")
        if mode == "file":
            files[SAMPLE_FILE] = sample
        wall = float(settings.get("timeout_s", DEFAULT_TIMEOUT_S))
        limits = Limits(
            wall_s=wall,
            cpu_s=int(settings.get("cpu_s", max(1, int(wall)))),
            memory_mb=int(settings.get("memory_mb", 1024)),
            processes=int(settings.get("processes", 64)),
        )
        box = get_sandbox(
            unsafe_no_sandbox=bool(settings.get("unsafe_no_sandbox", False)),
            include_venv=bool(settings.get("include_venv", False)),
        )
        res = box.run(argv, files=files, stdin=sample if mode == "stdin" else b"", limits=limits)
        took = time.monotonic() - started
        if res.timed_out:
            return Verdict(passed=False, outcome=Outcome.TIMEOUT, duration_s=took, detail=f"over {wall:g} s")
        code = res.returncode
        if code in pass_codes:
            return Verdict(passed=True, outcome=Outcome.PASS, duration_s=took, detail=f"exit {code}")
        if code in (126, 127):
            return Verdict(
                passed=False,
                outcome=Outcome.ERROR,
                duration_s=took,
                detail=f"command {argv[0]!r} not runnable in the sandbox (exit {code}): {_tail(res.stderr)}",
            )
        if code is not None and code < 0:
            why = f"killed by signal {-code}"
        elif code is not None and 128 < code <= 128 + 64:
            why = f"exit {code} (killed by signal {code - 128}?)"  # as the sandbox's init reports it
        else:
            why = f"exit {code}"
        tail = _tail(res.stderr) or _tail(res.stdout)
        return Verdict(
            passed=False, outcome=Outcome.FAIL, duration_s=took, detail=f"{why}: {tail}" if tail else why
        )


VERIFIER = CommandVerifier()
