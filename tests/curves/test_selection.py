"""Fitter choice out of sample, bootstrap intervals, extrapolation warnings."""

from __future__ import annotations

import numpy as np
import pytest

from budget.curves.selection import choose, extrapolation_note, fit_counts, fit_counts_detailed


def test_default_kept_without_clear_evidence() -> None:
    errors = {2: {"lsq": [0.02, 0.03, 0.05], "bb": [0.019, 0.031, 0.049]}}
    assert choose(errors, "lsq") == "lsq"


def test_clearly_better_fitter_wins_only_if_better_at_every_split() -> None:
    better = {"lsq": [0.05, 0.06, 0.05, 0.07], "bb": [0.01, 0.012, 0.011, 0.01]}
    assert choose({4: better}, "lsq") == "bb"
    worse_elsewhere = {"lsq": [0.01, 0.012, 0.011, 0.01], "bb": [0.05, 0.06, 0.05, 0.07]}
    assert choose({4: better, 10: worse_elsewhere}, "lsq") == "lsq"


def test_no_evidence_keeps_the_default() -> None:
    assert choose({}, "lsq") == "lsq"


def test_fit_counts_records_scores_and_choice() -> None:
    rng = np.random.default_rng(3)
    p = rng.beta(0.5, 3.0, size=128)
    n = np.full(128, 400)
    c = rng.binomial(n, p)
    out = fit_counts_detailed("m", "t", n, c, seed=1)
    assert out.fitter in {s.fitter for s in out.scores}
    assert sum(s.chosen for s in out.scores) == 1
    assert out.curve.notes and "one-standard-error" in out.curve.notes[0]
    # Seeded: the same input gives the same curve.
    assert fit_counts("m", "t", n, c, seed=1) == out.curve


def test_forced_fitter_and_interval_covers_the_tasks_truth() -> None:
    """Beta rates, many problems: the 90% interval of the Beta-Binomial fit at k = 50 and 500
    holds the coverage of the task's own problems, mean_i [1 - (1 - p_i)^k], for most seeds.

    (Issue 11: the interval is for a fixed task -- the problems the plan will run -- not for a
    new draw of problems from the population, whose coverage 1 - B(a, b + k) / B(a, b) the
    bootstrap over problems used to cover.)"""
    a, b = 0.4, 4.0
    ks = np.array([50.0, 500.0])
    hits = np.zeros(2)
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        n = np.full(150, 50)
        p = rng.beta(a, b, size=150)
        c = rng.binomial(n, p)
        truth = (1 - (1 - p[:, None]) ** ks[None, :]).mean(axis=0)
        curve = fit_counts("m", "t", n, c, seed=seed, fitter="beta_binomial")
        lo, hi = curve.interval(ks)
        hits += (lo <= truth) & (truth <= hi)
    assert np.all(hits >= 15), hits


def test_extrapolation_note() -> None:
    rng = np.random.default_rng(0)
    n = np.full(60, 100)
    c = rng.binomial(n, rng.beta(0.5, 3.0, size=60))
    curve = fit_counts("m", "t", n, c, fitter="power_law_lsq")
    assert extrapolation_note(curve, 1_000) is None
    note = extrapolation_note(curve, 100_000)
    assert note is not None and "1,000x" in note and "100,000" in note


def test_all_zero_counts_cannot_be_fitted() -> None:
    from budget.errors import DataError

    with pytest.raises(DataError):
        fit_counts("m", "t", [10, 10, 10], [0, 0, 0], fitter="power_law_lsq")
