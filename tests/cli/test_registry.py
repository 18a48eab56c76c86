"""The command registry: ``budget.cli.COMMAND_MODULES`` names the module of every command."""

from __future__ import annotations

import subprocess
import sys

import typer.main

import budget.cli as cli


def _names(app: typer.Typer) -> set[str]:
    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    groups = {g.name or "" for g in app.registered_groups}
    return commands | groups


def test_every_registered_command_is_in_the_map_with_its_module() -> None:
    cli._register()  # all modules
    assert _names(cli.app) == set(cli.COMMAND_MODULES)
    for name, module in cli.COMMAND_MODULES.items():
        owners = [
            c.callback.__module__
            for c in cli.app.registered_commands
            if c.name == name and c.callback is not None
        ] + [
            g.typer_instance.registered_commands[0].callback.__module__
            for g in cli.app.registered_groups
            if g.name == name and g.typer_instance and g.typer_instance.registered_commands
        ]  # fmt: skip
        assert owners == [f"budget.cli.{module}"], name
    assert set(typer.main.get_command(cli.app).commands) == set(cli.COMMAND_MODULES)  # type: ignore[attr-defined]


def test_a_command_imports_only_its_module_and_help_lists_all() -> None:
    code = (
        "import sys; import budget.cli as c; c._register(['plan', '--dollars', '5']);"
        "print(sorted(m for m in sys.modules if m.startswith('budget.cli.') and '._' not in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['budget.cli.plan']"
    code = "import sys; from budget.cli import main; sys.argv = ['budget', '--help']; main()"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env={"COLUMNS": "200"}
    )
    for name in cli.COMMAND_MODULES:
        assert name in out.stdout, name
