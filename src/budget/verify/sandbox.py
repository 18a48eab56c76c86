"""Run untrusted commands under bubblewrap: no network, read-only system, nothing of the user's.

Usage (what the command, pytest-file and Python unit-test verifiers build on)::

    from budget.verify.sandbox import Limits, get_sandbox

    box = get_sandbox()                      # probes once, raises SandboxError when no sandbox works
    res = box.run(["python3", "main.py"], files={"main.py": "print(1)"}, stdin=b"",
                  limits=Limits(cpu_s=5, wall_s=10))
    res.returncode, res.stdout, res.timed_out, res.duration_s

``get_sandbox(unsafe_no_sandbox=True)`` returns a runner without isolation (only the rlimits,
the scrubbed environment and the private working directory) where bubblewrap is unusable; it
must only ever be reached from an explicit ``--unsafe-no-sandbox``.  ``python_paths()`` lists
the directories to expose (read-only) so the interpreter running budget also runs inside.

What the sandbox gives every command:

* namespaces: user (``--cap-drop ALL``, no nested user namespaces), pid, net (loopback only),
  ipc, uts, cgroup; ``--die-with-parent`` and ``--new-session`` (no terminal injection);
* file system: ``/usr`` (and ``/bin``, ``/lib*``, ``/sbin`` as on the host) and an allow-list
  of ``/etc`` files read-only, fresh ``/dev`` and ``/proc``, a size-capped private tmpfs at
  ``/tmp``, ``/dev/shm`` and the working directory ``/sandbox`` (where ``files`` are copied);
  everything else, bubblewrap's root included, is read-only.  The user's home, the project,
  ``/run`` (daemon sockets) and every other path are absent;
* seccomp (x86_64): a filter that makes about fifty system calls fail with EPERM (ptrace,
  keyrings, BPF, perf, io_uring, userfaultfd, mount and namespace calls, modules, kexec, ...;
  see ``_BLOCKED_X86_64``);
* environment: cleared, both for the sandboxed command and for bubblewrap itself (so
  ``/proc/1/environ`` inside holds no secret), then a fixed ``PATH``/``HOME``/``LANG``;
* limits: RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE=0 and RLIMIT_NPROC
  (applied inside the user namespace, by bash's ``ulimit`` or ``prlimit``).  The kernel never
  applies RLIMIT_NPROC to real root, and RLIMIT_AS is per process, so when budget runs as root
  each sandbox also gets ``pids`` and ``memory`` cgroups (v1 or v2) where they can be created
  (:class:`Cgroup`);
* the pipes to the command do not pass through bubblewrap's reaper (pid 1 inside), so no
  process in the sandbox can open them through ``/proc/1/fd``;
* a wall-clock timeout, bounded capture of stdout/stderr, and at the end SIGKILL to
  bubblewrap's process group: the sandbox's pid-namespace init dies with it and the kernel
  then kills every process left in the namespace (background children included).

What a sample can still do (budget may run as root; inside, the sample is uid 0 of its own user
namespace, mapped to the caller's uid, with no capabilities):

* read what is bound in: ``/usr``, the ``/etc`` allow-list and the Python prefix, all world-
  readable system files (as root it could also read root-only files there, so nothing else is
  bound); it cannot write them (read-only mounts, and no capability, user namespace or mount
  system call to undo that);
* signal, but not ptrace, the other processes of its own sandbox: killing the tester is a
  ``sandbox_violation`` verdict; the harness, as pid 1, ignores signals from inside; it can
  list (not open) ``/proc/<pid>/fd`` of non-dumpable processes there, since root owns them;
* use loopback networking inside its own network namespace, CPU and memory up to the limits,
  and the two tmpfs;
* attack the kernel through the system calls the seccomp filter leaves: that, and side channels
  (timing, ``/proc/cpuinfo``), are the residual risk of a namespace sandbox.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from budget.errors import SandboxError

WORKDIR = "/sandbox"
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"

# /etc entries a program may need (dynamic linker, time zone, names, certificates, alternatives);
# everything else there (shadow, ssh host keys, sudoers, ...) stays out.
_ETC_ALLOW = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "localtime",
    "timezone",
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "os-release",
    "mime.types",
    "ssl/certs",
    "ca-certificates",
    "python3",
    "python3.11",
    "python3.12",
    "python3.13",
)


class Limits(BaseModel):
    """Resource limits for one sandboxed run."""

    model_config = ConfigDict(frozen=True)

    cpu_s: int = Field(default=10, ge=1, description="RLIMIT_CPU per process, seconds")
    wall_s: float = Field(default=20.0, gt=0, description="wall-clock timeout of the whole run")
    memory_mb: int = Field(default=1024, ge=32, description="RLIMIT_AS per process")
    processes: int = Field(default=64, ge=1, description="RLIMIT_NPROC / pids.max")
    file_size_mb: int = Field(default=16, ge=0, description="RLIMIT_FSIZE: largest file written")
    open_files: int = Field(default=64, ge=8, description="RLIMIT_NOFILE")
    tmp_mb: int = Field(default=64, ge=1, description="size of each private tmpfs")
    output_kb: int = Field(default=256, ge=1, description="stdout/stderr kept, each")


class SandboxResult(BaseModel):
    """What came back from one run.  ``returncode`` is negative for a signal (as subprocess)."""

    model_config = ConfigDict(frozen=True)

    returncode: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    timed_out: bool = False
    duration_s: float = 0.0
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    isolated: bool = True


def python_paths(include_venv: bool = False) -> list[Path]:
    """Directories to bind read-only so ``sys.executable`` (and, optionally, its venv) runs inside."""
    roots = {Path(sys.base_prefix).resolve()}
    exe = Path(sys.executable).resolve()
    roots.add(exe.parent.parent)
    if include_venv:
        roots.add(Path(sys.prefix).resolve())
    return sorted(p for p in roots if not _under_usr(p))


def _under_usr(p: Path) -> bool:
    return p == Path("/usr") or Path("/usr") in p.parents


def sandbox_python() -> str:
    """The interpreter path to run inside the sandbox (the real file, not a venv symlink)."""
    return str(Path(sys.executable).resolve())


# --------------------------------------------------------------------------- cgroups (root only)


class Cgroup:
    """``pids`` and ``memory`` cgroups (v2 or v1) capping one sandbox as a whole.

    Only as root: there RLIMIT_NPROC is not enforced by the kernel, and RLIMIT_AS is per process
    (a sample that forks could multiply it).  The sandbox joins through a shell that writes its
    own pid into each ``cgroup.procs`` and then execs bubblewrap.
    """

    _counter = 0
    _lock = threading.Lock()

    def __init__(self, dirs: list[Path], key: tuple[int, int]) -> None:
        self.dirs = dirs
        self.key = key
        self.procs_files = [d / "cgroup.procs" for d in dirs]

    @classmethod
    def create(cls, max_pids: int, max_bytes: int) -> Cgroup | None:
        """New (or reused, empty) cgroups with these limits; ``None`` where none can be made."""
        bases = _cgroup_bases()
        if not bases:
            return None
        if _busy:
            _retry_busy()
        key = (max_pids, max_bytes)
        with cls._lock:
            spare = _free.get(key)
            while spare:
                group = spare.pop()
                if group.empty():
                    return group
                _busy.extend(group.dirs)
            cls._counter += 1
            name = f"budget-sandbox-{os.getpid()}-{cls._counter}"
        dirs: list[Path] = []
        try:
            for controller, (base, knob) in bases.items():
                path = base / name
                if path not in dirs:
                    path.mkdir()
                    dirs.append(path)
                (path / knob).write_text(f"{max_pids if controller == 'pids' else max_bytes}\n")
        except OSError:
            for d in dirs:
                with contextlib.suppress(OSError):
                    d.rmdir()
            return None
        return cls(dirs, key)

    def empty(self) -> bool:
        try:
            return not any(f.read_text().split() for f in self.procs_files)
        except OSError:
            return False

    def join_prefix(self) -> list[str]:
        """A command prefix that moves the command into these cgroups before it execs."""
        script = " && ".join(f"echo $$ > {shlex.quote(str(f))}" for f in self.procs_files)
        return ["/bin/sh", "-c", script + ' && exec "$@"', "sh"]

    def kill_all(self) -> None:
        for _ in range(50):
            pids: set[int] = set()
            for f in self.procs_files:
                with contextlib.suppress(OSError, ValueError):
                    pids.update(int(x) for x in f.read_text().split())
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)

    def remove(self) -> None:
        """Kill what is left; keep the (empty) cgroups for the next sandbox with the same limits
        (creating a memory cgroup costs milliseconds), else remove them.  One still busy (its last
        processes not yet reaped) is removed later, at a :meth:`create` or at exit."""
        self.kill_all()
        with self._lock:
            spare = _free.setdefault(self.key, [])
            if self.empty() and len(spare) < _KEEP:
                spare.append(self)
                return
        for d in self.dirs:
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                with self._lock:
                    _busy.append(d)


_KEEP = 16
_free: dict[tuple[int, int], list[Cgroup]] = {}
_busy: list[Path] = []


def _remove_all() -> None:
    """At exit: the spare cgroups and the busy ones go."""
    with Cgroup._lock:
        for spare in _free.values():
            for group in spare:
                _busy.extend(group.dirs)
        _free.clear()
    _retry_busy()


_STALE = re.compile(r"^budget-sandbox-(\d+)-\d+$")


def _retry_busy() -> None:
    with Cgroup._lock:
        left = []
        for d in _busy:
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                left.append(d)
        _busy[:] = left


atexit.register(_remove_all)


def _remove_stale(base: Path) -> None:
    """Remove empty cgroups left by budget processes that died without cleaning up."""
    with contextlib.suppress(OSError):
        for d in base.iterdir():
            m = _STALE.match(d.name)
            if m is None or int(m.group(1)) == os.getpid():
                continue
            try:
                os.kill(int(m.group(1)), 0)
                continue  # its owner still runs
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            with contextlib.suppress(OSError):
                d.rmdir()


_KNOBS = {"pids": ("pids.max", "pids.max"), "memory": ("memory.max", "memory.limit_in_bytes")}


@functools.cache
def _cgroup_bases() -> dict[str, tuple[Path, str]]:
    """Per controller, where budget may create cgroups and the limit file (only as root)."""
    if os.geteuid() != 0:
        return {}
    root = Path("/sys/fs/cgroup")
    found: dict[str, tuple[Path, str]] = {}
    for controller, (v2_knob, v1_knob) in _KNOBS.items():
        candidates = []
        if (root / "cgroup.controllers").exists():
            candidates.append((root, v2_knob))
        candidates += [(root / controller, v1_knob), (root / "unified", v2_knob)]
        for base, knob in candidates:
            probe = base / f"budget-probe-{os.getpid()}"
            try:
                probe.mkdir()
            except OSError:
                continue
            ok = (probe / knob).exists()
            with contextlib.suppress(OSError):
                probe.rmdir()
            if ok:
                found[controller] = (base, knob)
                _remove_stale(base)
                break
    return found


def _cgroup_for(limits: Limits) -> Cgroup | None:
    tmpfs = 2 * limits.tmp_mb * 1024 * 1024  # tmpfs pages are charged to the cgroup
    return Cgroup.create(limits.processes + 4, limits.memory_mb * 1024 * 1024 + tmpfs + (256 << 20))


# --------------------------------------------------------------------------- seccomp

# System calls no verified program needs and that widen the kernel attack surface or reach
# outside the sandbox (x86_64 numbers, arch/x86/entry/syscalls/syscall_64.tbl): debugging other
# processes, keyrings, BPF, perf, io_uring, userfaultfd, mounts and namespaces, modules, kexec,
# file handles, clocks, swap, quotas, accounting, the kernel log, fd theft.
_BLOCKED_X86_64 = {
    "ptrace": 101, "syslog": 103, "personality": 135, "vhangup": 153, "pivot_root": 155,
    "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166,
    "swapon": 167, "swapoff": 168, "reboot": 169, "iopl": 172, "ioperm": 173, "init_module": 175,
    "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212, "clock_settime": 227,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
    "perf_event_open": 298, "fanotify_init": 300, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320,
    "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "pidfd_getfd": 438, "mount_setattr": 442,
}  # fmt: skip
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000


def seccomp_program() -> bytes | None:
    """A classic-BPF seccomp filter (``struct sock_filter[]``) for bubblewrap's ``--seccomp``.

    Blocked calls fail with EPERM; calls of another ABI (i386 ``int 0x80``, x32) fail whole.
    Only built for x86_64, where it is tested; elsewhere ``None`` (no filter).
    """
    import platform
    import struct

    if platform.machine() != "x86_64":
        return None
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    numbers = sorted(set(_BLOCKED_X86_64.values()))
    deny_at = 4 + len(numbers) + 1
    code: list[tuple[int, int, int, int]] = [
        (ld_abs, 0, 0, 4),  # seccomp_data.arch
        (jeq, 0, deny_at - 2, _AUDIT_ARCH_X86_64),
        (ld_abs, 0, 0, 0),  # seccomp_data.nr
        (jge, deny_at - 4, 0, _X32_SYSCALL_BIT),
    ]
    for i, nr in enumerate(numbers):
        at = 4 + i
        code.append((jeq, deny_at - (at + 1), 0, nr))
    code += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    return b"".join(struct.pack("=HBBI", *ins) for ins in code)


# --------------------------------------------------------------------------- the runner


class Sandbox:
    """A configured way to run commands: under bubblewrap, or (explicitly) without isolation."""

    def __init__(
        self,
        *,
        isolated: bool = True,
        ro_paths: Sequence[Path] = (),
        bwrap: str | None = None,
        prlimit: str | None = None,
    ) -> None:
        self.isolated = isolated
        self.ro_paths = tuple(ro_paths)
        self.bwrap = bwrap or shutil.which("bwrap") or "bwrap"
        self.prlimit = prlimit if prlimit is not None else (shutil.which("prlimit") or "")

    # -- command line -------------------------------------------------------------------------

    def limit_prefix(self, limits: Limits) -> list[str]:
        """``prlimit`` in front of a command (empty where prlimit is missing)."""
        if not self.prlimit:
            return []
        mem = limits.memory_mb * 1024 * 1024
        fsize = limits.file_size_mb * 1024 * 1024
        return [
            self.prlimit,
            f"--cpu={limits.cpu_s}:{limits.cpu_s + 1}",
            f"--as={mem}:{mem}",
            f"--fsize={fsize}:{fsize}",
            f"--nofile={limits.open_files}:{limits.open_files}",
            f"--nproc={limits.processes}:{limits.processes}",
            "--core=0:0",
            "--",
        ]

    def _start_prefix(self, fd_in: int, fd_out: int, fd_err: int, limits: Limits) -> list[str]:
        """What runs first inside: move three inherited descriptors onto 0, 1, 2, set the
        rlimits, exec the command.

        One bash when the host has it (``ulimit``; dash cannot name descriptors above 9), else
        the interpreter that runs budget (always bound in) followed by ``prlimit``.
        """
        if os.path.exists("/bin/bash"):
            kib = 1024
            ulimit = (
                f"ulimit -t {limits.cpu_s} -v {limits.memory_mb * kib} -f {limits.file_size_mb * kib} "
                f"-n {limits.open_files} -u {limits.processes} -c 0"
            )
            move = f"exec 0<&{fd_in} 1>&{fd_out} 2>&{fd_err} {fd_in}<&- {fd_out}>&- {fd_err}>&-"
            return ["/bin/bash", "-c", f'{ulimit} && {move} && exec "$@"', "bash"]
        code = (
            "import os, sys\n"
            f"for src, dst in (({fd_in}, 0), ({fd_out}, 1), ({fd_err}, 2)):\n"
            "    os.dup2(src, dst)\n"
            f"for fd in ({fd_in}, {fd_out}, {fd_err}):\n"
            "    os.close(fd)\n"
            "os.execv(sys.argv[1], sys.argv[1:])\n"
        )
        return [sandbox_python(), "-I", "-S", "-c", code, *self.limit_prefix(limits)]

    def bwrap_args(
        self,
        limits: Limits,
        *,
        file_fds: Mapping[str, int] = {},
        env: Mapping[str, str] = {},
        as_pid_1: bool = False,
        seccomp_fd: int | None = None,
    ) -> list[str]:
        """The bubblewrap options (everything before the command).

        ``as_pid_1``: the command itself is the pid namespace's init (no bubblewrap reaper
        inside, whose ``/proc/1/fd`` would expose the pipes to the sandbox); init cannot be
        killed from inside its namespace and becomes the parent of every orphan.
        """
        args = [
            self.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--cap-drop",
            "ALL",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
        ]
        if as_pid_1:
            args.append("--as-pid-1")
        if seccomp_fd is not None:
            args += ["--seccomp", str(seccomp_fd)]
        for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / top
            if host.is_symlink():
                args += ["--symlink", os.readlink(host), str(host)]
            elif host.is_dir():
                args += ["--ro-bind", str(host), str(host)]
        for name in _ETC_ALLOW:
            host = Path("/etc") / name
            if host.exists():
                args += ["--ro-bind", str(host), str(host)]
        for p in self.ro_paths:
            args += ["--ro-bind", str(p), str(p)]
        args += ["--dev", "/dev", "--proc", "/proc"]
        tmp_bytes = str(limits.tmp_mb * 1024 * 1024)
        shm_bytes = str(min(limits.tmp_mb, 16) * 1024 * 1024)
        for path, size in (("/tmp", tmp_bytes), (WORKDIR, tmp_bytes), ("/dev/shm", shm_bytes)):
            args += ["--size", size, "--tmpfs", path]
        for name, fd in file_fds.items():
            dest = f"{WORKDIR}/{name}"
            parent = str(Path(dest).parent)
            if parent != WORKDIR:
                args += ["--dir", parent]
            args += ["--file", str(fd), dest]
        # bubblewrap's own root and /dev are unbounded tmpfs: read-only, so that the three
        # size-capped ones above are the only places a sample can write (and the harness wipes)
        args += ["--remount-ro", "/dev", "--remount-ro", "/"]
        args += ["--chdir", WORKDIR, "--clearenv"]
        for k, v in _sandbox_env(env).items():
            args += ["--setenv", k, v]
        args.append("--")
        return args

    # -- running ------------------------------------------------------------------------------

    def popen(
        self,
        argv: Sequence[str],
        *,
        limits: Limits,
        env: Mapping[str, str] = {},
        pass_fds: Sequence[int] = (),
        file_fds: Mapping[str, int] = {},
        cwd: str | None = None,
        as_pid_1: bool = False,
    ) -> tuple[subprocess.Popen[bytes], Cgroup | None]:
        """Start ``argv`` in the sandbox with pipes for stdin/stdout/stderr (a long-lived use).

        Under bubblewrap the pipes do not go through bubblewrap's own stdin/stdout/stderr: its
        reaper (the sandbox's pid 1, dumpable) keeps fds 0-2, and any process in the sandbox
        could open them as ``/proc/1/fd/N``.  bubblewrap gets ``/dev/null`` there; the pipes
        travel as extra descriptors (which the reaper closes) and a shell in the sandbox moves
        them onto 0-2 of the command.
        """
        cgroup = _cgroup_for(limits)
        child_in, parent_in = os.pipe()
        parent_out, child_out = os.pipe()
        parent_err, child_err = os.pipe()
        extra_fds: list[int] = []
        if self.isolated:
            program = seccomp_program()
            seccomp_fd = None
            if program is not None:
                seccomp_fd = _memfd("seccomp", program)
                extra_fds.append(seccomp_fd)
            bw = self.bwrap_args(limits, file_fds=file_fds, env=env, as_pid_1=as_pid_1, seccomp_fd=seccomp_fd)
            cmd = [*bw, *self._start_prefix(child_in, child_out, child_err, limits), *argv]
            run_env = {"PATH": SAFE_PATH}
            stdio: tuple[int, int, int] | None = None
        else:
            cmd = [*self.limit_prefix(limits), *argv]
            run_env = _sandbox_env(env)
            stdio = (child_in, child_out, child_err)
        if cgroup is not None:
            # join the cgroup before bubblewrap forks anything: a shell writes its own pid, then execs
            cmd = [*cgroup.join_prefix(), *cmd]
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL if stdio is None else stdio[0],
                stdout=subprocess.DEVNULL if stdio is None else stdio[1],
                stderr=subprocess.DEVNULL if stdio is None else stdio[2],
                env=run_env,
                pass_fds=(child_in, child_out, child_err, *pass_fds, *file_fds.values(), *extra_fds),
                start_new_session=True,
                close_fds=True,
                cwd=cwd,
            )
        except OSError as exc:
            for fd in (parent_in, parent_out, parent_err):
                os.close(fd)
            if cgroup is not None:
                cgroup.remove()
            raise SandboxError(f"cannot start the sandbox ({cmd[0]}): {exc}") from exc
        finally:
            for fd in (child_in, child_out, child_err, *extra_fds):
                os.close(fd)
        proc.stdin = os.fdopen(parent_in, "wb")
        proc.stdout = os.fdopen(parent_out, "rb")
        proc.stderr = os.fdopen(parent_err, "rb")
        return proc, cgroup

    def run(
        self,
        argv: Sequence[str],
        files: Mapping[str, bytes | str] | None = None,
        stdin: bytes = b"",
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SandboxResult:
        """Run ``argv`` once with ``files`` (relative paths) in the working directory, ``stdin`` fed.

        The stdin/stdout/stderr pipes are not reachable through bubblewrap's reaper (see
        :meth:`popen`).  A command that must keep its pipes from its own children should make
        itself non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``).

        Never raises for anything the command does; raises :class:`SandboxError` only when the
        sandbox itself cannot be started.
        """
        limits = limits or Limits()
        files = files or {}
        for name in files:
            if name.startswith("/") or ".." in Path(name).parts or not name:
                raise SandboxError(f"sandbox file name must be relative and stay inside: {name!r}")
        fds: dict[str, int] = {}
        tmpdir: Path | None = None
        try:
            if self.isolated:
                for name, data in files.items():
                    fds[name] = _memfd(name, data.encode() if isinstance(data, str) else data)
                cwd = "/"
            else:
                import tempfile

                tmpdir = Path(tempfile.mkdtemp(prefix="budget-unsafe-"))
                for name, data in files.items():
                    path = tmpdir / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data.encode() if isinstance(data, str) else data)
                cwd = str(tmpdir)
            start = time.perf_counter()
            proc, cgroup = self.popen(argv, limits=limits, env=env or {}, file_fds=fds, cwd=cwd)
        finally:
            for fd in fds.values():
                os.close(fd)
        try:
            out, err, timed_out = _pump(proc, stdin, limits)
        finally:
            _kill_group(proc)
            if cgroup is not None:
                cgroup.remove()
            if tmpdir is not None:
                shutil.rmtree(tmpdir, ignore_errors=True)
        duration = time.perf_counter() - start
        cap = limits.output_kb * 1024
        return SandboxResult(
            returncode=None if timed_out else proc.returncode,
            stdout=bytes(out[:cap]),
            stderr=bytes(err[:cap]),
            timed_out=timed_out,
            duration_s=duration,
            stdout_truncated=len(out) > cap,
            stderr_truncated=len(err) > cap,
            isolated=self.isolated,
        )


def _sandbox_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        "PATH": SAFE_PATH,
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
    }
    env.update(extra)
    return env


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(f"budget-{Path(name).name}", 0)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _pump(proc: subprocess.Popen[bytes], stdin: bytes, limits: Limits) -> tuple[bytearray, bytearray, bool]:
    """Feed stdin, collect at most output_kb (+1 byte) of each stream, enforce the wall clock."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    cap = limits.output_kb * 1024 + 1
    out, err = bytearray(), bytearray()
    bufs = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    deadline = time.monotonic() + limits.wall_s
    sel = selectors.DefaultSelector()
    pending = memoryview(stdin)
    if pending:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    for fd in bufs:
        sel.register(fd, selectors.EVENT_READ)
    timed_out = False
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in sel.select(left):
                fd = int(key.fd)
                if fd in bufs:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        sel.unregister(fd)
                    elif len(bufs[fd]) < cap:
                        bufs[fd] += chunk[: cap - len(bufs[fd])]
                else:
                    try:
                        n = os.write(fd, pending[:65536])
                    except (BrokenPipeError, BlockingIOError) as exc:
                        n = 0 if isinstance(exc, BlockingIOError) else len(pending)
                    pending = pending[n:]
                    if not pending:
                        sel.unregister(fd)
                        proc.stdin.close()
        if not timed_out:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
    finally:
        sel.close()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
    return out, err, timed_out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL bubblewrap's whole process group and reap it (the pid namespace dies with it)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


