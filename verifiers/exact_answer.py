r"""exact_answer: the final answer of a math sample, compared with the reference answer.

What it checks.  The answer is *extracted* from the sample (and from the reference, when the
reference is a worked solution): by default the last ``\boxed{...}`` / ``\fbox{...}`` (MATH;
nested braces balanced), else the last ``#### 42`` line (GSM8K), else the last "the answer is X",
else the last number.  Both answers are *normalised* (``$``, ``\text{}`` wrappers, ``\dfrac``,
``\left``/``\right``, thousands separators of an answer that is one number, a trailing
period) and compared: equal strings or equal exact numbers pass at once; anything else goes to
``math-verify`` (Hugging Face), which parses both with SymPy and checks symbolic equivalence
(``1/2 = 0.5 = \frac12``, ``(x+1)^2 = x^2+2x+1``, unordered sets).

Settings: ``extract`` (``auto`` | ``boxed`` | ``gsm8k`` | ``answer_is`` | ``last_number`` |
``whole``), ``timeout_s`` (per comparison, default 5).

Untrusted strings.  SymPy's parser evaluates code built from the string, and some inputs
(``9^{9^{9^9}}``) never finish.  So the comparison runs in a few persistent worker processes,
inside the bubblewrap sandbox where it works (no network, read-only system, nothing of the
user's), else unisolated but with the sandbox's rlimits and scrubbed environment (a sample's
*answer* is parsed, never run as a program); 1 GiB of address space; math-verify's own alarm
timeouts inside and a hard kill from outside.  The sample is cut to its last
:data:`MAX_SAMPLE_CHARS` characters and an extracted answer over :data:`MAX_ANSWER_CHARS` is a
failure.  A timeout is a ``timeout`` verdict, never an accept.

How it can be fooled.  It only looks at the final answer: a sample with a wrong derivation and a
lucky (or guessed) answer passes, and with ``last_number`` any text ending in the right number
passes.  A sample can box several answers; only the last counts (hedging across boxes does not
help).  Multiple-choice or small-integer answers are guessable.  math-verify's equivalence is
lenient (``10\%`` equals ``10``, ``3 apples`` and ``x = 3`` equal ``3``, rounding to 6 decimals),
which can accept a near miss; hedges inside one box (``3 or 4``, ``3, 4, 5``) are rejected.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from budget.errors import InputError
from budget.verify.protocol import Outcome, Verdict

MAX_SAMPLE_CHARS = 20_000
MAX_ANSWER_CHARS = 1_000
DEFAULT_TIMEOUT_S = 5.0
EXTRACTORS = ("auto", "boxed", "gsm8k", "answer_is", "last_number", "whole")
MEMORY_LIMIT_BYTES = 1 << 30
WORKER_CPU_S = 600
WORKER_REQUESTS = 2000

# ----------------------------------------------------------------------------- extraction

_BOXED = re.compile(r"\\(?:boxed|fbox)\b")
_GSM8K = re.compile(r"####[ \t]*([^\n]*)")
_ANSWER_IS = re.compile(r"answer\s*(?:is|:)\s*:?\s*([^\n]{1,200}?)(?:\.(?:\s|$)|\n|$)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")


def last_boxed(text: str) -> str | None:
    r"""The content of the last ``\boxed{...}`` (or ``\fbox``), braces balanced; ``\boxed 5`` too."""
    matches = list(_BOXED.finditer(text))
    for match in reversed(matches):
        i = match.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            depth = 0
            for j in range(i, len(text)):
                ch = text[j]
                if ch == "\\":
                    continue
                if ch == "{" and text[j - 1] != "\\":
                    depth += 1
                elif ch == "}" and text[j - 1] != "\\":
                    depth -= 1
                    if depth == 0:
                        return text[i + 1 : j]
            continue  # unbalanced: try an earlier box
        if match.end() < len(text) and text[match.end()] == " ":
            rest = text[i:].split("$", 1)[0].strip()
            if rest:
                return rest.split()[0]
    return None


def gsm8k_answer(text: str) -> str | None:
    """The text after the last ``####`` marker (GSM8K's final-answer line)."""
    found = _GSM8K.findall(text)
    return found[-1].strip() if found else None


def answer_is(text: str) -> str | None:
    """The text after the last "the answer is" / "answer:", up to the end of that sentence or line."""
    found = _ANSWER_IS.findall(text)
    return found[-1].strip() if found else None


def last_number(text: str) -> str | None:
    """The last number in the text (integers, decimals, thousands separators, simple fractions)."""
    found = _NUMBER.findall(text)
    return found[-1] if found else None


def extract_answer(text: str, how: str = "auto") -> str | None:
    """The final answer of ``text`` by the ``how`` rule (see the module docstring)."""
    text = text[-MAX_SAMPLE_CHARS:]
    if how == "whole":
        return text.strip() or None
    rules = {"boxed": last_boxed, "gsm8k": gsm8k_answer, "answer_is": answer_is, "last_number": last_number}
    if how != "auto":
        return rules[how](text)
    for rule in (last_boxed, gsm8k_answer, answer_is, last_number):
        found = rule(text)
        if found:
            return found
    return None


