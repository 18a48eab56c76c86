"""The proof-of-completion harness: runs *inside* the sandbox, standard library only.

Started once per worker as ``python -I -S -c <this file> [--pidns]`` (a warm "zygote": Python
and the usual modules are imported once), it serves jobs from the host (:mod:`budget.verify.pool`)
over two pipes.  Three processes per job, so that the sample never shares a process with the
code that judges it:

* **zygote** (long-lived): reads job header A (the *sample* program: prompt + completion, the
  entry point, limits) from stdin; moves the job's secret part (test code and a 32-byte random
  nonce) from stdin into a private pipe with ``splice`` (the bytes never enter a Python
  process that the sample is forked from); forks the tester; afterwards kills every process
  left (``kill(-1)`` in its own pid namespace, plus a walk of its descendants; it is a child
  subreaper, so orphans come back to it), wipes ``/tmp``, ``/sandbox`` and ``/dev/shm``, and
  writes a ``done`` frame.
* **tester** (per job, trusted code only): forks the sample process, and only then reads the
  test code and the nonce from the private pipe.  It executes the problem's prompt (its helper
  functions and the docstring-only stub) and the test code in its own namespace and calls
  ``check(candidate)`` where ``candidate`` is a proxy: each call is sent to the sample process
  and the return value comes back as plain data (``None``, ``bool``, ``int``, ``float``, ``str``,
  ``bytes``, ``complex``, lists, tuples, dicts, sets; exact types only).  When ``check``
  returns normally the tester writes ``result`` with the nonce on the result pipe.  It ignores
  catchable signals and is not dumpable (no ptrace, no ``/proc/<pid>/mem`` or ``fd`` by the
  sample, which runs with the same uid and no capabilities).
* **sample** (per job): closes every descriptor except its request/reply pipes (the result pipe
  and the secret pipe are gone before any sample code runs), starts a new session, sets fresh
  rlimits, executes prompt + completion and then answers calls.

Why a sample cannot pass without the tests passing: the only accepted proof is a frame carrying
the nonce, written on a pipe the sample process never holds, by a process it cannot debug or
inject into, after ``check`` (taken from the test code in that process, not from the sample)
returned.  Exiting early, ``os._exit(0)``, redefining ``check`` or ``AssertionError``, printing
the harness's frames, signals, killing its parent: all end without that frame.  Returned
objects with a forged ``__eq__`` are not plain data and are rejected.

Frames on both pipes: 4-byte big-endian length + UTF-8 JSON.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
from typing import Any, NoReturn

MAX_FRAME = 16 * 1024 * 1024
MAX_SECRET = 1024 * 1024
NONCE_LEN = 32
OUTPUT_KEEP = 2048
BIG_INT = 10**1000
MAX_INT_HEX = 1 << 20
PRELOAD = (
    "typing",
    "math",
    "re",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "string",
    "random",
    "hashlib",
    "statistics",
    "fractions",
    "decimal",
    "copy",
    "operator",
    "datetime",
    "array",
    "dataclasses",
    "enum",
)
_IGNORED = (
    "SIGINT",
    "SIGTERM",
    "SIGHUP",
    "SIGQUIT",
    "SIGUSR1",
    "SIGUSR2",
    "SIGALRM",
    "SIGPIPE",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
)
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


# --------------------------------------------------------------------------- frames


def read_exact(fd: int, n: int) -> bytes:
    """Exactly ``n`` bytes from ``fd``; ``EOFError`` when it closes first."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def frame(obj: Any) -> bytes:
    body = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body


def read_frame(fd: int) -> Any:
    (size,) = struct.unpack(">I", read_exact(fd, 4))
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    return json.loads(read_exact(fd, size))


# --------------------------------------------------------------------------- plain data


