"""The documented contracts: JSON Schemas of every ``--json`` output, from the pydantic models.

Each command's ``--json`` document is one pydantic model (``budget plan`` with several
budgets: a :class:`~budget.service.planning.PlanSweep`); its JSON Schema (serialization mode:
money is a JSON number) is generated here, printed by ``budget schema COMMAND`` and published
in ``docs/schemas/COMMAND.schema.json``.  tests/cli/test_schemas.py fails when a published file
differs from the models or when a command's output does not validate against it.

A new command with ``--json`` adds one line to :data:`OUTPUTS` (``module:Class``, imported
only when asked) and runs ``budget schema --write docs/schemas``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from budget import SCHEMA_VERSION
from budget.errors import UnknownNameError

#: Significant digits of a float in a JSON document: binary-float noise (80.10000000000001,
#: an artefact of cov x problems) lies below it, every measured quantity above it.
FLOAT_DIGITS = 12

#: Command (subcommands joined by a space) -> the model(s) its --json prints.
OUTPUTS: dict[str, tuple[str, ...]] = {
    "plan": (
        "budget.planner.models:PlanResult",
        "budget.service.planning:PlanSweep",
        "budget.service.verifier_planning:VerifiedPlanResult",
    ),
    "models": ("budget.service.listing:ModelListing",),
    "pricing show": ("budget.service.listing:PriceListing",),
    "fit": ("budget.service.fitting:FitResult", "budget.service.calibration:CalibrationResult"),
    "tasks": ("budget.service.tasks:TaskListing",),
    "verify": ("budget.service.verification:VerifyReport",),
    "run": ("budget.service.running.request:RunResult",),
    "calibrate": ("budget.service.calibration:CalibrationResult",),
    "runs": ("budget.service.store_view:RunList",),
    "show": ("budget.service.store_view:RunDetail",),
    "export": ("budget.service.store_view:ExportResult",),
    "check": ("budget.service.check:CheckResult", "budget.service.check:CheckAllResult"),
    "import": ("budget.service.importing:ImportResult",),
    "report": ("budget.service.reporting:Report",),
    "backtest": ("budget.service.backtest:BacktestResult",),
    "local install": ("budget.service.local_model:InstallResult",),
    "local start": ("budget.service.local_model:ServerInfo",),
    "local stop": ("budget.service.local_model:StopResult",),
    "local status": ("budget.service.local_model:StatusResult",),
}


def _load(ref: str) -> type:
    module, _, name = ref.partition(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


def schema(command: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``command``'s ``--json`` output."""
    key = " ".join(command.replace("-", " ").split()) if command not in OUTPUTS else command
    if key not in OUTPUTS:
        raise UnknownNameError("command", command, list(OUTPUTS))
    types = [_load(ref) for ref in OUTPUTS[key]]
    target: Any = types[0] if len(types) == 1 else _union(types)
    out = TypeAdapter(target).json_schema(mode="serialization")
    for cls in types:  # every document carries its schema_version: required, and this one
        body = out if len(types) == 1 else out["$defs"][cls.__name__]
        if "schema_version" in body.get("properties", {}):
            body["properties"]["schema_version"]["const"] = SCHEMA_VERSION
            body["required"] = sorted({*body.get("required", []), "schema_version"})
    out = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"budget/{file_name(key)}",
        "description": f"The output of `budget {key} --json`.",
        **out,
    }
    return out


def _union(types: list[type]) -> Any:
    from typing import Union

    return Union[tuple(types)]  # noqa: UP007 - a runtime union of several model classes


def file_name(command: str) -> str:
    """The published file of ``command``'s schema (``pricing show`` -> ``pricing-show.schema.json``)."""
    return command.replace(" ", "-") + ".schema.json"


def render(command: str) -> str:
    """``command``'s JSON Schema as published (sorted keys, two-space indent, final newline)."""
    return json.dumps(schema(command), indent=2, sort_keys=True) + "\n"


def write_all(directory: Path) -> list[Path]:
    """Write every command's schema into ``directory`` (the published copies)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for command in OUTPUTS:
        path = directory / file_name(command)
        path.write_text(render(command), encoding="utf-8")
        written.append(path)
    return written


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{FLOAT_DIGITS}g}") if value == value and abs(value) != float("inf") else value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def to_json(document: BaseModel) -> str:
    """A ``--json`` document: the model's JSON with floats at :data:`FLOAT_DIGITS` digits."""
    return json.dumps(_clean(json.loads(document.model_dump_json())), indent=2, ensure_ascii=False)
