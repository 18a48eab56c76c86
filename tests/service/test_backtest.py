"""``budget backtest``: pilot, fit, predict, replay on held-back samples (issue 11).

The replay is checked against a reference written differently (exact binomial
coefficients with math.comb on small counts), the summary against its cases, and the whole
against a synthetic population with known per-problem success rates.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from budget.errors import InputError
from budget.service.backtest import BacktestRequest, _replayed, backtest, summarize

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "math-pythia-counts.csv"


def _write(path: Path, rows: dict[str, list[tuple[int, int]]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "problem_id", "num_samples", "num_correct"])
        for model, counts in rows.items():
            for i, (n, c) in enumerate(counts):
                w.writerow([model, f"p{i}", n, c])
    return path


def _population(seed: int, problems: int = 60, n: int = 400) -> list[tuple[int, int]]:
    """Per-problem rates from a Beta(0.3, 2) population (heavy left tail), n samples each."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.3, 2.0, problems)
    return [(n, int(x)) for x in rng.binomial(n, p)]


def test_replay_is_the_exact_expectation_over_held_back_samples() -> None:
    n = np.array([20, 20, 12])
    c = np.array([5, 0, 12])
    n_p = np.array([8, 8, 4])
    c_p = np.array([2, 0, 4])
    k = 6
    ref = np.mean(
        [
            1 - math.comb((nn - pn) - (cc - pc), k) / math.comb(nn - pn, k)
            for nn, cc, pn, pc in zip(n, c, n_p, c_p, strict=True)
        ]
    )
    got, short = _replayed(n, c, n_p, c_p, k)
    assert got == pytest.approx(ref, rel=1e-12) and not short
    # k beyond the 8 held-back samples of the last problem: replayed from all 12 recorded
    got, short = _replayed(n, c, n_p, c_p, 10)
    assert short
    ref10 = np.mean([1 - math.comb(12 - 5, 10) / math.comb(12, 10), 0.0, 1.0])
    assert got == pytest.approx(ref10, rel=1e-12)


def test_backtest_json_contract_and_summary(tmp_path: Path) -> None:
    counts = _write(tmp_path / "c.csv", {"a": _population(1), "b": _population(2)})
    req = BacktestRequest(source=str(counts), pilot_samples=20, predict=[100, 300], seeds=3, pilot="uniform")
    res = backtest(req)
    doc = json.loads(res.model_dump_json())
    assert doc["schema_version"] == 1 and doc["inputs"]["source"] == str(counts)
    case_keys = {"seed", "model", "pilot_samples", "k", "predicted_coverage", "interval", "replayed_coverage"}
    assert case_keys | {"predicted_cost", "replayed_cost"} <= set(doc["cases"][0])
    assert {"mae_points", "interval_hit_rate", "mean_interval_width_points"} <= set(doc["summary"])
    assert len(res.cases) == 2 * 2 * 3
    assert {c.seed for c in res.cases} == {0, 1, 2}
    assert all(c.pilot_samples == 20 for c in res.cases)
    s = summarize(res.cases)
    errs = [abs(c.predicted_coverage - c.replayed_coverage) for c in res.cases]
    assert res.summary.mae_points == pytest.approx(100 * sum(errs) / len(errs))
    assert res.summary == s
    assert 0 <= res.summary.interval_hit_rate <= 1
    for c in res.cases:
        assert 0 <= c.interval[0] <= c.interval[1] <= 1
        assert c.replayed_from == "held-back"


def test_backtest_on_a_known_population_is_close(tmp_path: Path) -> None:
    """60 problems x 400 samples, a 40-sample pilot predicting k = 300: within 8 points."""
    counts = _write(tmp_path / "c.csv", {"m": _population(3)})
    res = backtest(BacktestRequest(source=str(counts), pilot_samples=40, predict=[300], seeds=4))
    assert res.summary.mae_points < 8.0


def test_backtest_plans_a_budget_and_replays_its_cost(tmp_path: Path) -> None:
    counts = _write(tmp_path / "c.csv", {"m": _population(4)})
    req = BacktestRequest(
        source=str(counts),
        pilot_samples=10,
        dollars=Decimal("12"),
        prices=["m=0.002"],
        seeds=2,
        pilot="adaptive",
    )
    res = backtest(req)
    assert len(res.cases) == 2
    for c in res.cases:
        assert c.predicted_cost is not None and c.replayed_cost is not None
        assert c.predicted_cost <= Decimal("12") and c.replayed_cost <= Decimal("12")
        assert c.k >= 1
    assert "user-given" in res.inputs.costs["m"]


