"""Curves from published figures: a few coverage points or a paper's fitted parameters.

Published results rarely come with per-problem counts, so the uncertainty of a catalog
curve comes from a *parametric bootstrap over problems*: a coverage figure ``c`` measured on
``N`` problems has binomial noise ``Var(c) = c (1 - c) / N``; in the space the power law is
fitted in, ``y = log(-log c)``, that is ``Var(y) = (1 - c) / (N c log(c)^2)`` (delta
method), so each point is redrawn as ``y + sd(y) Z`` (Z standard normal, independently per
point) and the power law is refitted to each redraw with the same inverse-variance
weights as the point estimate.  The refit is linear in the redrawn ``y``, so every
parameter draw is centred on the point estimate and an equal-tailed interval of coverage
holds its point at every k.  (Issue 11 item 2: redrawing shares as ``Binomial(N, c) / N``
and clipping them at ``0.5 / N`` lifted every draw of a tiny figure -- pass@1 = 0.00033 on
128 problems -- above the point, and the unweighted refit moved the centre as well.)

The fit is Brown et al. 2024 ("Large Language Monkeys", Eq. 3 and App. C.1): with
coverage(k) = exp(a k^b), ``log(-log coverage) = log(-a) + b log k`` is linear in
``log k``, so least squares in that space gives ``b`` (slope) and ``log(-a)``
(intercept).  Published points are weighted by the inverse of their binomial variance in
that space (delta method), since a share near 0 or 1 is known more precisely there.
Schaeffer et al. (ICML 2025) report the same law as -log pass@k = a' k^(-b'),
so a = -a' and b = -b'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from budget.curves.base import CoverageCurve
from budget.curves.form import POWER_LAW, FloatArray, power_law_lsq
from budget.errors import DataError


def binomial_weights(coverage: FloatArray, n_problems: int) -> FloatArray:
    """Inverse-variance weights for y = log(-log c) when c is a share of ``n_problems``.

    Delta method: Var(c) = c (1 - c) / N and dy/dc = 1 / (c log c), so
    Var(y) = (1 - c) / (N c log(c)^2).
    """
    c = np.asarray(coverage, dtype=float)
    weights: FloatArray = n_problems * c * np.log(c) ** 2 / (1 - c)
    return weights


def _redraw(points: FloatArray, n_problems: int, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """Redraws of published coverage figures: normal in y = log(-log c), sd from the binomial.

    Returns coverage values, strictly inside (0, 1) because y is finite.
    """
    c = np.asarray(points, dtype=float)
    y = np.log(-np.log(c))
    sd = 1.0 / np.sqrt(binomial_weights(c, n_problems))
    redrawn = y[None, :] + sd[None, :] * rng.standard_normal((n_boot, c.size))
    out: FloatArray = np.exp(-np.exp(redrawn))
    return out


def curve_from_points(
    model: str,
    task: str,
    points: Sequence[tuple[float, float]],
    n_problems: int,
    *,
    borrowed_b: FloatArray | None = None,
    borrowed_from: str = "",
    n_boot: int = 400,
    seed: int = 0,
    source: str = "",
) -> CoverageCurve:
    """Fit Brown et al.'s power law to published (k, coverage) points, with bootstrap draws.

    With a single point at k = 1, coverage(1) = exp(a) fixes ``a`` but not the exponent;
    ``borrowed_b`` (draws of ``b`` from other models on the same task) supplies it, and the
    curve's notes say so.
    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or not len(pts):
        raise DataError(f"catalog entry {model}/{task}: points must be [k, coverage] pairs")
    ks, cov = pts[:, 0], pts[:, 1]
    if np.any(ks < 1) or np.any((cov <= 0) | (cov >= 1)):
        raise DataError(f"catalog entry {model}/{task}: need k >= 1 and 0 < coverage < 1")
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    if np.unique(ks).size >= 2:
        w = binomial_weights(cov, n_problems)
        a0, b0 = power_law_lsq(ks, cov[None, :], w)
        a_d, b_d = power_law_lsq(ks, _redraw(cov, n_problems, n_boot, rng), w)
    elif borrowed_b is not None and borrowed_b.size and ks[0] == 1:
        a0 = np.log(cov[:1])
        b0 = np.array([float(np.median(borrowed_b))])
        a_d = np.log(_redraw(cov[:1], n_problems, n_boot, rng)[:, 0])
        b_d = rng.choice(borrowed_b, size=n_boot)
        notes.append(
            f"only k=1 is published; the exponent b is borrowed from {borrowed_from or 'other models'}"
            " on this task (its bootstrap spread is carried into the interval)"
        )
    else:
        raise DataError(f"catalog entry {model}/{task}: one point and no exponent to borrow")
    ok = np.isfinite(a_d) & np.isfinite(b_d)
    return CoverageCurve(
        model=model,
        task=task,
        form=POWER_LAW.name,
        params={"a": float(a0[0]), "b": float(b0[0])},
        draws=np.column_stack([a_d[ok], b_d[ok]]).tolist(),
        max_observed_k=int(ks.max()),
        n_problems=n_problems,
        source=source,
        notes=notes,
    )


def curve_from_schaeffer(
    model: str,
    task: str,
    a: float,
    b: float,
    n_problems: int,
    max_observed_k: int,
    *,
    n_boot: int = 400,
    seed: int = 0,
    source: str = "",
) -> CoverageCurve:
    """A curve from Schaeffer et al.'s published -log pass@k = a k^(-b).

    Draws: the published curve is evaluated at k = 1, 10, ..., max_observed_k, each value is
    redrawn with its binomial noise over ``n_problems`` (see the module docstring), and the
    power law is refitted with the point estimate's weights.
    """
    ks = np.unique(np.geomspace(1, max_observed_k, num=max(2, int(np.log10(max_observed_k)) + 1)))
    params = np.array([[-a, -b]])
    cov = POWER_LAW.evaluate(params, ks)[0]
    rng = np.random.default_rng(seed)
    w = binomial_weights(cov, n_problems)
    a_d, b_d = power_law_lsq(ks, _redraw(cov, n_problems, n_boot, rng), w)
    ok = np.isfinite(a_d) & np.isfinite(b_d)
    return CoverageCurve(
        model=model,
        task=task,
        form=POWER_LAW.name,
        params={"a": -a, "b": -b},
        draws=np.column_stack([a_d[ok], b_d[ok]]).tolist(),
        max_observed_k=max_observed_k,
        n_problems=n_problems,
        source=source,
        notes=["interval: parametric bootstrap of the published fit over the task's problems"],
    )
