"""Options per candidate, the upper concave hull, and exact whole-problem rounding.

See :mod:`budget.planner` for the problem, the cost of each policy and the proof sketch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import numpy as np

from budget.curves.base import FloatArray
from budget.errors import PlanningError
from budget.planner.models import DENSE_K, GEOMETRIC_STEP, Candidate, PlanSettings, Policy


@dataclass(frozen=True)
class Options:
    """All (k, cost, coverage) options of one candidate, and its exact cost function."""

    cand: Candidate
    ks: np.ndarray  # int grid, starting at 0
    cost: FloatArray  # constraint cost per problem (expected or worst case)
    value: FloatArray  # point coverage
    survival_cumsum: FloatArray  # sum_{j=1}^{k-1} (1 - coverage(j)), indexed by k
    k_cap: int
    settings: PlanSettings

    def exact_cost(self, k: int, *, worst: bool | None = None) -> Decimal:
        """Exact cost of k samples of one problem under the plan's cost measure."""
        c = self.cand.cost
        use_worst = self.settings.hard_cap if worst is None else worst
        if k <= 0:
            return Decimal(0)
        if use_worst:
            return c.worst_cost(k)
        if self.settings.policy is Policy.FIXED:
            return c.fixed_cost(k)
        tail = Decimal(repr(float(self.survival_cumsum[k]))).quantize(Decimal("1e-9"), rounding=ROUND_CEILING)
        return c.first + c.repeat * tail


def k_grid(k_max: int, k_cap: int) -> np.ndarray:
    """Options k: every integer to DENSE_K, then a fixed geometric ladder, and k_cap.

    The ladder does not depend on the budget, so a larger budget only adds options.
    """
    dense = np.arange(0, min(k_max, DENSE_K) + 1)
    if k_max <= DENSE_K:
        return dense
    n = math.ceil(math.log(k_max / DENSE_K) / math.log(GEOMETRIC_STEP)) + 1
    ladder = np.round(DENSE_K * GEOMETRIC_STEP ** np.arange(n)).astype(np.int64)
    extra = np.asarray([k_cap] if k_cap <= k_max else [], dtype=np.int64)
    return np.unique(np.concatenate([dense, ladder[ladder <= k_max], extra]))


def options_for(cand: Candidate, s: PlanSettings) -> Options:
    k_cap = s.max_samples
    if cand.curve.max_observed_k:
        k_cap = min(k_cap, max(1, math.floor(s.max_extrapolation * cand.curve.max_observed_k)))
    c = cand.cost
    first = float(c.worst_first if s.hard_cap else c.first)
    repeat = float(c.worst_repeat if s.hard_cap else c.repeat)
    budget = float(s.dollars)
    if first > budget:
        k_max = 0
    elif (s.hard_cap or s.policy is Policy.FIXED) and repeat > 0:
        k_max = min(k_cap, 1 + math.floor((budget - first) / repeat))
    else:
        k_max = k_cap
    every_k = np.arange(0, k_max + 1)
    cov_all = cand.curve.coverage(every_k)
    survival = 1.0 - cov_all
    survival[0] = 0.0  # the first sample is priced by `first`
    cumsum = np.concatenate([[0.0], np.cumsum(survival)])[:-1]  # cumsum[k] = sum_{j<k}, j>=1
    ks = k_grid(k_max, k_cap)
    if s.hard_cap or s.policy is Policy.FIXED:
        cost = np.where(ks > 0, first + (ks - 1) * repeat, 0.0)
    else:
        cost = np.where(ks > 0, first + repeat * cumsum[ks], 0.0)
    keep = cost <= budget  # one problem could take the whole budget, not more
    return Options(cand, ks[keep], cost[keep], cov_all[ks[keep]], cumsum, k_cap, s)


@dataclass(frozen=True)
class Vertex:
    opt: Options
    k: int
    cost: Decimal
    value: float


def upper_hull(points: list[tuple[float, float, int, int]]) -> list[tuple[float, float, int, int]]:
    """Upper concave hull of (cost, value, owner, k) points, from (0, 0), values increasing.

    Andrew's monotone chain restricted to the Pareto-efficient points (cost ascending,
    value strictly rising).
    """
    points.sort(key=lambda p: (p[0], -p[1]))
    pareto: list[tuple[float, float, int, int]] = []
    for p in points:
        if not pareto or p[1] > pareto[-1][1] + 1e-15:
            pareto.append(p)
    hull: list[tuple[float, float, int, int]] = []
    for p in pareto:
        while len(hull) >= 2:
            (x1, y1, *_), (x2, y2, *_) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def hull_vertices(options: Sequence[Options]) -> list[Vertex]:
    pts: list[tuple[float, float, int, int]] = []
    for idx, o in enumerate(options):
        pts.extend(zip(o.cost.tolist(), o.value.tolist(), [idx] * o.ks.size, o.ks.tolist(), strict=True))
    hull = upper_hull(pts)
    verts = [Vertex(options[i], k, options[i].exact_cost(k), v) for _, v, i, k in hull]
    # exact costs must stay increasing along the hull (float ties can reorder by an ulp)
    out: list[Vertex] = []
    for v in verts:
        if not out or (v.cost > out[-1].cost and v.value > out[-1].value):
            out.append(v)
    return out


def solve(verts: list[Vertex], budget: Decimal, n: int) -> list[tuple[Vertex, int]]:
    """Whole-problem rounding of the hull LP (see module docstring). Exact, never over."""
    if not verts or verts[0].cost > 0:
        raise PlanningError("no zero-cost option (internal)")
    i = max(idx for idx, v in enumerate(verts) if v.cost * n <= budget)
    if i == len(verts) - 1:
        return [(verts[i], n)]
    lo, hi = verts[i], verts[i + 1]
    n_hi = int((budget - lo.cost * n) // (hi.cost - lo.cost))
    n_hi = max(0, min(n_hi, n))
    while n_hi > 0 and lo.cost * (n - n_hi) + hi.cost * n_hi > budget:
        n_hi -= 1
    return [(v, m) for v, m in ((hi, n_hi), (lo, n - n_hi)) if m > 0]