def encode(x: Any, depth: int = 0) -> Any:
    """``x`` as JSON, for exact built-in types only (subclasses could forge ``__eq__``)."""
    if depth > 100:
        raise TypeError("value nested too deeply")
    t = type(x)
    if t is int and not -BIG_INT < x < BIG_INT:
        return {"i": hex(x)}  # JSON text of over 4300 digits is refused by int()
    if x is None or t is bool or t is str or t is int:
        return x
    if t is float:
        return {"f": x.hex()}
    if t is list:
        return [encode(v, depth + 1) for v in x]
    if t is tuple:
        return {"t": [encode(v, depth + 1) for v in x]}
    if t is dict:
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in x.items()]}
    if t is set:
        return {"s": [encode(v, depth + 1) for v in x]}
    if t is frozenset:
        return {"fs": [encode(v, depth + 1) for v in x]}
    if t is bytes:
        return {"b": x.hex()}
    if t is complex:
        return {"c": [x.real.hex(), x.imag.hex()]}
    raise TypeError(f"unsupported type {t.__name__}")


def decode(x: Any, depth: int = 0) -> Any:
    """The inverse of :func:`encode`; ``ValueError`` for anything else."""
    if depth > 100:
        raise ValueError("value nested too deeply")
    t = type(x)
    if x is None or t is bool or t is str or t is int:
        return x
    if t is list:
        return [decode(v, depth + 1) for v in x]
    if t is dict and len(x) == 1:
        ((tag, v),) = x.items()
        if tag == "f" and type(v) is str:
            return float.fromhex(v)
        if tag == "b" and type(v) is str:
            return bytes.fromhex(v)
        if tag == "i" and type(v) is str and len(v) <= MAX_INT_HEX:
            return int(v, 16)
        if type(v) is list:
            if tag == "d":
                out = {}
                for pair in v:
                    if type(pair) is not list or len(pair) != 2:
                        raise ValueError("bad dict item")
                    out[decode(pair[0], depth + 1)] = decode(pair[1], depth + 1)
                return out
            if tag == "c" and len(v) == 2 and all(type(p) is str for p in v):
                return complex(float.fromhex(v[0]), float.fromhex(v[1]))
            items = [decode(i, depth + 1) for i in v]
            if tag == "t":
                return tuple(items)
            if tag == "s":
                return set(items)
            if tag == "fs":
                return frozenset(items)
    raise ValueError(f"not plain data: {str(x)[:60]}")


# --------------------------------------------------------------------------- process helpers


def _prctl(option: int, value: int) -> int:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    result: int = libc.prctl(option, value, 0, 0, 0)
    return result


