"""The descriptors of a sandboxed command: in-memory files handed to bubblewrap, the pumping of
stdin/stdout/stderr under a wall clock, and the final SIGKILL to the process group.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

from budget.verify.limits import Limits


def memfd(name: str, data: bytes) -> int:
    """An anonymous in-memory file holding ``data``, rewound; its descriptor (the caller closes it)."""
    fd = os.memfd_create(f"budget-{Path(name).name}", 0)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def pump(proc: subprocess.Popen[bytes], stdin: bytes, limits: Limits) -> tuple[bytearray, bytearray, bool]:
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


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL bubblewrap's whole process group and reap it (the pid namespace dies with it)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
