"""service.fitting: reading counts files and fitting each model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import betaln

from budget.errors import DataError, UnknownNameError
from budget.service.fitting import FitRequest, fit_file, read_counts


def test_read_counts_groups_by_model_and_takes_the_dataset_as_task(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "dataset,model,problem_id,num_samples,num_correct\nMATH,a,1,10,3\nMATH,b,1,20,0\nMATH,a,2,10,10\n"
    )
    models = read_counts(path)
    assert [m.model for m in models] == ["a", "b"]
    assert models[0].num_samples == [10, 10] and models[0].num_correct == [3, 10]
    assert models[0].task == "MATH"
    assert read_counts(path, task="other")[1].task == "other"


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"\xef\xbb\xbfmodel,problem_id,num_samples,num_correct\r\na,1,10,3\r\na,2,10,0\r\n")
    (m,) = read_counts(path)
    assert m.model == "a" and m.num_correct == [3, 0] and m.task == "c"


def test_duplicate_problem_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("model,problem_id,num_samples,num_correct\na,1,10,3\na,1,10,4\n")
    with pytest.raises(DataError, match="twice"):
        read_counts(path)


def test_unknown_fitter(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("model,problem_id,num_samples,num_correct\na,1,10,3\n")
    with pytest.raises(UnknownNameError):
        fit_file(FitRequest(counts=path, fitter="spline"))


def test_fit_on_the_pythia_counts(shared_data: Path) -> None:
    result = fit_file(
        FitRequest(counts=shared_data / "math-pythia-counts.csv", predict=[100, 10_000, 1_000_000])
    )
    assert {m.model for m in result.models} == {"pythia-70m", "pythia-410m", "pythia-1b", "pythia-6.9b"}
    for m in result.models:
        obs = {o.k: o.pass_at_k for o in m.observed}
        pred = {p.k: p for p in m.predictions}
        # In-range predictions stay near the unbiased estimate of the same data.
        assert abs(pred[10_000].coverage - obs[10_000]) < 0.03, m.model
        lo, hi = pred[1_000_000].interval
        assert lo <= pred[1_000_000].coverage <= hi
        assert any("100x the largest observed k (10,000)" in w for w in m.warnings)
        assert set(m.scores) == {"power_law_lsq", "beta_binomial", "zero_beta_binomial"}
        assert np.isfinite(list(m.params.values())).all()


def test_interval_is_not_widened_to_hold_the_point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue 11 item 2: the service reports the curve's own interval, not one stretched to its point."""
    from budget.service import fitting

    path = tmp_path / "c.csv"
    rows = "".join(f"a,{i},10,{i % 4}\n" for i in range(40))
    path.write_text("model,problem_id,num_samples,num_correct\n" + rows)
    result = fit_file(FitRequest(counts=path, predict=[1, 100]))
    curve = result.models[0].curve
    # Draws read as they are (no fixed-task spread, which centres them on the point), moved off it.
    shifted = curve.model_copy(update={"draws": [[d[0] * 3, d[1]] for d in curve.draws], "spread": None})
    monkeypatch.setattr(fitting, "_curve_interval", lambda c, ks: shifted.interval(ks, fitting.LEVEL))
    result = fit_file(FitRequest(counts=path, predict=[1, 100]))
    pred = result.models[0].predictions[0]
    assert not (pred.interval[0] <= pred.coverage <= pred.interval[1])


