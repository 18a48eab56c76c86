"""The sandbox runner: bubblewrap's command line and the start, feeding and ending of a command.

:class:`Sandbox` runs a command under bubblewrap (namespaces, read-only system, an allow-list of
``/etc``, size-capped private tmpfs at ``/tmp``, ``/dev/shm`` and the working directory
``/sandbox``, the seccomp filter of :mod:`budget.verify.seccomp`, a cleared environment, the
rlimits of :class:`~budget.verify.limits.Limits` and, as root, the cgroups of
:mod:`budget.verify.cgroups`), or, only when asked explicitly, without isolation.
:func:`python_paths` lists the directories to expose (read-only) so the interpreter running
budget also runs inside.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from budget.errors import SandboxError
from budget.verify.cgroups import Cgroup, cgroup_for
from budget.verify.limits import Limits, SandboxResult
from budget.verify.seccomp import seccomp_program
from budget.verify.streams import kill_group, memfd, pump

WORKDIR = "/sandbox"
# Files of the checking code (a trusted runner, the tests it runs): beside the working directory,
# on bubblewrap's root, which is remounted read-only, so the checked program cannot change them.
# The command reaches them as ``../verifier/NAME`` from its working directory (also unisolated).
VERIFIER_DIR = "/verifier"
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
        ro_file_fds: Mapping[str, int] = {},
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
        # a private POSIX message queue file system, so that queues a command creates can be
        # listed and removed (the warm harness empties it between jobs)
        args += ["--dev", "/dev", "--proc", "/proc", "--mqueue", "/dev/mqueue"]
        tmp_bytes = str(limits.tmp_mb * 1024 * 1024)
        shm_bytes = str(min(limits.tmp_mb, 16) * 1024 * 1024)
        for path, size in (("/tmp", tmp_bytes), (WORKDIR, tmp_bytes), ("/dev/shm", shm_bytes)):
            args += ["--size", size, "--tmpfs", path]
        # after the private tmpfs mounts, so an interpreter or venv that lives under /tmp (a
        # checkout in a temporary directory) stays visible, read-only, on top of them
        for p in self.ro_paths:
            args += ["--ro-bind", str(p), str(p)]
        for name, fd in file_fds.items():
            dest = f"{WORKDIR}/{name}"
            parent = str(Path(dest).parent)
            if parent != WORKDIR:
                args += ["--dir", parent]
            args += ["--file", str(fd), dest]
        if ro_file_fds:
            args += ["--dir", VERIFIER_DIR]
        for name, fd in ro_file_fds.items():
            args += ["--file", str(fd), f"{VERIFIER_DIR}/{name}"]
        # bubblewrap's own root and /dev are unbounded tmpfs: read-only, so that the three
        # size-capped ones above are the only places a sample can write (and the harness wipes).
        # /proc too: the files of a non-dumpable process there (the warm harness's) belong to the
        # sandbox's root, which is the sample's uid, so it could raise their oom_score_adj or their
        # session's autogroup nice value, for every later job on that worker
        args += ["--remount-ro", "/dev", "--remount-ro", "/proc", "--remount-ro", "/"]
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
        ro_file_fds: Mapping[str, int] = {},
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
        cgroup = cgroup_for(limits)
        child_in, parent_in = os.pipe()
        parent_out, child_out = os.pipe()
        parent_err, child_err = os.pipe()
        extra_fds: list[int] = []
        if self.isolated:
            program = seccomp_program()
            seccomp_fd = None
            if program is not None:
                seccomp_fd = memfd("seccomp", program)
                extra_fds.append(seccomp_fd)
            bw = self.bwrap_args(
                limits,
                file_fds=file_fds,
                ro_file_fds=ro_file_fds,
                env=env,
                as_pid_1=as_pid_1,
                seccomp_fd=seccomp_fd,
            )
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
                pass_fds=(
                    child_in,
                    child_out,
                    child_err,
                    *pass_fds,
                    *file_fds.values(),
                    *ro_file_fds.values(),
                    *extra_fds,
                ),
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
        ro_files: Mapping[str, bytes | str] | None = None,
    ) -> SandboxResult:
        """Run ``argv`` once with ``files`` (relative paths) in the working directory, ``stdin`` fed.

        ``ro_files`` (plain names) are put in :data:`VERIFIER_DIR`, ``../verifier`` from the
        working directory, read-only to the command under bubblewrap (checking code that the
        checked program must not change).  The stdin/stdout/stderr pipes are not reachable
        through bubblewrap's reaper (see :meth:`popen`).  A command that must keep its pipes
        from its own children should make itself non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``).

        Never raises for anything the command does; raises :class:`SandboxError` only when the
        sandbox itself cannot be started.
        """
        limits = limits or Limits()
        files = files or {}
        ro_files = ro_files or {}
        for name in files:
            if name.startswith("/") or ".." in Path(name).parts or not name:
                raise SandboxError(f"sandbox file name must be relative and stay inside: {name!r}")
        for name in ro_files:
            if not name or "/" in name or name in (".", ".."):
                raise SandboxError(f"read-only sandbox file name must be a plain name: {name!r}")
        fds: dict[str, int] = {}
        ro_fds: dict[str, int] = {}
        tmpdir: Path | None = None
        try:
            if self.isolated:
                for name, data in files.items():
                    fds[name] = memfd(name, data.encode() if isinstance(data, str) else data)
                for name, data in ro_files.items():
                    ro_fds[name] = memfd(name, data.encode() if isinstance(data, str) else data)
                cwd = "/"
            else:
                import tempfile

                tmpdir = Path(tempfile.mkdtemp(prefix="budget-unsafe-"))
                work, verifier = tmpdir / "sandbox", tmpdir / "verifier"
                for directory, entries in ((work, files), (verifier, ro_files)):
                    directory.mkdir()
                    for name, data in entries.items():
                        path = directory / name
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(data.encode() if isinstance(data, str) else data)
                cwd = str(work)
            start = time.perf_counter()
            proc, cgroup = self.popen(
                argv, limits=limits, env=env or {}, file_fds=fds, ro_file_fds=ro_fds, cwd=cwd
            )
        finally:
            for fd in (*fds.values(), *ro_fds.values()):
                os.close(fd)
        try:
            out, err, timed_out = pump(proc, stdin, limits)
        finally:
            kill_group(proc)
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
