"""From counts to a :class:`CoverageCurve`: fit, bootstrap over problems, choose a fitter."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from budget.curves.base import POWER_LAW, CoverageCurve
from budget.curves.estimators import power_law_from_counts
from budget.curves.passk import _validate


def fit_counts(
    model: str,
    task: str,
    num_samples: ArrayLike,
    num_correct: ArrayLike,
    *,
    seed: int = 0,
    n_boot: int = 200,
) -> CoverageCurve:
    """Fit a coverage curve to per-problem counts, with bootstrap draws over problems."""
    n, c = _validate(num_samples, num_correct)
    rng = np.random.default_rng(seed)
    point = power_law_from_counts(n, c)
    idx = rng.integers(0, n.size, size=(n_boot, n.size))
    weights = np.zeros((n_boot, n.size))
    np.add.at(weights, (np.arange(n_boot)[:, None], idx), 1.0)
    draws = power_law_from_counts(n, c, weights)
    ok = np.all(np.isfinite(draws), axis=1) & (draws[:, 1] < 0)
    return CoverageCurve(
        model=model,
        task=task,
        form=POWER_LAW.name,
        params={"a": float(point[0]), "b": float(point[1])},
        draws=draws[ok].tolist(),
        max_observed_k=int(n.max()),
        n_problems=int(n.size),
        source="fitted to per-problem counts (power law, Brown et al. 2024 App. C.1)",
    )