def test_a_never_solved_model_gets_an_upper_bound_and_the_others_fit(tmp_path: Path) -> None:
    """Issue 11 item 5: one model with no success no longer fails the whole file."""
    path = tmp_path / "c.csv"
    rng = np.random.default_rng(0)
    rows = [f"good,{i},20,{int(rng.binomial(20, 0.3))}\n" for i in range(30)]
    rows += [f"never,{i},20,0\n" for i in range(30)]
    path.write_text("model,problem_id,num_samples,num_correct\n" + "".join(rows))
    result = fit_file(FitRequest(counts=path, predict=[1, 20, 10_000]))
    by = {m.model: m for m in result.models}
    assert by["good"].fitter != "zero_success_bound"
    never = by["never"]
    assert never.fitter == "zero_success_bound"
    preds = {p.k: p for p in never.predictions}
    # Point: nothing solved (the conservative figure a planner may use); upper end: 95% bound.
    assert preds[1].coverage == 0.0
    n_total = 30 * 20
    assert preds[1].interval[1] == pytest.approx(1 - 0.05 ** (1 / n_total), rel=1e-9)
    assert preds[20].interval[1] == pytest.approx(1 - 0.05 ** (20 / n_total), rel=1e-9)
    assert preds[1].interval[1] < preds[20].interval[1] < preds[10_000].interval[1] <= 1.0
    assert all(p.interval[0] == 0.0 for p in never.predictions)
    assert any("upper bound" in w for w in never.warnings)
    assert never.curve.coverage([1e6])[0] == 0.0


def test_until_pass_runs_in_the_store_are_fitted(tmp_path: Path) -> None:
    """Issue 11 item 8: until-pass runs were left out; their records are fitted (beta-geometric)."""
    from budget.service.fitting import fit_until_pass_store, until_pass_records
    from budget.store import SampleRecord, Store
    from budget.verify.protocol import Outcome, Verdict

    rng = np.random.default_rng(5)
    p = rng.beta(0.5, 4.0, size=120)
    cap = 20
    with Store(str(tmp_path / "s.db")) as store:
        fixed = store.create_run("t", models=["m"], settings={"request": {"policy": "fixed"}})
        run = store.create_run("t", models=["m"], settings={"request": {"policy": "until-pass"}})
        samples = []
        for i, rate in enumerate(p):
            outcomes = rng.random(cap + 1) < rate
            solved = bool(outcomes[:cap].any())
            # A solved problem has one sample in flight past its first pass: left out of the record.
            for j in range(int(np.argmax(outcomes)) + 2 if solved else cap):
                ok = bool(outcomes[j])
                verdict = Verdict(passed=ok, outcome=Outcome.PASS if ok else Outcome.FAIL, duration_s=0)
                samples.append(
                    SampleRecord(
                        run_id=run.run_id,
                        model="m",
                        problem_id=f"p{i}",
                        sample_index=j,
                        task="t",
                        verdicts={"tests": verdict},
                    )
                )
        fail = Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0)
        samples.append(
            SampleRecord(
                run_id=fixed.run_id,
                model="m",
                problem_id="p0",
                sample_index=0,
                task="t",
                verdicts={"tests": fail},
            )
        )
        store.add_samples(samples)
        records = until_pass_records(store, "t")
        fits = fit_until_pass_store(store, "t", predict=[1, 10, 200])
    assert [r.model for r in records] == ["m"]
    rec = records[0]
    assert len(rec.attempts) == 120
    assert all(a <= cap for a in rec.attempts)
    [fit] = fits
    assert fit.fitter == "beta_geometric"
    assert fit.max_observed_k == cap
    truth = 1 - np.exp(betaln(0.5, 4.0 + np.array([1.0, 10.0])) - betaln(0.5, 4.0))
    got = [pr.coverage for pr in fit.predictions[:2]]
    assert got == pytest.approx(truth, abs=0.06)
    for pr in fit.predictions:
        assert pr.interval[0] <= pr.coverage <= pr.interval[1]


def test_unequal_n_warning_and_reach(tmp_path: Path) -> None:
    """Issue 11 item 6: with unequal n the fit uses every sample, and says how far the data reach."""
    path = tmp_path / "c.csv"
    rows = "".join(f"a,{i},{5 if i % 2 else 500},{(i % 3 == 0) * (1 if i % 2 else 100)}\n" for i in range(64))
    path.write_text("model,problem_id,num_samples,num_correct\n" + rows)
    m = fit_file(FitRequest(counts=path, fitter="power_law_lsq", predict=[500])).models[0]
    assert any("unequal sample counts (5 to 500)" in w and "every sample" in w for w in m.warnings)
    assert any("at least half of them up to k = 500" in w for w in m.warnings)
    assert [o.k for o in m.observed] == [1]
    assert m.max_observed_k == 500
