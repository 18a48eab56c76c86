"""Warm sandboxed workers that run HumanEval-style unit tests, and the verdict they lead to.

A :class:`Worker` is one bubblewrap sandbox holding a long-lived harness process
(:mod:`budget.verify.harness`, the "zygote"): Python starts and imports the usual modules once,
then each job costs two ``fork`` calls inside the sandbox instead of a new sandbox and a new
interpreter.  Isolation between jobs: every process a job started is killed; the writable
directories get their modes back and are emptied, System V IPC objects and POSIX message queues
are removed; a sample's program reaches only its own process (never the long-lived harness it is
forked from); each sample gets fresh rlimits.  A worker whose harness cannot prove it is clean
after a job, dies or overruns is killed whole (process group, pid namespace, cgroup) and
replaced.

A :class:`WorkerPool` holds two workers per CPU (``os.sched_getaffinity``); threads borrow a
worker per job, so :func:`run_python_tests` is safe to call from many threads at once.
``warm=False`` starts a fresh sandbox per job instead (the cold path, measured by
``benchmarks/verify_throughput.py``).

The verdict: ``pass`` needs a ``result`` frame carrying this job's 128-bit nonce (which only the
tester process reads, after the sample process was forked) saying ``check`` returned, followed
by the zygote's ``done`` frame.  Anything else is a rejection: ``fail`` (an assertion or error
in the tests), ``timeout``, ``error`` (the program crashed or exited before the tests ended),
``sandbox_violation`` (the harness was killed or a frame did not carry the nonce).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import math
import os
import queue
import secrets
import select
import signal
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from budget.errors import SandboxError
from budget.verify import harness
from budget.verify.protocol import Outcome, Verdict
from budget.verify.sandbox import Cgroup, Limits, Sandbox, get_sandbox, sandbox_python

T = TypeVar("T")
START_TIMEOUT_S = 30.0
GRACE_S = 2.0
DEFAULT_LIMITS = Limits(cpu_s=10, memory_mb=1024, processes=16, file_size_mb=16, open_files=64, tmp_mb=64)


class UnitTestJob(BaseModel):
    """One sample against one test: program = ``prompt + completion``; ``test`` defines ``check``."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    completion: str
    test: str
    entry_point: str = Field(min_length=1)
    timeout_s: float = Field(default=10.0, gt=0)
    memory_mb: int | None = Field(default=None, ge=32, description="sample address space; pool's if None")


class WorkerDied(Exception):
    """The worker's harness went away (the sample may have killed it)."""


class WorkerTimeout(Exception):
    """No frame within the host-side deadline."""


@functools.cache
def _harness_source() -> str:
    return Path(harness.__file__).read_text(encoding="utf-8")