def _ignore_signals() -> None:
    for name in _IGNORED:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def _default_signals() -> None:
    for name in _IGNORED:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def _children_of(root: int) -> list[int]:
    """Every descendant of ``root``, read from /proc."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parent[int(entry)] = int(fields[1])
    found: list[int] = []
    frontier = [root]
    while frontier:
        p = frontier.pop()
        kids = [pid for pid, pp in parent.items() if pp == p]
        found += kids
        frontier += kids
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def sweep(pidns: bool) -> None:
    """Kill every process this one started (directly or not) and reap them."""
    me = os.getpid()
    for _ in range(500):
        if pidns and me <= 3:
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)
        left = _children_of(me)
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _reap()
        if not left:
            return
        time.sleep(0.001)


def _wipe(paths: list[str]) -> None:
    """Empty the writable directories (a sample's ``chmod 000`` on a folder is undone first)."""
    for top in paths:
        with contextlib.suppress(OSError):
            for root, dirs, _ in os.walk(top):
                for d in dirs:
                    with contextlib.suppress(OSError):
                        os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
        with contextlib.suppress(OSError):
            for entry in os.listdir(top):
                path = os.path.join(top, entry)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(path)


# --------------------------------------------------------------------------- sample process


def _sample(job: dict[str, Any], req: int, rep: int, out: int, workdir: str) -> NoReturn:
    """The untrusted side: run the program, then answer calls.  Never returns."""
    try:
        import fcntl

        os.setsid()
        devnull = os.open("/dev/null", os.O_RDWR)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (devnull, out, req, rep)]
        for target, fd in zip((0, 1, 3, 4), high, strict=True):
            os.dup2(fd, target)
        os.dup2(1, 2)
        os.closerange(5, 1 << 16)
        _default_signals()
        lim = job["limits"]
        for name, value in (
            ("RLIMIT_CPU", lim["cpu_s"]),
            ("RLIMIT_AS", lim["memory_mb"] * 1024 * 1024),
            ("RLIMIT_FSIZE", lim["file_size_mb"] * 1024 * 1024),
            ("RLIMIT_NOFILE", lim["open_files"]),
            ("RLIMIT_NPROC", lim["processes"]),
            ("RLIMIT_CORE", 0),
        ):
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(getattr(resource, name), (value, value))
        os.chdir(workdir)
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            write_all(4, frame({"init": False, "error": f"sandbox setup: {_describe(exc)}"}))
        os._exit(70)
    namespace: dict[str, Any] = {"__name__": "__sample__", "__builtins__": builtins}
    try:
        exec(compile(job["program"], "<sample>", "exec"), namespace)
        fn = namespace[job["entry_point"]]
        if not callable(fn):
            raise TypeError(f"{job['entry_point']} is not callable")
        write_all(4, frame({"init": True}))
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            write_all(4, frame({"init": False, "error": _describe(exc)}))
        os._exit(1)
    while True:
        try:
            call = read_frame(3)
        except BaseException:
            os._exit(0)
        try:
            args = decode(call["args"])
            kwargs = decode(call["kwargs"])
            value = fn(*args, **kwargs)
        except BaseException as exc:
            reply: dict[str, Any] = {"exc": type(exc).__name__, "msg": _describe(exc)}
        else:
            try:
                reply = {"ok": encode(value)}
            except (TypeError, ValueError, RecursionError) as exc:
                reply = {"bad": f"return value not plain data: {exc}"}
        try:
            write_all(4, frame(reply))
        except BaseException:
            os._exit(1)


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:
        text = ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


# --------------------------------------------------------------------------- tester process


class SampleDied(BaseException):
    """The sample process ended (or broke the protocol) before answering.

    This and the other harness signals derive from ``BaseException`` so that a test's
    ``except Exception`` does not swallow them; :class:`_Channel` also remembers the first one.
    """


class SampleTimeout(BaseException):
    """The job's time ran out while waiting for the sample."""


_REBUILT = {
    "ValueError": ValueError,
    "TypeError": TypeError,
    "IndexError": IndexError,
    "KeyError": KeyError,
    "ZeroDivisionError": ZeroDivisionError,
    "AttributeError": AttributeError,
    "RecursionError": RecursionError,
    "OverflowError": OverflowError,
    "ArithmeticError": ArithmeticError,
    "StopIteration": RuntimeError,
    "AssertionError": AssertionError,
    "NotImplementedError": NotImplementedError,
}


