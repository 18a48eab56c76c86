"""pass@k: exact reference by rational arithmetic, golden values from the shared data, properties."""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.curves.passk import pass_at_k, pass_at_k_per_problem
from budget.errors import InputError


def reference(n: int, c: int, k: int) -> Fraction:
    """1 - prod_{j<k} (n - c - j) / (n - j): the no-success probability as a falling product.

    Written differently from the library (which uses Loader's saddle-point form): a product
    of exact fractions for small k, math-free binomials via their ratio otherwise.
    """
    k = min(k, n)
    if k > n - c:
        return Fraction(1)
    miss = Fraction(1)
    for j in range(k):
        miss *= Fraction(n - c - j, n - j)
    return 1 - miss


def reference_comb(n: int, c: int, k: int) -> Fraction:
    from math import comb

    k = min(k, n)
    return 1 - Fraction(comb(n - c, k), comb(n, k))


SMALL = [(10, 3, 2), (10, 0, 5), (10, 10, 1), (20, 5, 15), (20, 5, 16), (30, 1, 29), (7, 3, 7), (1, 1, 1)]
LARGE = [
    (1_000_000, 1, 1),
    (1_000_000, 7, 10),
    (1_000_000, 1000, 1000),
    (1_000_000, 999_000, 1),
    (1_000_000, 3, 100_000),
    (1_000_000, 500_000, 3),
    (1_000_000, 12, 999_990),
    (10_000, 41, 9_959),
]


@pytest.mark.parametrize(("n", "c", "k"), SMALL)
def test_small_counts_match_the_falling_product(n: int, c: int, k: int) -> None:
    got = pass_at_k_per_problem([n], [c], [k])[0, 0]
    assert got == pytest.approx(float(reference(n, c, k)), rel=1e-13, abs=1e-15)


@pytest.mark.parametrize(("n", "c", "k"), LARGE)
def test_large_counts_are_exact_to_relative_precision(n: int, c: int, k: int) -> None:
    got = pass_at_k_per_problem([n], [c], [k])[0, 0]
    want = reference_comb(n, c, k)
    # Both pass@k and its complement to relative precision: tiny pass@1 = 1e-6 must be right.
    assert got == pytest.approx(float(want), rel=1e-9, abs=0)
    if want < 1:
        assert 1 - got == pytest.approx(float(1 - want), rel=1e-9, abs=1e-15)


def test_vectorised_over_problems_and_k_with_unequal_n() -> None:
    n = np.array([10, 25, 40, 1000])
    c = np.array([1, 0, 40, 17])
    ks = np.array([1, 5, 10, 40])
    per = pass_at_k_per_problem(n, c, ks)
    assert per.shape == (4, 4)
    for i in range(4):
        for j in range(4):
            want = float(reference(int(n[i]), int(c[i]), int(ks[j])))
            assert per[i, j] == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert pass_at_k(n, c, ks) == pytest.approx(per.mean(axis=0))


def test_k_beyond_samples() -> None:
    # Default: a problem contributes its value at k = n (solved at least once or not).
    per = pass_at_k_per_problem([10, 10], [0, 2], [10, 50])
    assert per.tolist() == [[0.0, 0.0], [1.0, 1.0]]
    nan = pass_at_k_per_problem([10], [2], [5, 11], beyond="nan")
    assert np.isfinite(nan[0, 0]) and np.isnan(nan[0, 1])
    with pytest.raises(InputError):
        pass_at_k([10], [2], [11], beyond="raise")


@pytest.mark.parametrize(
    ("n", "c", "ks"),
    [
        ([10], [11], [1]),
        ([10], [-1], [1]),
        ([10.5], [1], [1]),
        ([], [], [1]),
        ([10], [1], [-1]),
        ([0], [0], [1]),
    ],
)
def test_bad_counts_are_refused(n: list[float], c: list[float], ks: list[int]) -> None:
    with pytest.raises(InputError):
        pass_at_k(n, c, ks)


# README of ../shared/data, "Reference figures from the full data" (unbiased pass@k, %).
GOLDEN = {
    "pythia-70m": [0.06, 0.60, 3.61, 12.41, 26.56],
    "pythia-410m": [0.62, 5.17, 22.72, 48.18, 65.62],
    "pythia-1b": [0.83, 6.65, 27.45, 54.62, 74.22],
    "pythia-6.9b": [1.86, 13.14, 43.16, 68.77, 83.59],
}


def load_counts(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for model in {r["model"] for r in rows}:
        mine = [r for r in rows if r["model"] == model]
        out[model] = (
            np.array([int(r["num_samples"]) for r in mine]),
            np.array([int(r["num_correct"]) for r in mine]),
        )
    return out


def test_golden_values_from_the_pythia_counts(shared_data: Path) -> None:
    counts = load_counts(shared_data / "math-pythia-counts.csv")
    for model, want in GOLDEN.items():
        n, c = counts[model]
        got = 100 * pass_at_k(n, c, [1, 10, 100, 1000, 10_000])
        assert np.round(got, 2).tolist() == pytest.approx(want, abs=1e-9), model


counts_strategy = st.lists(
    st.integers(min_value=1, max_value=10**6).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n))
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(counts_strategy, st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=8))
def test_properties_monotone_and_bounded(pairs: list[tuple[int, int]], ks: list[int]) -> None:
    n = np.array([p[0] for p in pairs])
    c = np.array([p[1] for p in pairs])
    k = np.sort(np.array(ks))
    per = pass_at_k_per_problem(n, c, k)
    assert np.all((per >= 0) & (per <= 1))
    assert np.all(np.diff(per, axis=1) >= -1e-12)
    # Solved-at-least-once problems reach 1 at k = n; never-solved ones stay at 0.
    full = pass_at_k_per_problem(n, c, n.max())[:, 0]
    assert np.array_equal(full, (c > 0).astype(float))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=60).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(0, n))
    )
)
def test_property_matches_rational_reference(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    got = pass_at_k_per_problem([n], [c], [k])[0, 0]
    assert got == pytest.approx(float(reference(n, c, k)), rel=1e-12, abs=1e-14)
