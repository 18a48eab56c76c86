"""``budget fit`` end to end through the real entry point (budget.cli.main) in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HEADER = "model,problem_id,num_samples,num_correct\n"


def run_budget(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from budget.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def synthetic_counts(
    path: Path, models: dict[str, tuple[float, float]], problems: int = 60, n: int = 200
) -> Path:
    rng = np.random.default_rng(5)
    lines = [HEADER]
    for model, (a, b) in models.items():
        p = rng.beta(a, b, size=problems)
        c = rng.binomial(n, p)
        lines += [f"{model},{i},{n},{int(ci)}\n" for i, ci in enumerate(c)]
    path.write_text("".join(lines))
    return path


def test_json_output_has_the_contract_fields(tmp_path: Path) -> None:
    counts = synthetic_counts(tmp_path / "counts.csv", {"small": (0.2, 6.0), "big": (0.4, 2.0)})
    export = tmp_path / "out" / "fit.json"
    proc = run_budget(
        "fit", str(counts), "--predict", "10", "--predict", "1000", "--json", "--export", str(export)
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["schema_version"] == 1
    assert json.loads(export.read_text()) == data
    assert [m["model"] for m in data["models"]] == ["small", "big"]
    for m in data["models"]:
        assert m["fitter"] in {"power_law_lsq", "beta_binomial", "zero_beta_binomial"}
        assert m["params"]
        assert [p["k"] for p in m["predictions"]] == [10, 1000]
        for p in m["predictions"]:
            lo, hi = p["interval"]
            assert 0 <= lo <= p["coverage"] <= hi <= 1
        # k = 1000 is 5x past 200 samples: flagged by its ratio
        assert m["predictions"][1]["extrapolation"] == pytest.approx(5.0)
    small, big = data["models"]
    assert small["predictions"][0]["coverage"] < big["predictions"][0]["coverage"]


def test_table_output(tmp_path: Path) -> None:
    counts = synthetic_counts(tmp_path / "counts.csv", {"m1": (0.3, 3.0)})
    proc = run_budget("fit", str(counts), "--predict", "50", "--fitter", "beta_binomial")
    assert proc.returncode == 0, proc.stderr
    assert "m1" in proc.stdout and "beta_binomial" in proc.stdout and "90% interval" in proc.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty"),
        ("model,problem_id,num_samples\nm,1,10\n", "num_correct"),
        (HEADER, "no rows"),
        (HEADER + "m,1,10,11\n", "exceeds"),
        (HEADER + "m,1,10,-1\n", "negative"),
        (HEADER + "m,1,10,2.5\n", "whole number"),
        (HEADER + "m,1,ten,2\n", "not a number"),
        (HEADER + "m,1,10,10\nm,2,10,10\n", "no curve shape"),
    ],
)
def test_bad_counts_give_one_line_and_nonzero_exit(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    proc = run_budget("fit", str(path))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_a_never_solved_model_is_an_upper_bound_not_an_error(tmp_path: Path) -> None:
    """Issue 11 item 5: zero successes still bound coverage; the file's other models are fitted."""
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "never,1,10,0\nnever,2,10,0\nnever,3,10,0\n")
    proc = run_budget("fit", str(path), "--json", "--predict", "1")
    assert proc.returncode == 0, proc.stderr
    [model] = json.loads(proc.stdout)["models"]
    assert model["fitter"] == "zero_success_bound"
    [pred] = model["predictions"]
    assert pred["coverage"] == 0.0 and pred["interval"][1] == pytest.approx(1 - 0.05 ** (1 / 30))


def test_missing_file(tmp_path: Path) -> None:
    proc = run_budget("fit", str(tmp_path / "nope.csv"))
    assert proc.returncode == 2
    assert "not found" in proc.stderr and "Traceback" not in proc.stderr