class _Channel:
    """The tester's end of the sample's pipes, with the job deadline and output draining."""

    def __init__(self, req: int, rep: int, out: int, deadline: float) -> None:
        self.req, self.rep, self.out, self.deadline = req, rep, out, deadline
        self.buf = bytearray()
        self.output = bytearray()
        self.out_open = True
        self.failure: BaseException | None = None

    def _fill(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SampleTimeout
        fds = [self.rep] + ([self.out] if self.out_open else [])
        ready, _, _ = select.select(fds, [], [], left)
        if not ready:
            raise SampleTimeout
        if self.out in ready:
            chunk = os.read(self.out, 65536)
            if not chunk:
                self.out_open = False
            elif len(self.output) < OUTPUT_KEEP:
                self.output += chunk[: OUTPUT_KEEP - len(self.output)]
        if self.rep in ready:
            chunk = os.read(self.rep, 1 << 20)
            if not chunk:
                raise SampleDied("the sample process ended")
            self.buf += chunk

    def receive(self) -> Any:
        while len(self.buf) < 4:
            self._fill()
        (size,) = struct.unpack(">I", self.buf[:4])
        if size > MAX_FRAME:
            raise SampleDied(f"the sample sent a frame of {size} bytes")
        while len(self.buf) < 4 + size:
            self._fill()
        body = bytes(self.buf[4 : 4 + size])
        del self.buf[: 4 + size]
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise SampleDied("the sample broke the protocol") from exc

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.failure is not None:
            raise self.failure
        try:
            return self._call(args, kwargs)
        except (SampleDied, SampleTimeout, BadReturn, HarnessError) as exc:
            self.failure = exc
            raise

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            message = frame({"args": encode(list(args)), "kwargs": encode(kwargs)})
        except TypeError as exc:
            raise HarnessError(f"cannot pass the test's argument to the sample: {exc}") from exc
        try:
            write_all(self.req, message)
        except OSError as exc:
            raise SampleDied("the sample process ended") from exc
        reply = self.receive()
        if type(reply) is not dict:
            raise SampleDied("the sample broke the protocol")
        if "ok" in reply:
            try:
                return decode(reply["ok"])
            except (ValueError, TypeError, RecursionError, OverflowError) as exc:
                raise SampleDied("the sample broke the protocol") from exc
        if "bad" in reply:
            raise BadReturn(str(reply["bad"])[:300])
        name = str(reply.get("exc", "Exception"))
        raise _REBUILT.get(name, RuntimeError)(str(reply.get("msg", name))[:300])


class HarnessError(BaseException):
    """The test itself cannot run (not the sample's fault)."""


class BadReturn(BaseException):
    """The sample returned something that is not plain data."""


def _tester(job: dict[str, Any], secret_fd: int, result_fd: int, workdir: str) -> NoReturn:
    try:
        _run_tester(job, secret_fd, result_fd, workdir)
    finally:
        os._exit(0)


def _run_tester(job: dict[str, Any], secret_fd: int, result_fd: int, workdir: str) -> None:
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    out_r, out_w = os.pipe()
    sample_pid = os.fork()
    if sample_pid == 0:
        os.close(secret_fd)
        os.close(result_fd)
        _sample(job, req_r, rep_w, out_w, workdir)
    for fd in (req_r, rep_w, out_w):
        os.close(fd)
    started = time.monotonic()
    outcome, detail = "error", ""
    secret = read_frame(secret_fd)
    nonce = read_exact(secret_fd, NONCE_LEN).decode()
    os.close(secret_fd)
    chan = _Channel(req_w, rep_r, out_r, started + float(job["timeout_s"]))
    try:
        tests: dict[str, Any] = {"__name__": "__tests__", "__builtins__": builtins}
        try:
            exec(_prompt_code(secret["prompt"]), tests)
            exec(compile(secret["test"], "<test>", "exec"), tests)
            check = tests[secret.get("check", "check")]
        except BaseException as exc:
            raise HarnessError(f"the tests do not load: {_describe(exc)}") from exc
        init = chan.receive()
        if type(init) is not dict or init.get("init") is not True:
            error = init.get("error", "") if type(init) is dict else ""
            outcome, detail = "fail", f"the program does not load: {error}"[:300]
        else:

            def candidate(*args: Any, **kwargs: Any) -> Any:
                return chan.call(args, kwargs)

            candidate.__name__ = str(job["entry_point"])
            tests[candidate.__name__] = candidate  # tests may call the function by its name, too
            try:
                check(candidate)
            except SampleTimeout:
                raise
            except (SampleDied, HarnessError, BadReturn):
                raise
            except AssertionError as exc:
                outcome, detail = "fail", _failed_line(exc)
            except BaseException as exc:
                outcome, detail = "fail", f"test raised {_describe(exc)}"
            else:
                if chan.failure is not None:  # the test swallowed it; it still counts
                    raise chan.failure
                outcome, detail = "pass", "all tests passed"
    except SampleTimeout:
        outcome, detail = "timeout", f"no answer within {job['timeout_s']} s"
    except BadReturn as exc:
        outcome, detail = "fail", str(exc)
    except SampleDied as exc:
        outcome, detail = _death(sample_pid, str(exc), job)
    except HarnessError as exc:
        outcome, detail = "error", str(exc)
    except BaseException as exc:
        outcome, detail = "error", f"harness: {_describe(exc)}"
    with contextlib.suppress(OSError):
        os.killpg(sample_pid, signal.SIGKILL)
    output = bytes(chan.output).decode("utf-8", "replace")
    write_all(
        result_fd,
        frame({"kind": "result", "nonce": nonce, "outcome": outcome, "detail": detail, "output": output}),
    )
    with contextlib.suppress(ChildProcessError):
        os.waitpid(sample_pid, 0)  # reaped here, the harness's sweep usually finds nothing left


def _prompt_code(prompt: str) -> Any:
    """The prompt's helpers for the tests; a bare signature gets a ``pass`` body to compile."""
    for text in (prompt, prompt.rstrip() + "\n    pass\n"):
        try:
            return compile(text, "<prompt>", "exec")
        except SyntaxError:
            continue
    return compile("", "<prompt>", "exec")


def _death(pid: int, what: str, job: dict[str, Any]) -> tuple[str, str]:
    """Why the sample process went away: a CPU-limit kill is a timeout, anything else an error."""
    status = None
    for _ in range(200):
        with contextlib.suppress(ChildProcessError):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
        time.sleep(0.001)
    if status is None or not (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
        return "error", what
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "timeout", f"CPU limit of {job['limits']['cpu_s']} s reached"
        return "error", f"{what} (killed by signal {signal.Signals(sig).name})"
    return "error", f"{what} (exit status {os.WEXITSTATUS(status)}) before the tests finished"


def _failed_line(exc: AssertionError) -> str:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<test>":
            line = tb.tb_lineno
        tb = tb.tb_next
    message = str(exc)[:200]
    where = f" at test line {line}" if line else ""
    return f"assertion failed{where}" + (f": {message}" if message else "")


# --------------------------------------------------------------------------- zygote


def zygote(pidns: bool, preload: bool = True) -> None:
    """Serve jobs until stdin closes (see the module docstring)."""
    result_fd = os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 1)
    for name in PRELOAD if preload else ():
        with contextlib.suppress(ImportError):
            __import__(name)
    # Not dumpable: no ptrace, no /proc/<pid>/mem or /proc/<pid>/fd for same-uid processes.  The
    # nonce's secrecy and the result pipe depend on it, so a failure here stops the harness.
    _prctl(PR_SET_DUMPABLE, 0)
    if _prctl(PR_GET_DUMPABLE, 0) != 0:
        raise SystemExit("budget harness: cannot make itself non-dumpable")
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _ignore_signals()
    import gc

    gc.freeze()  # the preloaded modules' objects: children never scan (and so never copy) them
    scratch = [tempfile.gettempdir(), os.getcwd(), "/dev/shm"] if pidns else []
    write_all(result_fd, frame({"kind": "ready", "pid": os.getpid(), "pidns": pidns}))
    os.dup2(devnull, 2)
    while True:
        try:
            job = read_frame(0)
        except EOFError:
            return
        secret_len = int(job["secret_len"])
        if not 0 < secret_len <= MAX_SECRET:
            return
        secret_r, secret_w = os.pipe()
        with contextlib.suppress(OSError):
            import fcntl

            fcntl.fcntl(secret_w, 1031, MAX_SECRET)  # F_SETPIPE_SZ
        moved = 0
        while moved < secret_len:
            n = os.splice(0, secret_w, secret_len - moved)
            if n == 0:
                return
            moved += n
        os.close(secret_w)
        workdir = tempfile.mkdtemp(prefix="job-")
        pid = os.fork()
        if pid == 0:
            os.close(0)
            _tester(job, secret_r, result_fd, workdir)
        os.close(secret_r)
        status = 0
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(pid, 0)
        sweep(pidns)
        shutil.rmtree(workdir, ignore_errors=True)
        _wipe(scratch)
        write_all(result_fd, frame({"kind": "done", "seq": job["seq"], "tester_status": status}))


if __name__ == "__main__":
    zygote("--pidns" in sys.argv[1:], preload="--no-preload" not in sys.argv[1:])
