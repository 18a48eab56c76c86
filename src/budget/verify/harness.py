"""The proof-of-completion harness: runs *inside* the sandbox, standard library only.

Started once per worker as ``python -I -S -c <this file> [--pidns]`` (a warm "zygote": Python
and the usual modules are imported once), it serves jobs from the host (:mod:`budget.verify.pool`)
over two pipes.  Three processes per job, so that the sample never shares a process with the
code that judges it:

* **zygote** (long-lived): reads a job's header (sizes, the entry point, limits) from stdin,
  forks the tester, and moves the job's two bodies from stdin into private pipes with
  ``splice``: the *program* (prompt + completion), read only by the sample process, and the
  *secret* (test code and a 32-byte random nonce), read only by the tester.  Neither body ever
  enters the zygote's memory, so no sample (a fork of it) can find an earlier sample's program
  there.  Afterwards it kills every process left (``kill(-1)`` in its own pid namespace, plus a
  walk of its descendants; it is a child subreaper, so orphans come back to it) and resets what
  a job could leave for the next one: the modes of ``/tmp``, ``/sandbox``, ``/dev/shm`` and
  ``/dev/mqueue`` (a sample may ``chmod`` them to 0) and their contents (files, POSIX message
  queues, POSIX shared memory and semaphores), and every System V shared memory segment,
  message queue and semaphore set of the sandbox's IPC namespace.  It then checks that all of
  that is empty, and that its own resource limits, nice value, scheduling and CPU affinity are
  as they were at start (another process of its uid may lower them; the seccomp filter forbids
  it inside the sandbox), and writes a ``done`` frame saying whether it is (``clean``); a worker
  that cannot prove it is clean is replaced before its next job.
* **tester** (per job, trusted code only): forks the sample process, and only then reads the
  test code and the nonce from the private pipe.  It executes the problem's prompt (its helper
  functions and the docstring-only stub) and the test code in its own namespace and calls
  ``check(candidate)`` where ``candidate`` is a proxy: each call is sent to the sample process
  and the return value comes back as plain data (``None``, ``bool``, ``int``, ``float``, ``str``,
  ``bytes``, ``complex``, lists, tuples, dicts, sets; exact types only).  When ``check``
  returns normally the tester writes ``result`` with the nonce on the result pipe.  It ignores
  catchable signals and is not dumpable (no ptrace, no ``/proc/<pid>/mem`` or ``fd`` by the
  sample, which runs with the same uid and no capabilities).
* **sample** (per job): reads its program from its pipe, closes every descriptor except its
  request/reply pipes (the result pipe and the secret pipe are gone before any sample code
  runs), starts a new session, sets fresh rlimits, executes prompt + completion and then
  answers calls.

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
MAX_PROGRAM = 16 * 1024 * 1024
# the writable places of the sandbox besides /tmp and the working directory (bubblewrap's
# --tmpfs /dev/shm and --mqueue /dev/mqueue); the zygote resets and empties them after each job
SHARED_DIRS = ("/dev/shm", "/dev/mqueue")
SYSV_IPC = (("shm", "shmctl"), ("msg", "msgctl"), ("sem", "semctl"))
IPC_RMID = 0
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
    """Write all of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def frame(obj: Any) -> bytes:
    """``obj`` as a frame: its compact JSON behind a 4-byte big-endian length."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body


def read_frame(fd: int) -> Any:
    """Read one frame from ``fd`` (refusing one over :data:`MAX_FRAME`)."""
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


def _wipe(dirs: dict[str, int]) -> None:
    """Restore each directory's mode (a sample may ``chmod`` it, or a folder in it, to 0), then
    empty it.
    """
    for top, mode in dirs.items():
        with contextlib.suppress(OSError):
            os.chmod(top, mode)
        with contextlib.suppress(OSError):
            for root, subdirs, _ in os.walk(top):
                for d in subdirs:
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


def _sysv_objects() -> list[tuple[str, int]]:
    """Every System V IPC object of this IPC namespace: (kind, id), from ``/proc/sysvipc``."""
    found = []
    for kind, _ in SYSV_IPC:
        try:
            with open(f"/proc/sysvipc/{kind}", "rb") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        found += [(kind, int(row.split()[1])) for row in rows if row.strip()]
    return found


def _remove_sysv_ipc() -> None:
    """Remove every System V shared memory segment, message queue and semaphore set (the zygote
    has the uid of whoever created them, so ``IPC_RMID`` is allowed).
    """
    objects = _sysv_objects()
    if not objects:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    calls = dict(SYSV_IPC)
    for kind, ident in objects:
        if kind == "sem":
            libc.semctl(ident, 0, IPC_RMID)
        else:
            getattr(libc, calls[kind])(ident, IPC_RMID, None)


def process_settings() -> tuple[Any, ...]:
    """What another process of the same uid could change in this one without ptrace access:
    its resource limits, nice value, scheduling policy and priority, CPU affinity, and (through
    ``/proc/<pid>``) its OOM score adjustment and its session's autogroup nice value.

    Inside the sandbox the seccomp filter and a read-only ``/proc`` stop a sample from changing
    them in another process; the zygote still compares them after every job, so a worker whose
    settings a job changed (on a machine without the filter) is replaced instead of handing
    lowered limits or priority to the next job.
    """
    limits = []
    for name in sorted(n for n in dir(resource) if n.startswith("RLIMIT_")):
        with contextlib.suppress(ValueError, OSError):
            limits.append((name, resource.getrlimit(getattr(resource, name))))
    proc = []
    for name in ("oom_score_adj", "autogroup"):  # writable by the same uid through /proc/<pid>
        try:
            with open(f"/proc/self/{name}", "rb") as fh:
                proc.append(fh.read().split(b"nice")[-1].strip())  # "/autogroup-N nice K": K
        except OSError:
            proc.append(b"")
    return (
        tuple(limits),
        os.getpriority(os.PRIO_PROCESS, 0),
        os.sched_getscheduler(0),
        os.sched_getparam(0).sched_priority,
        tuple(sorted(os.sched_getaffinity(0))),
        tuple(proc),
    )


def reset(dirs: dict[str, int], settings: tuple[Any, ...] | None = None) -> bool:
    """Undo what a job may have left for the next one; ``True`` when all of it is provably gone:
    each directory has its mode back and is empty, no System V IPC object is left, and this
    process's limits and scheduling are still ``settings`` (see :func:`process_settings`).
    """
    _remove_sysv_ipc()
    _wipe(dirs)
    try:
        for top, mode in dirs.items():
            if os.stat(top).st_mode & 0o7777 != mode or os.listdir(top):
                return False
        if settings is not None and process_settings() != settings:
            return False
    except OSError:
        return False
    return not _sysv_objects()


# --------------------------------------------------------------------------- sample process


def _sample(job: dict[str, Any], program_fd: int, req: int, rep: int, out: int, workdir: str) -> NoReturn:
    """The untrusted side: run the program, then answer calls.  Never returns."""
    try:
        import fcntl

        program = read_exact(program_fd, int(job["program_len"])).decode("utf-8", "surrogatepass")
        os.close(program_fd)
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
    # entry-point mode: every call goes to job["entry_point"]; module mode (no entry point, the
    # pytest_file runner): a call names its function, and {"get": name} asks what a name is
    entry = job.get("entry_point")
    namespace: dict[str, Any] = {"__name__": str(job.get("module", "__sample__")), "__builtins__": builtins}
    try:
        exec(compile(program, "<sample>", "exec"), namespace)
        fn = namespace[entry] if entry is not None else None
        if entry is not None and not callable(fn):
            raise TypeError(f"{entry} is not callable")
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
        args: Any = None
        try:
            if entry is None and "get" in call:
                value = namespace[str(call["get"])]
                if callable(value):
                    write_all(4, frame({"callable": True}))
                    continue
            else:
                args = decode(call["args"])
                kwargs = decode(call["kwargs"])
                func: Any = fn if entry is not None else namespace[str(call["name"])]
                value = func(*args, **kwargs)
        except BaseException as exc:
            reply: dict[str, Any] = {"exc": type(exc).__name__, "msg": _describe(exc)}
            reply["bases"] = _builtin_bases(exc)
            with contextlib.suppress(BaseException):
                reply["exc_args"] = encode(list(exc.args))  # so that str(exc) reads as in one process
        else:
            try:
                reply = {"ok": encode(value)}
            except (TypeError, ValueError, RecursionError) as exc:
                reply = {"bad": f"return value not plain data: {exc}"}
        if args is not None and "bad" not in reply:
            # the arguments as the call left them: the tester changes its own copies the same way
            # (a sample that sorts its list in place, or one that must not change it)
            try:
                after = [encode(args), encode(kwargs)]
                if after != [call["args"], call["kwargs"]]:
                    reply["args"] = after
            except (TypeError, ValueError, RecursionError) as exc:
                reply = {"bad": f"an argument was changed into something that is not plain data: {exc}"}
        try:
            write_all(4, frame(reply))
        except BaseException:
            os._exit(1)


def _builtin_bases(exc: BaseException) -> list[str]:
    """The names of the built-in exception classes ``exc`` is an instance of, most specific first
    (the tester raises the first it can: a sample's own ``class E(ValueError)`` is a ValueError).
    """
    try:
        return [c.__name__ for c in type(exc).__mro__ if getattr(builtins, c.__name__, None) is c][:20]
    except BaseException:
        return []


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


# Exceptions that end a loop when they come out of a call: a sample raising one inside the test's
# ``map``/generator would end the test's iteration early instead of failing it, so they arrive as
# RuntimeError (what PEP 479 makes of them in a generator).
_LOOP_ENDERS = ("StopIteration", "StopAsyncIteration")


def rebuilt(reply: dict[str, Any]) -> BaseException:
    """The exception the sample raised, as the tester raises it.

    The most specific built-in exception class of the sample's (its ``bases``, looked up in this
    process's ``builtins``, so only real exception types come out) that can be made from a message:
    a test's ``except RuntimeError`` catches what would be a RuntimeError in one process, and
    nothing else.  A sample's exception that is not an ``Exception`` (``SystemExit``,
    ``KeyboardInterrupt``, ``GeneratorExit``, a ``BaseException`` of its own) would end the test
    in one process: it is :class:`BadReturn`, which no ``except Exception`` in a test catches and
    which fails the sample even when a bare ``except`` does.
    """
    message = str(reply.get("msg", reply.get("exc", "")))[:300]
    names = reply.get("bases")
    if type(names) is not list:
        names = [reply.get("exc")]
    for name in names[:20]:
        name = str(name)
        if name in _LOOP_ENDERS:
            return RuntimeError(message)
        cls = getattr(builtins, name, None)
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            continue
        if not issubclass(cls, Exception):
            return BadReturn(f"the sample raised {message}"[:300])
        with contextlib.suppress(Exception):  # the sample's own arguments when they are plain data
            if len(json.dumps(reply["exc_args"])) <= 4096:
                args = decode(reply["exc_args"])
                if type(args) is list:
                    return cls(*args)
        try:
            return cls(message)
        except Exception:  # UnicodeDecodeError and others want more than a message: try a base
            continue
    return Exception(message)


class _Channel:
    """The tester's end of the sample's pipes, with the job deadline and output draining."""

    def __init__(self, req: int, rep: int, out: int, deadline: float) -> None:
        self.req, self.rep, self.out, self.deadline = req, rep, out, deadline
        self.buf = bytearray()
        self.output = bytearray()
        self.out_open = True
        self.failure: BaseException | None = None
        self.write_back = True  # apply the sample's in-place changes of arguments to the test's
        self.changed = False  # whether the sample changed an argument in place

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
        except Exception as exc:  # MemoryError too: a reply is the sample's, never the test's error
            raise SampleDied(f"the sample broke the protocol ({type(exc).__name__})") from exc

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any], name: str | None = None) -> Any:
        """Call the sample's function (its entry point, or ``name`` in module mode).

        Arguments the sample changed in place (it reports them as the call left them) are changed
        the same way here, so a test sees what it would see in one process: a list sorted in
        place, or a list the sample must not have touched but did.
        """
        try:
            request = {"args": encode(list(args)), "kwargs": encode(kwargs)}
        except TypeError as exc:
            raise HarnessError(f"cannot pass the test's argument to the sample: {exc}") from exc
        if name is not None:
            request["name"] = name
        return self.request(request, (args, kwargs))

    def request(self, request: dict[str, Any], arguments: tuple[Any, ...] | None = None) -> Any:
        """One exchange with the sample; the first failure is remembered and raised again.

        Anything that goes wrong while the reply is read (a frame too big to parse in this
        process's memory, data that is not plain) is the sample's failure, never an ordinary
        exception that a test's ``except Exception`` could take for the sample's own.
        """
        if self.failure is not None:
            raise self.failure
        try:
            reply = self._exchange(frame(request))
            if "args" in reply and arguments is not None:
                self.changed = True
                if self.write_back:
                    write_back(request, reply["args"], *arguments)
            if "ok" in reply:
                return decode(reply["ok"])
        except (SampleDied, SampleTimeout, BadReturn, HarnessError) as exc:
            self.failure = exc
            raise
        except Exception as exc:
            self.failure = SampleDied(f"the sample's reply cannot be read: {_describe(exc)}")
            raise self.failure from None
        if reply.get("callable") is True:
            return CALLABLE
        failure = BadReturn(str(reply["bad"])[:300]) if "bad" in reply else rebuilt(reply)
        if isinstance(failure, BadReturn):
            self.failure = failure
        raise failure

    def _exchange(self, message: bytes) -> dict[str, Any]:
        try:
            write_all(self.req, message)
        except OSError as exc:
            raise SampleDied("the sample process ended") from exc
        reply = self.receive()
        if type(reply) is not dict:
            raise SampleDied("the sample broke the protocol")
        return reply


class HarnessError(BaseException):
    """The test itself cannot run (not the sample's fault)."""


CALLABLE = object()
"""What :meth:`_Channel.request` returns when a name in the sample's module is a function."""


class BadReturn(BaseException):
    """The sample returned something that is not plain data, changed an argument into something
    that is not, or raised an exception that is not an ``Exception`` (``SystemExit``...).
    """


def write_back(request: dict[str, Any], after: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Change the test's arguments in place as the sample reports it changed its copies.

    ``after`` is ``[args, kwargs]`` encoded as the call left them; only the arguments whose
    encoding differs from what was sent are touched (a list passed twice and changed through one
    name keeps that change), and only in ways a function can change its caller's objects: list,
    dict and set contents, at any depth, never an immutable value (``ValueError`` otherwise).
    """
    if type(after) is not list or len(after) != 2 or type(after[0]) is not list:
        raise ValueError("bad argument update")
    sent_kwargs = dict(request["kwargs"]["d"])
    kwargs_after = after[1].get("d") if type(after[1]) is dict else None
    if type(kwargs_after) is not list or not all(type(p) is list and len(p) == 2 for p in kwargs_after):
        raise ValueError("bad argument update")
    got_kwargs = {str(k): v for k, v in kwargs_after}
    if len(after[0]) != len(args) or not got_kwargs.keys() == sent_kwargs.keys() == kwargs.keys():
        raise ValueError("bad argument update")
    pairs = [(old, sent, got) for old, sent, got in zip(args, request["args"], after[0], strict=True)]
    pairs += [(kwargs[k], sent_kwargs[k], got_kwargs[k]) for k in kwargs]
    for old, sent, got in pairs:
        if got != sent and not _sync(old, decode(got)):
            raise ValueError("an argument that cannot change was reported changed")


def _syncable(old: Any, new: Any, depth: int = 0) -> bool:
    """Whether ``old`` can be changed in place into ``new``."""
    if depth > 100 or type(old) is not type(new):
        return False
    if type(old) in (list, dict, set):
        return True
    if type(old) is tuple:
        return len(old) == len(new) and all(_syncable(a, b, depth + 1) for a, b in zip(old, new, strict=True))
    return bool(old == new) or (old != old and new != new)  # NaN is "unchanged" too


def _sync(old: Any, new: Any, depth: int = 0) -> bool:
    """Change ``old`` in place into ``new``; ``False`` (nothing changed) where that is impossible."""
    if not _syncable(old, new, depth):
        return False
    if type(old) is list:
        if len(old) != len(new):
            old[:] = new
        else:
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                if not _sync(a, b, depth + 1):
                    old[i] = b
    elif type(old) is dict:
        if old.keys() != new.keys():
            old.clear()
            old.update(new)
        else:
            for key in list(old):
                if not _sync(old[key], new[key], depth + 1):
                    old[key] = new[key]
    elif type(old) is set:
        if old != new:
            old.clear()
            old.update(new)
    elif type(old) is tuple:
        for a, b in zip(old, new, strict=True):
            _sync(a, b, depth + 1)
    return True


def _tester(job: dict[str, Any], program_fd: int, secret_fd: int, result_fd: int, workdir: str) -> NoReturn:
    try:
        _run_tester(job, program_fd, secret_fd, result_fd, workdir)
    finally:
        os._exit(0)


def _run_tester(job: dict[str, Any], program_fd: int, secret_fd: int, result_fd: int, workdir: str) -> None:
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        sample_pid = os.fork()
    except OSError as exc:  # no process left (limits): still a verdict, not a silent exit
        sample_pid, fork_error = -1, exc
    if sample_pid == 0:
        os.close(secret_fd)
        os.close(result_fd)
        _sample(job, program_fd, req_r, rep_w, out_w, workdir)
    for fd in (req_r, rep_w, out_w, program_fd):
        os.close(fd)
    started = time.monotonic()
    outcome, detail = "error", ""
    secret = read_frame(secret_fd)
    nonce = read_exact(secret_fd, NONCE_LEN).decode()
    os.close(secret_fd)
    if sample_pid < 0:
        message = f"harness: cannot start the sample process: {_describe(fork_error)}"
        write_all(
            result_fd,
            frame({"kind": "result", "nonce": nonce, "outcome": "error", "detail": message, "output": ""}),
        )
        return
    chan = _Channel(req_w, rep_r, out_r, started + float(job["timeout_s"]))
    try:
        check = _load_tests(secret, job, chan)
        init = chan.receive()
        if type(init) is not dict or init.get("init") is not True:
            error = init.get("error", "") if type(init) is dict else ""
            outcome, detail = "fail", f"the program does not load: {error}"[:300]
        else:
            outcome, detail = _checked(check, chan)
            if outcome == "pass" and chan.changed:
                # The sample changed an argument in place.  The tests saw that (as in one
                # process), which also lets a sample pass a test that computes its expectation
                # from the argument after the call (`candidate(xs) == sorted(xs)` with xs
                # emptied).  So they must pass again, on fresh test state, without the changes.
                chan.write_back = False
                outcome, detail = _checked(_load_tests(secret, job, chan), chan)
                if outcome != "pass":
                    detail = f"the tests pass only with the sample's changes to its arguments; {detail}"
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


def _load_tests(secret: dict[str, Any], job: dict[str, Any], chan: _Channel) -> Any:
    """A fresh namespace with the prompt's helpers and the tests; its ``check``."""
    tests: dict[str, Any] = {"__name__": "__tests__", "__builtins__": builtins}
    try:
        exec(_prompt_code(secret["prompt"]), tests)
        exec(compile(secret["test"], "<test>", "exec"), tests)
        check = tests[secret.get("check", "check")]
    except BaseException as exc:
        raise HarnessError(f"the tests do not load: {_describe(exc)}") from exc

    def candidate(*args: Any, **kwargs: Any) -> Any:
        return chan.call(args, kwargs)

    candidate.__name__ = str(job["entry_point"])
    tests[candidate.__name__] = candidate  # tests may call the function by its name, too
    return lambda: check(candidate)


def _checked(check: Any, chan: _Channel) -> tuple[str, str]:
    """Run the loaded tests: ``pass``, or ``fail`` with the reason; harness signals propagate."""
    try:
        check()
    except SampleTimeout:
        raise
    except (SampleDied, HarnessError, BadReturn):
        raise
    except AssertionError as exc:
        return "fail", _failed_line(exc)
    except BaseException as exc:
        return "fail", f"test raised {_describe(exc)}"
    if chan.failure is not None:  # the test swallowed it; it still counts
        raise chan.failure
    return "pass", "all tests passed"


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
    try:
        message = str(exc)[:200]
    except Exception:  # e.g. an int too long to print, raised by the sample
        message = ""
    where = f" at test line {line}" if line else ""
    return f"assertion failed{where}" + (f": {message}" if message else "")


# --------------------------------------------------------------------------- pytest_file runner


PYTEST_TAG = "BUDGET-PYTEST-RESULT"


def pytest_main(
    test_file: str, program_file: str, module: str, limits: dict[str, int], wall_s: float
) -> None:
    """The ``pytest_file`` runner (trusted; one run per sandbox; see ``verifiers/pytest_file.py``).

    The same split as the warm harness: the *sample* process (:func:`_sample` in module mode)
    loads the program and answers calls; pytest runs here, in a process the sample cannot
    debug, with ``module`` in ``sys.modules`` as a proxy whose functions forward each call to
    the sample and whose other names are fetched as plain data.  The nonce is read from stdin
    after the fork; per-test reports stay in this process's memory; only this process, after
    pytest returned, writes the result line (the tag, the nonce, the reports) on the stdout it
    inherited, which the sample process never holds.  ``test_file`` and this code live in a
    directory the sample cannot write (the sandbox's read-only ``/verifier``), so nothing it
    writes is imported here.
    """
    _prctl(PR_SET_DUMPABLE, 0)
    if _prctl(PR_GET_DUMPABLE, 0) != 0:
        raise SystemExit("budget pytest runner: cannot make itself non-dumpable")
    result_fd = os.dup(1)
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    out_r, out_w = os.pipe()
    program_fd = os.open(program_file, os.O_RDONLY)
    job = {
        "program_len": os.fstat(program_fd).st_size,
        "entry_point": None,
        "module": module,
        "limits": limits,
    }
    sample_pid = os.fork()
    if sample_pid == 0:
        os.close(result_fd)
        _sample(job, program_fd, req_r, rep_w, out_w, os.getcwd())
    for fd in (req_r, rep_w, out_w, program_fd):
        os.close(fd)
    nonce = sys.stdin.readline().strip()  # after the fork: the sample process never had it
    # pytest's own output: a file without a name, so that the sample (which shares /tmp) cannot
    # put a symbolic link or a FIFO where it would be opened
    output = os.memfd_create("budget-pytest-output")
    os.dup2(output, 1)
    os.dup2(output, 2)
    chan = _Channel(req_w, rep_r, out_r, time.monotonic() + wall_s)
    frames: list[dict[str, Any]] = []
    unchanged: list[dict[str, Any]] | None = None
    try:
        init = chan.receive()
    except (SampleDied, SampleTimeout) as exc:
        init = {"init": False, "error": f"the program ended while loading ({exc})"}
    if type(init) is not dict or init.get("init") is not True:
        error = init.get("error", "") if type(init) is dict else ""
        frames.append({"load_error": str(error)[:300]})
    else:
        frames, changed = _pytest_session(test_file, module, chan)
        if changed:  # as in python_tests: a pass must not need the sample's changes to its arguments
            chan.write_back = False
            unchanged, _ = _pytest_session(test_file, module, chan)
    with contextlib.suppress(OSError):
        os.killpg(sample_pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(sample_pid, 0)
    tail = bytes(chan.output[-600:]).decode("utf-8", "replace")
    with contextlib.suppress(OSError):
        size = os.lseek(output, 0, os.SEEK_END)
        os.lseek(output, max(0, size - 600), os.SEEK_SET)
        tail += os.read(output, 600).decode("utf-8", "replace")
    result: dict[str, Any] = {"frames": frames[-2000:], "tail": tail[-600:]}
    if unchanged is not None:
        result["frames_without_changes"] = unchanged[-2000:]
    write_all(result_fd, ("\n" + PYTEST_TAG + " " + nonce + " " + json.dumps(result) + "\n").encode())
    os._exit(0)


def _pytest_session(test_file: str, module: str, chan: _Channel) -> tuple[list[dict[str, Any]], bool]:
    """One pytest session in a child process (so a second one starts from fresh modules): its
    reports, and whether the sample changed an argument in place during it.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            frames = _run_pytest(test_file, module, chan)
            write_all(write, json.dumps({"frames": frames[-2000:], "changed": chan.changed}).encode())
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 20):
        chunks.append(chunk)
    os.close(read)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    try:
        report = json.loads(b"".join(chunks))
        return list(report["frames"]), report["changed"] is True
    except (ValueError, KeyError, TypeError):
        return [{"session_lost": True}], False


def _run_pytest(test_file: str, module: str, chan: _Channel) -> list[dict[str, Any]]:
    """Run pytest on ``test_file`` with ``module`` as a proxy of the sample; its reports."""
    import types

    class Proxy(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            try:
                value = chan.request({"get": name})
            except KeyError:
                raise AttributeError(f"module {module!r} has no attribute {name!r}") from None
            if value is not CALLABLE:
                return value

            def forward(*args: Any, **kwargs: Any) -> Any:
                return chan.call(args, kwargs, name)

            forward.__name__ = forward.__qualname__ = name
            return forward

    sys.modules[module] = Proxy(module)
    frames: list[dict[str, Any]] = []

    class Plugin:
        def pytest_collectreport(self, report: Any) -> None:
            if report.failed:
                frames.append({"collect_error": str(report.nodeid), "text": report.longreprtext[-500:]})

        def pytest_runtest_logreport(self, report: Any) -> None:
            text = report.longreprtext[-300:] if report.failed else ""
            frames.append(
                {"test": report.nodeid, "when": report.when, "outcome": report.outcome, "text": text}
            )

        def pytest_sessionfinish(self, session: Any, exitstatus: Any) -> None:
            frames.append({"finish": int(exitstatus), "collected": int(session.testscollected)})

    import pytest

    directory, name = os.path.split(os.path.abspath(test_file))
    os.chdir(directory)
    args = ["-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", directory, name]
    code = pytest.main(args, plugins=[Plugin()])
    frames.append({"exit": int(code)})
    if chan.failure is not None:  # a test swallowed the sample's death or a bad return: it counts
        frames.append({"sample_failure": _describe(chan.failure)})
    return frames


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
    scratch: dict[str, int] = {}
    settings = process_settings()
    if pidns:
        for top in (tempfile.gettempdir(), os.getcwd(), *SHARED_DIRS):
            with contextlib.suppress(OSError):
                scratch[top] = os.stat(top).st_mode & 0o7777
    write_all(result_fd, frame({"kind": "ready", "pid": os.getpid(), "pidns": pidns}))
    os.dup2(devnull, 2)
    import fcntl

    while True:
        try:
            job = read_frame(0)
        except EOFError:
            return
        secret_len, program_len = int(job["secret_len"]), int(job["program_len"])
        if not (0 < secret_len <= MAX_SECRET and 0 <= program_len <= MAX_PROGRAM):
            return
        program_r, program_w = os.pipe()
        secret_r, secret_w = os.pipe()
        with contextlib.suppress(OSError):
            # F_SETPIPE_SZ: the whole secret fits, so the zygote never waits on the tester
            fcntl.fcntl(secret_w, 1031, MAX_SECRET)
        workdir = tempfile.mkdtemp(prefix="job-")
        pid = os.fork()
        if pid == 0:
            os.close(0)
            os.close(program_w)
            os.close(secret_w)
            _tester(job, program_r, secret_r, result_fd, workdir)
        os.close(program_r)
        os.close(secret_r)
        # the bodies go from stdin to the pipes in the kernel (they never enter this process):
        # the program first (the sample reads it as soon as it exists), then the secret
        ok = _splice(program_len, program_w) and _splice(secret_len, secret_w)
        status = 0
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(pid, 0)
        sweep(pidns)
        shutil.rmtree(workdir, ignore_errors=True)
        clean = reset(scratch, settings) if pidns else True
        write_all(
            result_fd,
            frame({"kind": "done", "seq": job["seq"], "tester_status": status, "clean": clean}),
        )
        if not ok:
            return


def _splice(size: int, dest: int) -> bool:
    """Move ``size`` bytes from stdin to ``dest`` and close it; ``False`` when stdin ended first."""
    moved = 0
    try:
        while moved < size:
            n = os.splice(0, dest, size - moved)
            if n == 0:
                return False
            moved += n
    except BrokenPipeError:  # the reader went away (the sample died before reading its program)
        _drain(size - moved)
        return True
    finally:
        os.close(dest)
    return True


def _drain(size: int) -> None:
    """Consume ``size`` bytes of stdin without keeping them (to /dev/null, in the kernel)."""
    null = os.open("/dev/null", os.O_WRONLY)
    try:
        while size > 0:
            n = os.splice(0, null, size)
            if n == 0:
                return
            size -= n
    finally:
        os.close(null)


if __name__ == "__main__":
    zygote("--pidns" in sys.argv[1:], preload="--no-preload" not in sys.argv[1:])
