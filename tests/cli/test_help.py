"""Help and conventions (issue 13, item 5): every command's help at 80 columns shows no Python
types, flags take no value, choices are listed, required options are marked, no literal RST,
and ``--version`` works."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from budget import __version__
from budget.cli import _register, app

runner = CliRunner()


def _commands() -> list[list[str]]:
    _register(None)
    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            found.append(path)

    walk(root, [])
    return found


def _help(*path: str) -> str:
    _register(None)
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.output


COMMANDS = _commands()


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_help_reads_cleanly_at_80_columns(path: list[str]) -> None:
    text = _help(*path)
    assert max(len(line) for line in text.splitlines()) <= 80
    leaked = re.findall(r"<(?:bool|str|int|float|list\[[^>]*\]|path)>", text)
    assert not leaked, f"Python types in help: {leaked}"
    assert "``" not in text and ":class:" not in text, "literal RST in help"
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert not re.search(r"\{[a-z_]+\}", usage), f"argument without a metavar: {usage.strip()}"


def test_flags_take_no_value() -> None:
    text = _help("plan")
    line = next(x for x in text.splitlines() if "--hard-cap" in x)
    assert "BOOL" not in line.upper().replace("--HARD-CAP", "")
    assert re.search(r"--hard-cap\s+Plan", line)


@pytest.mark.parametrize("command", ["plan", "run"])
def test_policy_is_a_choice_everywhere(command: str) -> None:
    assert "[fixed|until-pass]" in _help(command)


def test_required_options_are_marked() -> None:
    text = _help("plan")
    assert re.search(r"\*\s+--dollars", text)
    run = _help("run")
    words = " ".join(w for w in run.split() if w != "│")
    assert "Required unless --plan or --resume" in words


def test_money_and_prices_have_metavars() -> None:
    assert "USD[,USD...]" in _help("plan")
    assert "MODEL=IN,OUT" in _help("run")


def test_version() -> None:
    _register(None)
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"budget {__version__}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan"], "Missing option '--dollars'"),
        (["plan", "--dollars", "5", "--policy", "sometimes"], "'sometimes' is not one of"),
        (["plan", "--dollars", "5", "--hard-cap", "true"], "unexpected extra argument"),
        (["plan", "--dollars", "5", "--bogus"], "No such option: --bogus"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], message: str) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "from budget.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("budget: error:") and out.stderr.count("\n") == 1, out.stderr
    assert message.lower() in out.stderr.lower()