# ----------------------------------------------------------------------------- normalisation

_TEXT_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")
# A whole answer that is one number written with thousands separators ("12,345", "-1,000.5"):
# the only place a comma is a separator.  Anywhere else it separates items ("(1,100)" is a pair,
# "[2,500]" an interval, "1,100" inside a set an element), and deleting it would turn a tuple
# into a number (issue 9, item 14).
_THOUSANDS_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def normalise(answer: str) -> str:
    """A canonical spelling for string comparison (math-verify does the real equivalence)."""
    s = answer.strip()
    s = s.replace("\\!", "").replace("\\,", "").replace("\\;", "").replace("\\ ", " ")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = _TEXT_WRAP.sub(r"\1", s)
    s = s.strip().strip("$").strip()
    s = s.rstrip(".").strip()
    if s.startswith("\\$"):
        s = s[2:].strip()
    if _THOUSANDS_NUMBER.fullmatch(s):
        s = s.replace(",", "")
    return " ".join(s.split())


def _as_number(s: str) -> Decimal | None:
    try:
        if re.fullmatch(r"-?\d+(?:\.\d+)?|-?\.\d+", s):
            return Decimal(s)
    except InvalidOperation:
        return None
    return None


# ----------------------------------------------------------------------------- math-verify workers

_CHILD = r"""
import json, os, sys
null = os.open(os.devnull, os.O_WRONLY)
os.dup2(null, 2)
import logging
logging.disable(logging.CRITICAL)
from math_verify import parse, verify
from math_verify.errors import TimeoutException
sys.stdout.write("ready\n"); sys.stdout.flush()
for line in sys.stdin.buffer:
    line = line.decode("utf-8", "surrogateescape")
    req = json.loads(line)
    t = max(1, int(req["timeout"]))
    try:
        gold = parse("$" + req["gold"] + "$", parsing_timeout=t, raise_on_error=True)
        pred = parse("$" + req["pred"] + "$", parsing_timeout=t, raise_on_error=True)
        ok = bool(gold) and bool(pred) and bool(verify(gold, pred, timeout_seconds=t, raise_on_error=True))
        out = {"equal": ok}
    except TimeoutException:
        out = {"timeout": True}
    except MemoryError:
        out = {"error": "out of memory"}
    except Exception as exc:
        out = {"equal": False, "note": type(exc).__name__}
    sys.stdout.write(json.dumps(out) + "\n"); sys.stdout.flush()
"""


class _Worker:
    """One math-verify child process, in the sandbox where one works; one JSON request per line."""

    def __init__(self) -> None:
        from budget.verify.sandbox import Limits, get_sandbox

        # Not sample *code*: without bubblewrap it still runs, unisolated but under rlimits with a
        # scrubbed environment (get_sandbox's explicit fallback).
        box = get_sandbox(unsafe_no_sandbox=True, include_venv=True)
        limits = Limits(
            cpu_s=WORKER_CPU_S,
            wall_s=WORKER_CPU_S,
            memory_mb=MEMORY_LIMIT_BYTES >> 20,
            processes=16,
            file_size_mb=1,
            open_files=64,
            tmp_mb=16,
        )
        self.home = tempfile.mkdtemp(prefix="budget-mathverify-")
        # Started from the core's long-lived spawner thread: bubblewrap's --die-with-parent fires
        # when the *thread* that forked it exits, and callers are often short-lived pool threads.
        from budget.verify.pool import _spawner

        self.proc, self.cgroup = _spawner.call(
            lambda: box.popen(
                [sys.executable, "-I", "-c", _CHILD], limits=limits, cwd=None if box.isolated else self.home
            )
        )
        self.served = 0
        if self._read(60.0) != "ready":
            self.kill()
            raise RuntimeError("the math-verify worker did not start")

    def _read(self, timeout: float) -> str | None:
        """One line from the child; ``None`` when none came in time, ``""`` when it exited."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline(1 << 16)
        return line.decode("utf-8", errors="replace").strip() or "?" if line else ""

    def ask(self, gold: str, pred: str, timeout_s: float) -> dict[str, Any] | None:
        """The child's answer, or ``None`` when it did not answer in time (then it is killed)."""
        assert self.proc.stdin is not None
        self.served += 1
        request = json.dumps({"gold": gold, "pred": pred, "timeout": timeout_s}) + "\n"
        try:
            self.proc.stdin.write(request.encode("utf-8", errors="surrogateescape"))
            self.proc.stdin.flush()
        except OSError:
            self.kill()
            return {"error": "worker died"}
        line = self._read(3 * timeout_s + 2.0)
        if line is None:
            self.kill()
            return None
        try:
            answer: dict[str, Any] = json.loads(line) if line else {"error": "worker died"}
        except ValueError:
            answer = {"error": "garbled answer"}
        if "error" in answer:
            self.kill()
        return answer

    def alive(self) -> bool:
        return self.proc.poll() is None and self.served < WORKER_REQUESTS

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self.cgroup is not None:
            self.cgroup.remove()
        shutil.rmtree(self.home, ignore_errors=True)


