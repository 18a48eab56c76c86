"""``budget run`` ends honestly (issue 9, item 8): a run that bought nothing prints its summary
(JSON with ``--json``) with the reason, then one line on stderr, and exits non-zero."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fakes.stub_server import OutcomeModes, StubServer

CLI = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"


def budget(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, check=False, timeout=300
    )


def run_args(url: str, db: Path) -> list[str]:
    return [
        "run", "--task", "humaneval", "--models", "stub", "--problems", "2", "--samples", "1",
        "--dollars", "0.5", "--price", "stub=3,15", "--api-base", url, "--verify", "none",
        "--db", str(db),
    ]  # fmt: skip


def test_every_request_rejected_exits_nonzero_with_the_reason(tmp_path: Path) -> None:
    server = StubServer(outcomes=OutcomeModes(reject_status=400))
    server.start_in_thread()
    try:
        out = budget(*run_args(server.url, tmp_path / "r.db"), "--json")
        table = budget(*run_args(server.url, tmp_path / "r.db"))
    finally:
        server.stop()
    assert out.returncode == 7, out.stderr
    doc = json.loads(out.stdout)
    assert doc["status"] == "failed" and doc["samples"] == 0 and "every request was rejected" in doc["error"]
    assert out.stderr.startswith("budget: error: every request was rejected") and out.stderr.count("\n") == 1
    assert table.returncode == 7 and "failed: every request was rejected" in table.stdout
    runs = json.loads(budget("runs", "--db", str(tmp_path / "r.db"), "--json").stdout)["runs"]
    assert [r["status"] for r in runs] == ["failed", "failed"]
    assert all("every request was rejected" in r["reason"] for r in runs)


def test_stopped_server_is_one_line_at_once(tmp_path: Path) -> None:
    out = budget(*run_args("http://127.0.0.1:9", tmp_path / "r.db"), "--json")
    assert out.returncode == 7 and out.stdout == ""
    assert "cannot reach the server at http://127.0.0.1:9/v1" in out.stderr and out.stderr.count("\n") == 1
