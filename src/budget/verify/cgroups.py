"""``pids`` and ``memory`` cgroups capping one sandbox as a whole (only when budget runs as root).

The kernel never applies RLIMIT_NPROC to real root, and RLIMIT_AS is per process, so as root each
sandbox also gets ``pids`` and ``memory`` cgroups (v1 or v2) where they can be created.  Empty
cgroups are kept for reuse (creating a memory cgroup costs milliseconds) and removed at exit;
empty ones left by dead budget processes are removed when the controllers are first found.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import shlex
import signal
import threading
import time
from pathlib import Path

from budget.verify.limits import Limits


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
        bases = cgroup_bases()
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
        """Whether no process is left in the cgroup (False when it cannot be read)."""
        try:
            return not any(f.read_text().split() for f in self.procs_files)
        except OSError:
            return False

    def join_prefix(self) -> list[str]:
        """A command prefix that moves the command into these cgroups before it execs."""
        script = " && ".join(f"echo $$ > {shlex.quote(str(f))}" for f in self.procs_files)
        return ["/bin/sh", "-c", script + ' && exec "$@"', "sh"]

    def kill_all(self) -> None:
        """SIGKILL every process in the cgroup until it is empty (a bounded number of rounds)."""
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
        processes not yet reaped) is removed later, at a :meth:`create` or at exit.
        """
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
def cgroup_bases() -> dict[str, tuple[Path, str]]:
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


def cgroup_for(limits: Limits) -> Cgroup | None:
    """A cgroup sized for ``limits`` (processes, memory plus tmpfs), or None where none can be made."""
    tmpfs = 2 * limits.tmp_mb * 1024 * 1024  # tmpfs pages are charged to the cgroup
    return Cgroup.create(limits.processes + 4, limits.memory_mb * 1024 * 1024 + tmpfs + (256 << 20))