class Worker:
    """One sandbox with a warm harness in it."""

    def __init__(
        self, sandbox: Sandbox, limits: Limits = DEFAULT_LIMITS, label: str = "", preload: bool = True
    ) -> None:
        self.sandbox = sandbox
        self.limits = limits
        zygote_limits = limits.model_copy(update={"cpu_s": 24 * 3600, "processes": limits.processes + 8})
        argv = [sandbox_python(), "-I", "-S", "-c", _harness_source()]
        if sandbox.isolated:
            argv.append("--pidns")
        if not preload:
            argv.append("--no-preload")  # one job only: importing modules it may not need is waste
        if label:
            argv += ["--label", label]  # lets a caller find this worker's processes in ps
        self.proc: subprocess.Popen[bytes]
        self.cgroup: Cgroup | None
        self.proc, self.cgroup = _spawner.call(
            lambda: sandbox.popen(argv, limits=zygote_limits, as_pid_1=True)
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self._out = self.proc.stdout.fileno()
        self._buf = b""
        self._seq = 0
        self.alive = True
        try:
            ready = self._read_frame(time.monotonic() + START_TIMEOUT_S)
        except (WorkerDied, WorkerTimeout) as exc:
            err = self._stderr_tail()
            self.close()
            raise SandboxError(f"the verification harness did not start: {err or exc}") from exc
        if ready.get("kind") != "ready":
            self.close()
            raise SandboxError("the verification harness did not start: unexpected first frame")

    def _stderr_tail(self) -> str:
        assert self.proc.stderr is not None
        with contextlib.suppress(OSError, ValueError):
            os.set_blocking(self.proc.stderr.fileno(), False)
            data = self.proc.stderr.read(65536) or b""
            lines = data.decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else ""
        return ""

    def _read_frame(self, deadline: float) -> dict[str, Any]:
        while True:
            if len(self._buf) >= 4:
                (size,) = struct.unpack(">I", self._buf[:4])
                if size > harness.MAX_FRAME:
                    raise WorkerDied(f"frame of {size} bytes")
                if len(self._buf) >= 4 + size:
                    body, self._buf = self._buf[4 : 4 + size], self._buf[4 + size :]
                    try:
                        msg = json.loads(body)
                    except ValueError as exc:
                        raise WorkerDied("unreadable frame") from exc
                    if not isinstance(msg, dict):
                        raise WorkerDied("unreadable frame")
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerTimeout
            ready, _, _ = select.select([self._out], [], [], left)
            if not ready:
                raise WorkerTimeout
            chunk = os.read(self._out, 1 << 20)
            if not chunk:
                raise WorkerDied("the harness closed its result pipe")
            self._buf += chunk

    def run(self, job: UnitTestJob, limits: Limits | None = None) -> Verdict:
        """Run one job; never raises for anything the sample does."""
        limits = limits or self.limits
        started = time.monotonic()
        self._seq += 1
        nonce = secrets.token_hex(harness.NONCE_LEN // 2)
        secret = harness.frame({"prompt": job.prompt, "test": job.test}) + nonce.encode()
        if len(secret) > harness.MAX_SECRET:
            return _verdict(Outcome.ERROR, started, f"test code over {harness.MAX_SECRET} bytes")
        program = (job.prompt + job.completion + "\n").encode("utf-8", "surrogatepass")
        if len(program) > harness.MAX_PROGRAM:
            return _verdict(Outcome.FAIL, started, f"program over {harness.MAX_PROGRAM} bytes")
        header = harness.frame(
            {
                "seq": self._seq,
                "program_len": len(program),
                "entry_point": job.entry_point,
                "timeout_s": job.timeout_s,
                "secret_len": len(secret),
                "limits": {
                    "cpu_s": min(limits.cpu_s, math.ceil(job.timeout_s) + 1),
                    "memory_mb": job.memory_mb or limits.memory_mb,
                    "file_size_mb": limits.file_size_mb,
                    "open_files": limits.open_files,
                    "processes": limits.processes,
                },
            }
        )
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(header + program + secret)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.close()
            return _verdict(Outcome.SANDBOX_VIOLATION, started, "the harness was gone before the job")
        deadline = started + job.timeout_s + GRACE_S
        result: dict[str, Any] | None = None
        forged = clean = False
        try:
            while True:
                msg = self._read_frame(deadline)
                kind = msg.get("kind")
                if kind == "result":
                    if msg.get("nonce") == nonce and result is None:
                        result = msg
                    else:
                        forged = True
                elif kind == "done" and msg.get("seq") == self._seq:
                    status = int(msg.get("tester_status", 0))
                    clean = msg.get("clean") is True
                    break
                else:
                    forged = True
        except WorkerTimeout:
            self.close()
            return _verdict(Outcome.TIMEOUT, started, f"no result within {job.timeout_s} s; sandbox killed")
        except WorkerDied:
            self.close()
            return _verdict(Outcome.SANDBOX_VIOLATION, started, "the sandbox's harness process was killed")
        if forged or self._buf or not clean:
            # someone else wrote on the result pipe, or the harness could not prove that this job
            # left nothing behind: do not give this worker another job
            self.close()
        if forged:
            return _verdict(Outcome.SANDBOX_VIOLATION, started, "a frame without this job's nonce was seen")
        if result is None:
            how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"status {status >> 8}"
            return _verdict(
                Outcome.SANDBOX_VIOLATION, started, f"the test process ended ({how}) without a result"
            )
        outcome = Outcome(str(result.get("outcome", "error")))
        detail = str(result.get("detail", ""))
        output = "".join(c if c.isprintable() else " " for c in str(result.get("output", ""))).strip()
        if output and outcome is not Outcome.PASS:
            detail += f" | output: {output[:160]}"
        return _verdict(outcome, started, detail)

    def close(self) -> None:
        """Kill the sandbox (process group, pid namespace, cgroup) and reap it."""
        if not self.alive:
            return
        self.alive = False
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        if self.cgroup is not None:
            self.cgroup.remove()


class _Spawner:
    """Starts long-lived sandboxes from one thread that lives as long as the process.

    bubblewrap's ``--die-with-parent`` is ``PR_SET_PDEATHSIG``, which fires when the *thread*
    that forked it exits: a worker started from a short-lived pool thread would be killed with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.Queue[tuple[Callable[[], Any], queue.Queue[tuple[bool, Any]]]] = queue.Queue()
        self._thread: threading.Thread | None = None

    def _serve(self) -> None:
        while True:
            fn, reply = self._requests.get()
            try:
                reply.put((True, fn()))
            except BaseException as exc:
                reply.put((False, exc))

    def call(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="budget-spawner", daemon=True)
                self._thread.start()
        reply: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
        self._requests.put((fn, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        result: T = value
        return result


_spawner = _Spawner()


def _verdict(outcome: Outcome, started: float, detail: str) -> Verdict:
    return Verdict(
        passed=outcome is Outcome.PASS,
        outcome=outcome,
        duration_s=max(0.0, time.monotonic() - started),
        detail=detail[:500],
    )


class WorkerPool:
    """``size`` workers shared by any number of threads; dead workers are replaced on demand."""

    def __init__(
        self,
        sandbox: Sandbox,
        size: int | None = None,
        limits: Limits = DEFAULT_LIMITS,
        warm: bool = True,
        label: str = "",
    ) -> None:
        self.sandbox = sandbox
        self.label = label
        self.size = size or default_size()
        self.limits = limits
        self.warm = warm
        self._slots: queue.LifoQueue[Worker | None] = queue.LifoQueue()
        for _ in range(self.size):
            self._slots.put(None)
        self._closed = False

    def run(self, job: UnitTestJob) -> Verdict:
        """Run one job on a warm worker (a new one if the last died); its verdict."""
        slot = self._slots.get()
        try:
            if slot is None or not slot.alive:
                slot = Worker(self.sandbox, self.limits, self.label, preload=self.warm)
            verdict = slot.run(job)
            if not self.warm or self._closed:
                slot.close()
                slot = None
            return verdict
        except BaseException:
            if slot is not None:
                slot.close()
            slot = None
            raise
        finally:
            self._slots.put(slot if slot is not None and slot.alive else None)

    def close(self) -> None:
        """Stop every worker; later jobs are refused."""
        self._closed = True
        drained: list[Worker | None] = []
        while True:
            try:
                drained.append(self._slots.get_nowait())
            except queue.Empty:
                break
        for w in drained:
            if w is not None:
                w.close()
            self._slots.put(None)


def default_size() -> int:
    """Two workers per CPU this process may use.

    A job is a relay between four processes (the calling thread, the harness, the tester, the
    sample) that mostly wait on each other's pipes, so one job per CPU leaves CPUs idle; with two
    the measured throughput on 2 CPUs rose by about 20% (BENCHMARKS.md, Verification).
    """
    return 2 * max(1, len(os.sched_getaffinity(0)))


_pools: dict[bool, WorkerPool] = {}
_pools_lock = threading.Lock()


def shared_pool(*, unsafe_no_sandbox: bool = False) -> WorkerPool:
    """The process-wide pool (sandboxed, or unisolated only where asked and none works)."""
    sandbox = get_sandbox(unsafe_no_sandbox=unsafe_no_sandbox)
    with _pools_lock:
        pool = _pools.get(sandbox.isolated)
        if pool is None:
            pool = _pools[sandbox.isolated] = WorkerPool(sandbox)
        return pool


@atexit.register
def _close_pools() -> None:
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


def run_python_tests(job: UnitTestJob, *, unsafe_no_sandbox: bool = False) -> Verdict:
    """Check one sample with the shared pool.  Raises only :class:`SandboxError` (no sandbox)."""
    return shared_pool(unsafe_no_sandbox=unsafe_no_sandbox).run(job)
