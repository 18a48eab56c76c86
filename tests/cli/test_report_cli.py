"""``budget report`` and ``budget plan --dollars A,B,C`` through the real entry point
(budget.cli.main, in a subprocess): tables, exports, a stored run with a measured verifier
false-positive rate, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest


def budget(*args: str, cwd: Path | None = None, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "VIRTUAL_ENV", "BUDGET_DB")}
    return subprocess.run(
        [sys.executable, "-c", "from budget.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={"COLUMNS": str(columns), "PATH": "/usr/bin:/bin", **env},
        timeout=300,
    )


def test_plan_several_budgets_is_one_table() -> None:
    out = budget("plan", "--dollars", "10,50,500")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for amount in ("$10.00", "$50.00", "$500.00"):
        assert sum(line.lstrip().startswith(amount) for line in lines) == 1, out.stdout
    assert "if your verifier recognises it" in " ".join(out.stdout.split())
    doc = json.loads(budget("plan", "--dollars", "10,50,500", "--json").stdout)
    assert [r["dollars"] for r in doc["rows"]] == [10, 50, 500] and len(doc["plans"]) == 3
    solved = [r["expected_solved"] for r in doc["rows"]]
    assert solved == sorted(solved)  # more money never predicts fewer solved


def test_plan_several_budgets_rejects_a_bad_one() -> None:
    out = budget("plan", "--dollars", "10,-5")
    assert out.returncode != 0 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_report_exports_html_and_markdown(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    args = ["--task", "swe-bench-lite", "--dollars", "50", "--html", "reports/", "--md", "reports/"]
    out = budget("report", *args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    files = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert files == [
        "swe-bench-lite-50usd-coverage.png",
        "swe-bench-lite-50usd-frontier.png",
        "swe-bench-lite-50usd.html",
        "swe-bench-lite-50usd.md",
    ]
    assert all(len(line) <= 80 for line in out.stdout.splitlines())
    assert "wrote reports/swe-bench-lite-50usd.html" in out.stderr


def _stored_run(db: Path) -> str:
    from budget.store.database import Store
    from budget.store.records import SampleRecord
    from budget.verify.protocol import Outcome, Verdict

    ok = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.1)
    bad = Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0.1)
    with Store(str(db)) as store:
        run = store.create_run("swe-bench-lite", models=["deepseek-coder-v2-instruct"], cap=Decimal(5))
        samples = []
        for i in range(20):  # the verifier accepts 10; the ground truth rejects 2 of those
            verifier = ok if i < 10 else bad
            truth = ok if i < 8 else bad
            samples.append(
                SampleRecord(
                    run_id=run.run_id,
                    model="deepseek-coder-v2-instruct",
                    problem_id=f"p{i}",
                    sample_index=0,
                    task="swe-bench-lite",
                    completion="x",
                    cost=Decimal("0.0072"),
                    verdicts={"verifier": verifier, "ground_truth": truth},
                )
            )
        store.add_samples(samples)
        return run.run_id


def test_report_of_a_run_shows_the_verifier_false_positive_rate(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    run_id = _stored_run(db)
    out = budget("report", run_id, "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["run"]["run_id"] == run_id and doc["run"]["samples"] == 20
    assert doc["verifier"] == [{"model": "deepseek-coder-v2-instruct", "accepted": 10, "wrongly_accepted": 2}]
    assert "2 wrong samples of 10" in doc["assumption"] and "20.0%" in doc["assumption"]
    # the budget check service answers: this run stored no prediction, so each model is skipped
    [item] = doc["check"]["items"]
    assert item["status"] == "skip" and "no prediction" in item["detail"]
    text = budget("report", run_id, "--db", str(db)).stdout
    assert "Verifier against the ground truth" in text and "20.0%" in text


def test_report_errors_are_one_line(tmp_path: Path) -> None:
    for args in (
        ["report"],
        ["report", "nosuchrun", "--db", str(tmp_path / "none.db")],
        ["report", "--dollars", "5"],
    ):
        out = budget(*args)
        assert out.returncode != 0, args
        assert out.stderr.startswith("budget: error:") and out.stderr.count("\n") == 1, out.stderr


def test_report_with_your_own_curves_shows_your_observed_points(tmp_path: Path) -> None:
    """After calibrate, the coverage chart's points are the user's pass@k, not the catalog's."""
    from budget.store.database import Store
    from budget.store.records import SampleRecord
    from budget.verify.protocol import Outcome, Verdict

    ok = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.1)
    bad = Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0.1)

    import numpy as np

    rng = np.random.default_rng(3)
    rates = rng.beta(0.4, 1.2, size=40)  # a realistic spread of per-problem success rates
    passed = [[bool(rng.random() < r) for _ in range(8)] for r in rates]
    db = tmp_path / "own.db"
    model = "deepseek-coder-v2-instruct"
    with Store(str(db)) as store:
        run = store.create_run("swe-bench-lite", models=[model], cap=Decimal(5))
        store.add_samples(
            SampleRecord(
                run_id=run.run_id,
                model=model,
                problem_id=f"p{i}",
                sample_index=j,
                task="swe-bench-lite",
                completion="x",
                cost=Decimal("0.0072"),
                verdicts={"verifier": ok if passed[i][j] else bad},
            )
            for i in range(40)
            for j in range(8)
        )
    fit = budget("calibrate", "--task", "swe-bench-lite", "--models", model, "--fit-only", "--db", str(db))
    assert fit.returncode == 0 and "not fitted" not in fit.stdout, fit.stdout + fit.stderr
    doc = json.loads(budget("report", run.run_id, "--db", str(db), "--json").stdout)
    curve = next(c for c in doc["curves"] if c["model"] == model)  # the run's own, then the catalog's
    # observed pass@1 is the share of accepted samples; the points stop at the 8 samples measured
    share = sum(map(sum, passed)) / (40 * 8)
    assert curve["observed"][0] == {"k": 1, "coverage": pytest.approx(share)}
    assert [p["k"] for p in curve["observed"]] == [1, 2, 4, 8]
    # measured costs are not called "published averages" (issue 13, item 4)
    assert not any("published averages" in a for a in doc["plan"]["assumptions"])


def test_plan_warns_once_per_model_and_cause() -> None:
    """DeepSeek sampled at k=2313 and k=2318 at $5,000: one extrapolation warning, not two."""
    doc = json.loads(budget("plan", "--dollars", "5000", "--json").stdout)
    extrapolations = [w for w in doc["warnings"] if "extrapolates" in w]
    assert len(extrapolations) == 1, doc["warnings"]
    assert "k=2,313-2,318" in extrapolations[0]


def test_until_pass_headline_reads_as_a_most() -> None:
    doc = json.loads(
        budget("plan", "--dollars", "5000", "--task", "math", "--policy", "until-pass", "--json").stdout
    )
    headline = doc["recommendation"]["headline"]
    assert "up to 100,000x per problem" in headline, headline
    assert not __import__("re").search(r"(?<![\d.])\d{4,}", headline), headline  # 1,000 not 1000
