"""Synthetic populations of problems with known per-problem success rates (issue 11).

Each population draws ``N`` problem rates ``p_i`` from a known distribution and ``n_i``
samples per problem; ``c_i ~ Binomial(n_i, p_i)``.  The truth a fit is judged against is
the coverage of *these* problems, ``mean_i [1 - (1 - p_i)^k]`` (exact, any k): the
question a user asks is about their task's problems, not a population behind them.
Used by the synthetic suite (tests/curves/test_synthetic.py) and its large grid
(benchmarks/synthetic.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FloatArray = np.ndarray


@dataclass(frozen=True)
class Population:
    """A named way to draw ``(p, n)`` for a number of problems and a base sample count."""

    name: str
    describe: str
    draw: Callable[[np.random.Generator, int, int], tuple[FloatArray, FloatArray]]
    problems: int = 128


def _homogeneous(rng: np.random.Generator, problems: int, m: int) -> tuple[FloatArray, FloatArray]:
    return np.full(problems, 0.3), np.full(problems, float(m))


def _left_tail(rng: np.random.Generator, problems: int, m: int) -> tuple[FloatArray, FloatArray]:
    return rng.beta(0.15, 3.0, problems), np.full(problems, float(m))


def _bimodal(rng: np.random.Generator, problems: int, m: int) -> tuple[FloatArray, FloatArray]:
    solved = rng.random(problems) < 0.5
    return np.where(solved, rng.beta(5.0, 2.0, problems), 0.0), np.full(problems, float(m))


def _zero_mass(rng: np.random.Generator, problems: int, m: int) -> tuple[FloatArray, FloatArray]:
    live = rng.random(problems) < 0.3
    return np.where(live, rng.beta(0.5, 5.0, problems), 0.0), np.full(problems, float(m))


def _unequal_n(rng: np.random.Generator, problems: int, m: int) -> tuple[FloatArray, FloatArray]:
    n = rng.choice([m / 2, m, 4 * m], size=problems)
    return rng.beta(0.3, 3.0, problems), np.round(n)


def _wide_n(rng: np.random.Generator, problems: int, m: int) -> tuple[FloatArray, FloatArray]:
    live = rng.random(problems) < 0.3
    n = rng.choice([m / 10, 10 * m], size=problems)
    return np.where(live, rng.beta(0.5, 5.0, problems), 0.0), np.round(n)


def _few(rng: np.random.Generator, problems: int, m: int) -> tuple[FloatArray, FloatArray]:
    return rng.beta(0.5, 2.0, problems), np.full(problems, float(m))


POPULATIONS: dict[str, Population] = {
    p.name: p
    for p in (
        Population("homogeneous", "every p = 0.3", _homogeneous),
        Population("left_tail", "p ~ Beta(0.15, 3): many near-zero problems", _left_tail),
        Population("bimodal", "half never solved, half p ~ Beta(5, 2)", _bimodal),
        Population("zero_mass", "70% p = 0, 30% p ~ Beta(0.5, 5)", _zero_mass),
        Population("unequal_n", "p ~ Beta(0.3, 3); n in {m/2, m, 4m}", _unequal_n),
        Population("few", "12 problems, p ~ Beta(0.5, 2)", _few, problems=12),
    )
}


#: Unequal n 100x apart (issue 11 item 6): half the problems at m / 10 samples, half at 10 m,
#: rates as ``zero_mass``.  Kept out of :data:`POPULATIONS` (whose CI bounds are set per
#: population); its own test is in tests/curves/test_issue11_fits.py.
WIDE_N = Population("wide_n", "70% p = 0, 30% p ~ Beta(0.5, 5); n in {m/10, 10m}", _wide_n)


def sample(pop: Population, m: int, seed: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rates, samples and correct counts of one seeded draw of ``pop`` with base sample count ``m``."""
    rng = np.random.default_rng([seed, m, len(pop.name)])
    p, n = pop.draw(rng, pop.problems, m)
    c = rng.binomial(n.astype(np.int64), p).astype(float)
    return p, n, c


def true_coverage(p: FloatArray, k: FloatArray) -> FloatArray:
    """Coverage of the problems with rates ``p`` at each k: mean_i [1 - (1 - p_i)^k]."""
    kk = np.asarray(k, dtype=float)
    out: FloatArray = 1.0 - np.mean(
        np.exp(np.log1p(-np.minimum(p, 1.0 - 1e-16))[:, None] * kk[None, :]), axis=0
    )
    return out
