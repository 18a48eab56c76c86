"""The synthetic suite (issue 11): populations of problems with known rates, so the true
coverage curve of the very problems fitted is known exactly at every k.

For every population (tests/curves/populations.py), every fitter and the out-of-sample
selection: point predictions within the data (k = 1 and k = min n) and beyond it
(k = 10 min n), and whether the 90% intervals hold the truth.  Seeded (4 seeds of 128
problems x 50 samples, 100 bootstrap replicates): a few seconds.  The large grid (more
seeds, m = 20 / 50 / 200, k up to 100 min n) is ``benchmarks/synthetic.py``, its table in
BENCHMARKS.md.  Bounds are set from that benchmark with room for seed noise, and name
what each population should show: a fitter whose form holds the population is accurate
beyond the data; the selection is never worse than the worst candidate and finds the right
form where the data show it (homogeneous rates, a solved-or-never split).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from tests.curves.populations import POPULATIONS, sample, true_coverage

from budget.curves.estimators import FITTERS
from budget.curves.selection import fit_counts_detailed

SEEDS = range(4)
M = 50
CHOICES = [None, *FITTERS]


@cache
def _run(population: str, fitter: str | None) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Absolute errors, interval hits and widths (seeds x [k = 1, min n, 10 min n]) and the fitters used."""
    errors, hits, used, widths = [], [], [], []
    for seed in SEEDS:
        p, n, c = sample(POPULATIONS[population], M, seed)
        out = fit_counts_detailed(population, "synthetic", n, c, seed=seed, fitter=fitter, n_boot=100)
        ks = np.array([1.0, n.min(), 10.0 * n.min()])
        truth = true_coverage(p, ks)
        lo, hi = out.curve.interval(ks)
        errors.append(np.abs(out.curve.coverage(ks) - truth))
        hits.append((lo <= truth) & (truth <= hi))
        widths.append(hi - lo)
        used.append(out.fitter)
    return np.array(errors), np.array(hits), used, np.array(widths)


#: Largest mean error (points) within the data, per population, for the selection.
IN_DATA = {
    "homogeneous": 1.5,
    "left_tail": 3.0,
    "bimodal": 1.5,
    "zero_mass": 3.0,
    "unequal_n": 2.5,
    "few": 12.0,
}


@pytest.mark.parametrize("population", sorted(POPULATIONS))
def test_selection_is_accurate_within_the_data(population: str) -> None:
    errors = _run(population, None)[0]
    assert 100 * errors[:, :2].mean() <= IN_DATA[population]


@pytest.mark.parametrize("population", sorted(POPULATIONS))
def test_selection_is_never_worse_than_the_worst_candidate_beyond_the_data(population: str) -> None:
    chosen = _run(population, None)[0][:, 2].mean()
    worst = max(_run(population, f)[0][:, 2].mean() for f in FITTERS)
    assert chosen <= worst + 1e-9


@pytest.mark.parametrize(
    ("population", "fitter"), [("homogeneous", "beta_binomial"), ("bimodal", "zero_beta_binomial")]
)
def test_selection_finds_the_form_the_data_show(population: str, fitter: str) -> None:
    errors, _, used, _ = _run(population, None)
    assert used.count(fitter) >= 3
    assert 100 * errors[:, 2].mean() <= 1.0


@pytest.mark.parametrize(
    ("population", "fitter", "bound"),
    [
        ("homogeneous", "beta_binomial", 0.5),
        ("bimodal", "zero_beta_binomial", 0.5),
        ("left_tail", "beta_binomial", 3.0),
        ("unequal_n", "beta_binomial", 4.0),
        ("unequal_n", "power_law_lsq", 3.0),
    ],
)
def test_a_fitter_whose_form_holds_extrapolates(population: str, fitter: str, bound: float) -> None:
    errors = _run(population, fitter)[0]
    assert 100 * errors[:, 2].mean() <= bound


def test_the_power_law_cannot_hold_a_solved_or_never_split() -> None:
    """Known limits are measured, not hidden: Brown's form misses a population with a point mass
    at p = 0 beyond the data; the zero-mass Beta does not."""
    lsq = _run("bimodal", "power_law_lsq")[0][:, 2].mean()
    zero = _run("bimodal", "zero_beta_binomial")[0][:, 2].mean()
    assert lsq > 0.03 > zero


def test_intervals_of_the_selection_hold_the_truth_within_the_data() -> None:
    hits = np.concatenate([_run(pop, None)[1][:, :2].ravel() for pop in POPULATIONS])
    assert hits.mean() >= 0.8


@pytest.mark.parametrize("population", ["left_tail", "zero_mass", "unequal_n"])
def test_intervals_within_the_data_are_for_these_problems(population: str) -> None:
    """Issue 11 item 4: the bootstrap over problems held the truth at k = min n with 12-14 points
    of width where the error is 1-2 (the spread of another draw of problems, which the task
    does not have).  The fixed-task interval is about half as wide (6-8 points in
    benchmarks/synthetic.py, m = 50) and still holds the truth."""
    _, hits, _, widths = _run(population, None)
    assert 100 * widths[:, 1].mean() <= 10.0
    assert hits[:, 1].mean() >= 0.75


@pytest.mark.parametrize("population", ["left_tail", "bimodal", "unequal_n"])
def test_intervals_hold_the_truth_beyond_the_data_where_the_form_holds(population: str) -> None:
    hits = _run(population, None)[1][:, 2]
    assert hits.mean() >= 0.75