class _WorkerPool:
    """A few persistent workers shared by threads (starting one costs ~1.5 s of imports)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self.started = 0
        self.lock = threading.Lock()
        self.all: list[_Worker] = []

    def acquire(self) -> _Worker:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            pass
        with self.lock:
            grow = self.started < self.size
            if grow:
                self.started += 1
        if not grow:
            return self.idle.get()
        try:
            worker = _Worker()
        except BaseException:
            with self.lock:
                self.started -= 1
            raise
        with self.lock:
            self.all.append(worker)
        return worker

    def release(self, worker: _Worker) -> None:
        if worker.alive():
            self.idle.put(worker)
            return
        worker.kill()
        with self.lock:
            self.started -= 1
            if worker in self.all:
                self.all.remove(worker)

    def close(self) -> None:
        with self.lock:
            workers, self.all = self.all, []
        for w in workers:
            w.kill()


_POOL = _WorkerPool(size=max(1, min(4, len(os.sched_getaffinity(0)))))
atexit.register(_POOL.close)


def equivalent(gold: str, pred: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool | None:
    """Symbolic equivalence by math-verify in a worker process; ``None`` when it timed out.

    Raises ``RuntimeError`` when the worker fails (out of memory, crash).
    """
    for _attempt in range(2):  # a worker found dead (killed from outside) is replaced once
        worker = _POOL.acquire()
        try:
            answer = worker.ask(gold, pred, timeout_s)
        finally:
            _POOL.release(worker)
        if answer is None or answer.get("error") != "worker died":
            break
    if answer is None or answer.get("timeout"):
        return None
    if "error" in answer:
        raise RuntimeError(str(answer["error"]))
    return bool(answer["equal"])


# ----------------------------------------------------------------------------- the verifier


class ExactAnswerVerifier:
    """Pass when the sample's final answer equals the problem's ``answer`` (see module docstring)."""

    name = "exact_answer"

    def verify(self, problem: Any, completion: str, settings: dict[str, Any]) -> Verdict:
        """Extract the final answers of the sample and the reference, normalise and compare them."""
        started = time.monotonic()

        def verdict(outcome: Outcome, detail: str) -> Verdict:
            took = time.monotonic() - started
            return Verdict(passed=outcome is Outcome.PASS, outcome=outcome, duration_s=took, detail=detail)

        how = str(settings.get("extract", "auto"))
        if how not in EXTRACTORS:
            raise InputError(
                f"exact_answer: unknown extract rule {how!r}; use one of {', '.join(EXTRACTORS)}"
            )
        timeout_s = float(settings.get("timeout_s", DEFAULT_TIMEOUT_S))
        reference = getattr(problem, "answer", None)
        if reference is None or not str(reference).strip():
            raise InputError(f"exact_answer: problem {getattr(problem, 'id', '?')} has no answer")
        reference = str(reference)
        gold = (
            extract_answer(reference, "auto") if re.search(r"####|\\boxed|\\fbox", reference) else reference
        )
        if gold is None:
            raise InputError(f"exact_answer: no answer in the reference of {getattr(problem, 'id', '?')}")
        pred = extract_answer(completion, how)
        if pred is None:
            return verdict(Outcome.FAIL, "no final answer found in the sample")
        if len(pred) > MAX_ANSWER_CHARS:
            return verdict(Outcome.FAIL, f"extracted answer too long ({len(pred)} characters)")
        g, p = normalise(gold), normalise(pred)
        if not p:
            return verdict(Outcome.FAIL, "empty final answer")
        if g == p:
            return verdict(Outcome.PASS, f"answer {p[:60]!r} matches")
        gn, pn = _as_number(g), _as_number(p)
        if gn is not None and pn is not None:
            if gn == pn:
                return verdict(Outcome.PASS, f"answer {p[:60]!r} equals {g[:60]!r}")
            return verdict(Outcome.FAIL, f"answer {p[:60]!r}, expected {g[:60]!r}")
        try:
            same = equivalent(g, p, timeout_s)
        except RuntimeError as exc:
            return verdict(Outcome.ERROR, f"math-verify worker failed: {exc}")
        if same is None:
            return verdict(Outcome.TIMEOUT, f"equivalence check exceeded {timeout_s:g} s")
        if same:
            return verdict(Outcome.PASS, f"answer {p[:60]!r} equivalent to {g[:60]!r}")
        return verdict(Outcome.FAIL, f"answer {p[:60]!r}, expected {g[:60]!r}")


VERIFIER = ExactAnswerVerifier()
