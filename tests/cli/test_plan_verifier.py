"""`budget plan --fp-cost/--verifier/--fp-rate`: the JSON contract and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from tests.cli.test_plan import budget

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "plan.schema.json"


def test_fp_cost_json_contract_with_a_stated_rate() -> None:
    out = budget(
        "plan", "--dollars", "50", "--task", "math", "--fp-cost", "4",
        "--fp-rate", "0.1", "--fp-rate-source", "Stroebl et al. 2024", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1 and doc["fp_cost"] == 4 and doc["verifier_assumption"] == "stated"
    assert doc["recommendation"]["headline"].startswith("[verifier: stated, fp cost 4]")
    for alt in doc["alternatives"]:
        assert alt["verifier"] == "stated"
        assert alt["k_star"] <= alt["k_perfect"]
        assert {"expected_true_positives", "expected_false_positives", "expected_utility"} <= set(alt)
        assert all({"k", "utility"} == set(p) for p in alt["utility_curve"])
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))  # the published contract


def test_perfect_verifier_is_the_default_without_data() -> None:
    out = budget("plan", "--dollars", "50", "--task", "math", "--fp-cost", "4", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {a["verifier"] for a in doc["alternatives"]} == {"perfect"}
    assert all(a["expected_false_positives"] == 0 for a in doc["alternatives"])


def test_bad_verifier_options_are_one_line_errors() -> None:
    for args in (
        ["--fp-rate", "2", "--fp-rate-source", "x"],
        ["--fp-rate", "0.1"],  # no source
        ["--verifier", "oracle"],
        ["--verifier", "measured"],  # no two-tier data without a store
        ["--verifier", "none"],  # no answers either
        ["--fp-cost", "-1"],
    ):
        out = budget("plan", "--dollars", "50", "--task", "math", *args)
        assert out.returncode != 0, args
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
