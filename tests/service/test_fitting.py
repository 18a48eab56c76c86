"""service.fitting: reading counts files and fitting each model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
