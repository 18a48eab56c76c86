"""`budget local` on the command line: JSON contracts and one-line errors (no build needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def budget(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )


def test_status_of_an_empty_cache(tmp_path: Path) -> None:
    out = budget("local", "status", "--dir", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1
    assert doc["server_installed"] is None and doc["models"] == [] and doc["servers"] == []
    assert doc["available"] == ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]


def test_stop_with_nothing_running(tmp_path: Path) -> None:
    out = budget("local", "stop", "--dir", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["stopped"] == []


def test_start_without_install_is_one_line_with_the_fix(tmp_path: Path) -> None:
    out = budget("local", "start", "--dir", str(tmp_path), "--port", "8089")
    assert out.returncode == 7  # BackendError
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "run `budget local install`" in out.stderr


def test_unknown_model_is_an_input_error(tmp_path: Path) -> None:
    out = budget("local", "install", "--dir", str(tmp_path), "--model", "qwen2.5-coder-7b")
    assert out.returncode == 2
    assert "unknown local model 'qwen2.5-coder-7b'" in out.stderr
    assert not (tmp_path / "venv").exists()  # nothing was built for a bad name