# --------------------------------------------------------------------------- probe


class SandboxStatus(BaseModel):
    """The result of the start-up probe."""

    model_config = ConfigDict(frozen=True)

    available: bool
    reason: str = ""
    bwrap: str = ""
    cgroups: list[str] = Field(default_factory=list, description="controllers used (root only)")
    seccomp: bool = False


@functools.cache
def probe() -> SandboxStatus:
    """Check once per process that bubblewrap starts a sandbox with every option budget uses."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxStatus(
            available=False, reason="bubblewrap (bwrap) is not installed; run scripts/setup-sandbox.sh"
        )
    box = Sandbox(ro_paths=python_paths())
    script = (
        "import os, socket\n"
        "assert 'BUDGET_PROBE_SECRET' not in os.environ\n"
        "assert not os.path.exists(os.path.expanduser('~/.ssh'))\n"
        "s = socket.socket()\n"
        "s.settimeout(1)\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 9))\n"
        "    raise SystemExit(3)\n"
        "except OSError:\n"
        "    pass\n"
        "print('ok', open('probe.txt').read())\n"
    )
    try:
        res = box.run(
            [sandbox_python(), "-I", "-S", "-c", script],
            files={"probe.txt": "42"},
            limits=Limits(wall_s=15),
        )
    except SandboxError as exc:
        return SandboxStatus(available=False, reason=str(exc), bwrap=bwrap)
    if res.returncode != 0 or res.stdout.strip() != b"ok 42":
        why = res.stderr.decode(errors="replace").strip().splitlines()
        detail = why[-1] if why else f"exit {res.returncode}"
        return SandboxStatus(available=False, reason=f"bubblewrap failed its probe: {detail}", bwrap=bwrap)
    return SandboxStatus(
        available=True, bwrap=bwrap, cgroups=sorted(_cgroup_bases()), seccomp=seccomp_program() is not None
    )


def require_sandbox() -> SandboxStatus:
    """The probe's result when a sandbox works; :class:`SandboxError` (one line) otherwise."""
    status = probe()
    if not status.available:
        raise _refusal(status)
    return status


def _refusal(status: SandboxStatus) -> SandboxError:
    return SandboxError(
        f"refusing to run generated code without a sandbox: {status.reason} "
        "(pass --unsafe-no-sandbox to run it anyway, unisolated)"
    )


def get_sandbox(*, unsafe_no_sandbox: bool = False, include_venv: bool = False) -> Sandbox:
    """A ready sandbox, or :class:`SandboxError` (or, only if asked, an unisolated runner)."""
    status = probe()
    if status.available:
        return Sandbox(ro_paths=python_paths(include_venv))
    if unsafe_no_sandbox:
        return Sandbox(isolated=False)
    raise _refusal(status)
