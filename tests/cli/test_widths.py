"""Every command's terminal output at 80 and 120 columns (issue 13, item 1): no line wider than
the terminal and nothing cut with an ellipsis (rich's sign of a truncated cell)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

COMMANDS = [
    ["plan", "--dollars", "50"],
    ["plan", "--dollars", "10,50,500"],
    ["plan", "--dollars", "5000", "--task", "math", "--policy", "until-pass"],
    ["models"],
    ["pricing", "show", "gpt-4o", "deepseek-coder-v2-instruct", "h100-80gb"],
    ["tasks"],
    ["runs"],
    ["report", "--task", "swe-bench-lite", "--dollars", "50"],
]


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_output_fits_the_terminal(args: list[str], width: int) -> None:
    env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "VIRTUAL_ENV", "BUDGET_DB")}
    out = subprocess.run(
        [sys.executable, "-c", "from budget.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**env, "COLUMNS": str(width), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, too_wide[:3]
    assert "…" not in out.stdout, [line for line in lines if "…" in line][:3]
