"""Published JSON Schemas (issue 13, item 5): docs/schemas matches the pydantic models, every
command with ``--json`` has one, and real outputs validate against the published files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from typer.testing import CliRunner

from budget.cli import _register, app
from budget.service.contracts import OUTPUTS, file_name, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
runner = CliRunner()


def _invoke(*args: str) -> str:
    _register(None)
    result = runner.invoke(app, list(args), env={"COLUMNS": "120"})
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def _published(command: str) -> dict[str, Any]:
    return json.loads((DOCS / file_name(command)).read_text(encoding="utf-8"))


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_published_schema_matches_the_models(command: str) -> None:
    path = DOCS / file_name(command)
    assert path.is_file(), f"{path} missing: run budget schema --write docs/schemas"
    assert path.read_text(encoding="utf-8") == render(command), (
        f"{path} is out of date: run budget schema --write docs/schemas"
    )
    jsonschema.Draft202012Validator.check_schema(_published(command))


def test_no_stale_schema_files() -> None:
    assert {p.name for p in DOCS.glob("*.schema.json")} == {file_name(c) for c in OUTPUTS}


def _json_commands() -> set[str]:
    _register(None)
    root = typer.main.get_command(app)
    found: set[str] = set()

    def walk(cmd: Any, prefix: str) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, f"{prefix} {name}".strip())
        elif any("--json" in getattr(p, "opts", ()) for p in cmd.params):
            found.add(prefix)

    walk(root, "")
    return found


def test_every_json_command_publishes_a_schema() -> None:
    missing = _json_commands() - set(OUTPUTS)
    assert not missing, f"--json without a published schema: {sorted(missing)} (add to contracts.OUTPUTS)"


def _fit_csv(tmp_path: Path) -> Path:
    lines = ["model,problem_id,num_samples,num_correct"]
    for i in range(30):
        lines.append(f"m,p{i},20,{(i * 7) % 21}")
    path = tmp_path / "counts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("plan", ["plan", "--dollars", "50", "--json"]),
        ("plan", ["plan", "--dollars", "10,50,500", "--json"]),
        ("plan", ["plan", "--dollars", "5", "--task", "math", "--policy", "until-pass", "--json"]),
        ("models", ["models", "--json"]),
        ("pricing show", ["pricing", "show", "gpt-4o", "--json"]),
        ("tasks", ["tasks", "--json"]),
        ("runs", ["runs", "--json"]),
        ("report", ["report", "--task", "swe-bench-lite", "--dollars", "50", "--json"]),
        ("fit", ["fit", "COUNTS", "--json"]),
    ],
)
def test_outputs_validate_against_published_schemas(command: str, args: list[str], tmp_path: Path) -> None:
    args = [str(_fit_csv(tmp_path)) if a == "COUNTS" else a for a in args]
    doc = json.loads(_invoke(*args))
    jsonschema.validate(doc, _published(command))
    assert doc["schema_version"] == 1


def test_a_changed_output_no_longer_validates() -> None:
    doc = json.loads(_invoke("plan", "--dollars", "50", "--json"))
    del doc["recommendation"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, _published("plan"))
    doc = json.loads(_invoke("plan", "--dollars", "50", "--json"))
    doc["schema_version"] = 2
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, _published("plan"))


def test_json_has_no_float_noise() -> None:
    text = _invoke("plan", "--dollars", "50", "--json")
    numbers = [float(x) for x in __import__("re").findall(r"-?\d+\.\d+(?:e-?\d+)?", text)]
    assert all(len(repr(x).replace("-", "").replace(".", "").lstrip("0")) <= 13 for x in numbers)
    assert "80.10000000000001" not in text


def test_schema_command_prints_and_rejects_unknown() -> None:
    assert json.loads(_invoke("schema", "pricing", "show"))["$id"] == "budget/pricing-show.schema.json"
    assert "plan" in _invoke("schema").split()
    _register(None)
    bad = runner.invoke(app, ["schema", "nonesuch"])
    assert bad.exit_code != 0
