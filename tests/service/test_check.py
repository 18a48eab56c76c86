"""`budget check`: predictions stored at the start of every run, checked against verified results
(issue 12, "budget check RUN_ID" and "budget check --all")."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from tests.fakes.stub_server import FaultMix, StubServer

from budget.curves import CoverageCurve
from budget.service.check import check_all, check_run
from budget.service.predictions import _numbers, store_predictions
from budget.store import ProblemRecord, SampleRecord, Store
from budget.verify.protocol import Outcome, Verdict

PASS = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.0)
FAIL = Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0.0)


def _curve(a: float, b: float, draws: list[list[float]] | None = None, task: str = "toy") -> CoverageCurve:
    return CoverageCurve(
        model="m",
        task=task,
        form="power_law",
        params={"a": a, "b": b},
        draws=draws or [],
        max_observed_k=10,
        n_problems=50,
    )


def _synthetic_run(
    store: Store, problems: int, k: int, q: float, rng: np.random.Generator, task: str = "toy"
) -> str:
    """A run where every problem is solved (on both tiers) with probability q: known truth."""
    store.add_task(task, [ProblemRecord(problem_id=f"p{i}") for i in range(problems)])
    run = store.create_run(task, models=["m"], cap=Decimal("1"), settings={"request": {"policy": "fixed"}})
    samples = []
    for i in range(problems):
        solved = rng.random() < q
        for j in range(k):
            ok = solved and j == 0
            samples.append(
                SampleRecord(
                    run_id=run.run_id,
                    model="m",
                    problem_id=f"p{i}",
                    sample_index=j,
                    cost=Decimal("0.001"),
                    verdicts={"verifier": PASS if ok else FAIL, "ground_truth": PASS if ok else FAIL},
                )
            )
    store.add_samples(samples)
    return run.run_id


def test_no_curve_is_stored_as_no_prediction_and_the_check_says_so(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with Store(db) as s:
        run_id = _synthetic_run(s, 10, 2, 0.5, np.random.default_rng(0))
        [rec] = store_predictions(s, run_id, "toy", [("m", 10, 2)], "fixed")
        assert rec.curve is None and "no prediction" in rec.reason
    result = check_run(run_id, db, refit=False)
    [m] = result.models
    assert m.predicted is None and m.inside is None and m.z is None and "no prediction" in m.note
    assert m.verified.tier == "ground_truth" and m.samples == 20


def test_the_prediction_is_the_stored_one_and_the_verdict_follows_it(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    rng = np.random.default_rng(1)
    with Store(db) as s:
        curve = _curve(np.log(0.6), -0.5, [[np.log(0.6) * f, -0.5] for f in (0.95, 1.0, 1.05)])
        s.save_curve(curve, problems=50, samples=500)
        run_id = _synthetic_run(s, 40, 4, 0.0, rng)  # nothing solved: far below the curve
        [rec] = store_predictions(s, run_id, "toy", [("m", 40, 4)], "fixed")
        assert rec.curve is not None and rec.curve.form == "power_law"
        assert rec.coverage == pytest.approx(float(curve.coverage([4])[0]))
        # a later curve does not change what this run was predicted to do
        s.save_curve(_curve(np.log(0.1), -0.5), problems=50, samples=500)
        assert store_predictions(s, run_id, "toy", [("m", 40, 4)], "fixed")[0].coverage != rec.coverage
        assert s.predictions([run_id])[0].coverage == rec.coverage
    result = check_run(run_id, db, refit=False)
    [m] = result.models
    assert m.predicted is not None and m.inside is False and m.z is not None and m.z < -3
    assert m.verified.coverage == 0.0 and m.actual_cost == Decimal("0.16")
    # measured cost: every stored sample cost $0.001 (mean = max), so the interval is a point
    assert m.predicted.cost == Decimal("0.16")
    assert m.predicted.cost_interval == (Decimal("0.16"), Decimal("0.16"))
    assert m.predicted.samples == 160


def test_intervals_hold_90_percent_on_a_population_with_known_truth() -> None:
    """Every problem solved with probability q = exp(a k^b): the stored 90% interval for the share
    solved must contain the realised share about 90% of the time (discreteness: at least)."""
    a, b, k, problems = np.log(0.45), -0.3, 8, 60
    q = float(np.exp(a * k**b))
    curve = _curve(a, b)
    numbers = _numbers(curve, [(problems, k)], "fixed", None, seed=0)
    lo, hi = numbers["interval"]  # type: ignore[misc]
    rng = np.random.default_rng(3)
    shares = rng.binomial(problems, q, size=4000) / problems
    inside = float(np.mean((shares >= lo - 1e-12) & (shares <= hi + 1e-12)))
    assert 0.88 <= inside <= 0.99
    assert numbers["coverage"] == pytest.approx(q)


def test_until_pass_predicts_the_samples_bought() -> None:
    """E[samples per problem] = sum_{j<k} (1 - c(j)): for c(k) = 1 - (1-p)^k exactly a truncated
    geometric mean, (1 - (1-p)^k) / p (a reference computed differently)."""
    p, k, problems = 0.3, 6, 10
    # exp(a k^b) cannot be 1-(1-p)^k exactly; instead check the sum directly against the curve
    curve = _curve(np.log(0.5), -0.7)
    numbers = _numbers(curve, [(problems, k)], "until-pass", None, seed=0)
    expected = sum(1 - (float(curve.coverage([j])[0]) if j else 0.0) for j in range(k)) * problems
    assert numbers["samples"] == pytest.approx(expected)
    assert 0 < numbers["samples"] < problems * k  # type: ignore[operator]
    geometric = (1 - (1 - p) ** k) / p
    assert geometric == pytest.approx(sum((1 - p) ** j for j in range(k)))


def test_check_all_reports_the_share_inside(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    rng = np.random.default_rng(5)
    a, b, k = np.log(0.5), -0.4, 3
    q = float(np.exp(a * k**b))
    with Store(db) as s:
        s.save_curve(_curve(a, b), problems=50, samples=500)
        for _ in range(12):
            run_id = _synthetic_run(s, 30, k, q, rng)
            store_predictions(s, run_id, "toy", [("m", 30, k)], "fixed")
        none_id = _synthetic_run(s, 5, 1, 0.5, rng, task="other")
        store_predictions(s, none_id, "other", [("m", 5, 1)], "fixed")
    result = check_all(db)
    cal = result.calibration
    assert cal.checks == 12 and result.no_prediction == 1
    assert cal.share_inside is not None and cal.share_inside >= 0.6  # 12 draws of a 90% event
    assert cal.per_model["m"]["checks"] == 12
    assert [p.samples for p in result.drift["toy"]["m"]] == [500]


# --- a real run on the stub server: prediction at the start, check, refit, re-plan -------------
@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer(faults=FaultMix(), seed=3)
    server.start_in_thread()
    yield server
    server.stop()


def _sandbox_or_skip() -> None:
    from budget.errors import BudgetError
    from budget.service.verification import verify_one

    try:
        verify_one("humaneval", "HumanEval/0", "    return False\n")
    except BudgetError as exc:
        pytest.skip(f"verification unavailable here: {exc}")


def test_run_check_refit_round_trip_on_the_stub(stub: StubServer, tmp_path: Path) -> None:
    _sandbox_or_skip()
    from budget.service.calibration import fit_from_store
    from budget.service.running import RunRequest, execute_run
    from budget.service.store_view import list_runs, show_run

    db = f"sqlite:///{tmp_path / 'runs.db'}"
    base = {
        "task": "humaneval",
        "models": ["stub"],
        "dollars": Decimal("1"),
        "api_base": stub.url,
        "prices": ["stub=3,15"],
        "db": db,
        "timeout_s": 5.0,
        "backoff_base_s": 0.01,
    }
    first = execute_run(RunRequest.model_validate({**base, "problems": 8, "samples": 4}))
    assert check_run(first.run_id, db, refit=False).models[0].predicted is None  # no curve yet
    with Store(db) as s:
        fits = fit_from_store(s, "humaneval", ["stub"])
    assert fits[0].status == "fitted", fits[0].reason
    second = execute_run(RunRequest.model_validate({**base, "problems": 8, "samples": 2}))
    result = check_run(second.run_id, db)
    [m] = result.models
    assert m.predicted is not None and m.predicted.cost is not None
    assert m.samples == second.samples and m.actual_cost == second.models[0].spent
    shown = show_run(second.run_id, db)
    assert m.verified.solved == shown.models[0].solved_ground_truth
    assert shown.stop_reason == "completed" and shown.error == ""
    assert result.refit is not None and result.refit.after is not None and result.refit.before is not None
    assert result.refit.fits[0]["status"] == "fitted"
    listed = {r.run_id: r for r in list_runs(db).runs}
    assert listed[second.run_id].solved_ground_truth == shown.models[0].solved_ground_truth
    assert listed[second.run_id].spent == second.spent
    assert check_all(db).calibration.checks == 1


def test_actual_cost_is_the_bill_not_the_samples(tmp_path: Path) -> None:
    """A request that was sent and lost (a dropped reply) is billed but carries no sample: a
    model's actual cost in `check` and `show` is what its ledger holds, the run's spend (seen on
    the real local model: check said $0.00147 where the run spent $0.00223)."""
    from budget.service.running import RunRequest, execute_run
    from budget.service.store_view import show_run

    server = StubServer(faults=FaultMix(drop=0.3), seed=5)
    server.start_in_thread()
    try:
        db = f"sqlite:///{tmp_path / 'runs.db'}"
        request = {
            "task": "humaneval", "models": ["stub"], "dollars": Decimal("1"), "api_base": server.url,
            "prices": ["stub=3,15"], "db": db, "timeout_s": 5.0, "backoff_base_s": 0.01,
            "problems": 6, "samples": 3, "verify": "none",
        }  # fmt: skip
        run = execute_run(RunRequest.model_validate(request))
    finally:
        server.stop()
    with Store(db) as s:
        samples_cost = sum((r.cost for r in s.samples(run_id=run.run_id)), Decimal(0))
    assert run.spent > samples_cost  # some money went to requests that left no sample
    [m] = check_run(run.run_id, db, refit=False).models
    assert m.actual_cost == run.spent
    assert show_run(run.run_id, db).models[0].spent == run.spent
