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

The parts live in their own modules and are re-exported here: :mod:`budget.verify.limits`
(``Limits``, ``SandboxResult``), :mod:`budget.verify.bubblewrap` (``Sandbox``: the command line,
start and end of a command), :mod:`budget.verify.streams` (descriptors, pumping, the final kill),
:mod:`budget.verify.cgroups` (``Cgroup``, root only) and :mod:`budget.verify.seccomp` (the
filter); this module holds the start-up probe and the refusal.

What the sandbox gives every command:

* namespaces: user (``--cap-drop ALL``, no nested user namespaces), pid, net (loopback only),
  ipc, uts, cgroup; ``--die-with-parent`` and ``--new-session`` (no terminal injection);
* file system: ``/usr`` (and ``/bin``, ``/lib*``, ``/sbin`` as on the host) and an allow-list
  of ``/etc`` files read-only, fresh read-only ``/dev`` and ``/proc``, a size-capped private tmpfs at
  ``/tmp``, ``/dev/shm`` and the working directory ``/sandbox`` (where ``files`` are copied),
  the IPC namespace's own POSIX message queue file system at ``/dev/mqueue``, and the checking
  code's ``ro_files`` in ``/verifier``; everything else, bubblewrap's root (and so
  ``/verifier``) included, is read-only.  The user's home, the project,
  ``/run`` (daemon sockets) and every other path are absent;
* seccomp (x86_64): a filter that makes about fifty system calls fail with EPERM (ptrace,
  keyrings, BPF, perf, io_uring, userfaultfd, mount and namespace calls, modules, kexec, ...;
  see ``budget.verify.seccomp._BLOCKED_X86_64``), and limits, priority and scheduling calls
  (``prlimit64``, ``setpriority``, ``sched_set*``, ``ioprio_set``) fail unless aimed at the
  caller itself;
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
  it cannot lower their limits or priority (seccomp) nor write their ``/proc`` files
  (``oom_score_adj``, ``autogroup``: read-only ``/proc``);
* use loopback networking inside its own network namespace, CPU and memory up to the limits,
  and the two tmpfs;
* attack the kernel through the system calls the seccomp filter leaves: that, and side channels
  (timing, ``/proc/cpuinfo``), are the residual risk of a namespace sandbox.
"""

from __future__ import annotations

import functools
import shutil

from pydantic import BaseModel, ConfigDict, Field

from budget.errors import SandboxError
from budget.verify.bubblewrap import SAFE_PATH, WORKDIR, Sandbox, python_paths, sandbox_python
from budget.verify.cgroups import Cgroup, cgroup_bases
from budget.verify.limits import Limits, SandboxResult
from budget.verify.seccomp import seccomp_program

__all__ = [
    "SAFE_PATH",
    "WORKDIR",
    "Cgroup",
    "Limits",
    "Sandbox",
    "SandboxResult",
    "SandboxStatus",
    "get_sandbox",
    "probe",
    "python_paths",
    "require_sandbox",
    "sandbox_python",
    "seccomp_program",
]


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
        available=True, bwrap=bwrap, cgroups=sorted(cgroup_bases()), seccomp=seccomp_program() is not None
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
