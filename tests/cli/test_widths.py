"""Every command's terminal output at 80 and 120 columns (issue 13, item 1): no line wider than
the terminal and nothing cut with an ellipsis (rich's sign of a truncated cell)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

COMMANDS = [
    ["plan", "--dollars", "50"],
    ["plan", "--dollars", "10,50,500"],
    ["plan", "--dollars", "5000", "--task", "math", "--policy", "until-pass"],
    ["models"],
    ["pricing", "show", "gpt-4o", "deepseek-coder-v2-instruct", "h100-80gb"],
    ["pricing", "show"],
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


def _budget(width: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "VIRTUAL_ENV", "BUDGET_DB")}
    return subprocess.run(
        [sys.executable, "-c", "from budget.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**env, "COLUMNS": str(width), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def _fits(out: subprocess.CompletedProcess[str], width: int) -> list[str]:
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert not [line for line in lines if len(line) > width], lines
    assert "…" not in out.stdout
    return lines


@pytest.mark.parametrize("width", [80, 120])
def test_fit_reads_cleanly(tmp_path: Path, width: int) -> None:
    """`budget fit`: the heading was a table title wrapped at the table's width (``up to k`` /
    ``= 10,000``) and a `note` column was cut; now the heading is one line and the table is
    the shared fitted table.  Synthetic counts, predictions far past the data."""
    rng = np.random.default_rng(3)
    rows = ["model,problem_id,num_samples,num_correct"]
    for model in ("deepseek-coder-v2-instruct-with-a-long-name", "small"):
        rows += [f"{model},{p},100,{rng.binomial(100, rng.beta(0.3, 4))}" for p in range(40)]
    counts = tmp_path / "counts.csv"
    counts.write_text("\n".join(rows) + "\n")
    out = _budget(width, "fit", str(counts), "-k", "1", "-k", "1000000", "-k", "100000000")
    lines = _fits(out, width)
    assert any(line.endswith("pass@k measured up to k = 100") for line in lines), lines[:3]
    assert "1,000,000x" in out.stdout and "100,000,000" in out.stdout  # never cut, with separators


@pytest.mark.parametrize("width", [80, 120])
def test_fit_on_the_shared_pythia_counts(shared_data: Path, width: int) -> None:
    lines = _fits(_budget(width, "fit", str(shared_data / "math-pythia-counts.csv")), width)
    headings = [line for line in lines if " on MATH: " in line]
    assert headings == [f"{m} on MATH: 128 problems, pass@k measured up to k = 10,000" for m in (
        "pythia-1b", "pythia-410m", "pythia-6.9b", "pythia-70m")]  # fmt: skip
    assert not any(line.strip() == "0.0%" or " 0.0% " in line for line in lines)  # 70m's pass@1 is 0.04%


@pytest.mark.parametrize("width", [80, 120])
def test_verify_on_the_shared_samples(shared_data: Path, tmp_path: Path, width: int) -> None:
    from budget.verify.sandbox import probe

    if not probe().available:
        pytest.skip("no sandbox here")
    samples = tmp_path / "head.jsonl"  # the first 40 rows: four problems, both modes' first collection
    shared = shared_data / "humaneval-qwen2.5-coder-0.5b-samples.jsonl"
    samples.write_text("".join(shared.read_text().splitlines(keepends=True)[:40]))
    args = ["verify", "--task", "humaneval", "--samples", str(samples), "--tier", "both"]
    lines = _fits(_budget(width, *args), width)
    names = [line.split()[0] for line in lines if line.startswith(" qwen") or line.startswith(" 0.5b")]
    assert names and all(n.startswith("qwen2.5-coder-") or n.endswith("-") for n in names), names


def _help_commands() -> list[list[str]]:
    import typer

    from budget.cli import _register, app

    _register(None)
    found: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            found.append(path)

    walk(typer.main.get_command(app), [])
    return found


HELP_COMMANDS = _help_commands()


@pytest.mark.parametrize("path", HELP_COMMANDS, ids=[" ".join(p) for p in HELP_COMMANDS])
def test_help_wraps_only_where_it_must(path: list[str]) -> None:
    """At 80 columns: a list of choices (``[auto|litellm|server|vllm]``) is never broken across
    lines (``[auto|litellm|server|v`` / ``llm]``), and the description above the options has
    no line broken early (the docstring's own line breaks: ``get an`` / ``'error' verdict``)."""
    out = _budget(80, *path, "--help")
    lines = _fits(out, 80)
    for line in lines:
        for token in line.replace("│", " ").split():
            opened = token.startswith("[") and "|" in token and not token.endswith(("]", "]..."))
            assert not opened, f"choices broken: {line!r}"
    top = lines[: next(i for i, line in enumerate(lines) if line.startswith("╭"))]
    text = [line.strip() for line in top if line.strip() and "Usage:" not in line]
    for before, after in itertools.pairwise(text):
        first = after.split()[0]
        fits = len(before) + 1 + len(first) <= 80 - 2  # the help's margins
        assert not fits or before.endswith((".", ":")), f"broken early: {before!r} / {after!r}"