def test_pilot_dollars_buys_the_samples_it_pays_for(tmp_path: Path) -> None:
    counts = _write(tmp_path / "c.csv", {"m": _population(5)})
    res = backtest(
        BacktestRequest(
            source=str(counts),
            pilot_dollars=Decimal("6"),
            prices=["m=0.001"],
            predict=[200],
            seeds=1,
            pilot="uniform",
        )
    )
    assert res.cases[0].pilot_samples == pytest.approx(6000 / 60)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"pilot_samples": 5, "pilot_dollars": Decimal(1)}, "exactly one"),
        ({}, "exactly one"),
        ({"pilot_samples": 5, "dollars": Decimal(5)}, "cost per sample"),
        ({"pilot_samples": 5, "predict": [10_000]}, "exceeds"),
        ({"pilot_samples": 5, "prices": ["m=1,2"]}, "price per sample"),
        ({"pilot_samples": 5, "dollars": Decimal(-1)}, "positive"),
    ],
)
def test_bad_requests_are_input_errors(tmp_path: Path, kw: dict[str, object], message: str) -> None:
    counts = _write(tmp_path / "c.csv", {"m": _population(6)})
    with pytest.raises(InputError, match=message):
        backtest(BacktestRequest(source=str(counts), seeds=1, **kw))  # type: ignore[arg-type]


def test_cli_backtest_json(tmp_path: Path) -> None:
    counts = _write(tmp_path / "c.csv", {"m": _population(7)})
    code = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"
    args = [str(counts), "--pilot-samples", "20", "--predict", "100", "--seeds", "2", "--json"]
    out = subprocess.run(
        [sys.executable, "-c", code, "backtest", *args], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["cases"]) == 2 and doc["inputs"]["pilot"] == "adaptive"
    import jsonschema

    schema = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "backtest.schema.json"
    jsonschema.validate(doc, json.loads(schema.read_text(encoding="utf-8")))
    bad = subprocess.run(
        [sys.executable, "-c", code, "backtest", str(tmp_path / "nope.csv"), "--pilot-samples", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not DATA.exists(), reason="../shared/data/math-pythia-counts.csv is absent")
def test_pythia_backtest_runs_on_the_shared_data() -> None:
    res = backtest(
        BacktestRequest(
            source=str(DATA), pilot_samples=100, predict=[10_000], seeds=1, models=["pythia-6.9b"]
        )
    )
    assert len(res.cases) == 1 and res.cases[0].replayed_from == "all recorded"
    assert res.summary.mae_points < 15


def test_backtest_of_a_run_in_the_store_uses_its_measured_cost(tmp_path: Path) -> None:
    from budget.store import ProblemRecord, SampleRecord, Store
    from budget.verify.protocol import Outcome, Verdict

    ok = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.0)
    bad = Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0.0)
    db = str(tmp_path / "s.db")
    rng = np.random.default_rng(8)
    with Store(db) as store:
        store.add_task("t", [ProblemRecord(problem_id=f"p{i}") for i in range(30)])
        run = store.create_run("t", models=["m"])
        for i, p in enumerate(rng.beta(0.4, 1.5, 30)):
            for j in range(40):
                store.add_sample(
                    SampleRecord(
                        run_id=run.run_id,
                        model="m",
                        problem_id=f"p{i}",
                        sample_index=j,
                        cost=Decimal("0.001"),
                        verdicts={"verifier": ok if rng.random() < p else bad},
                    )
                )
    res = backtest(
        BacktestRequest(
            source=run.run_id, db=db, pilot_samples=8, dollars=Decimal("0.6"), seeds=2, pilot="uniform"
        )
    )
    assert res.inputs.task == "t" and res.inputs.problems == 30
    assert "measured" in res.inputs.costs["m"]
    for c in res.cases:
        assert c.replayed_cost is not None and c.replayed_cost <= Decimal("0.6")
    with pytest.raises(InputError, match="neither a counts file nor a run"):
        backtest(BacktestRequest(source="no-such-run", db=str(tmp_path / "absent.db"), pilot_samples=2))
