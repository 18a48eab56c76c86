"""Options per candidate, the upper concave hull, and exact whole-problem rounding.

See :mod:`budget.planner` for the problem, the cost of each policy and the proof sketch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import NamedTuple

import numpy as np

from budget.curves.form import FloatArray
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
    """The options (k, cost, value) of one candidate under the settings, up to its k cap."""
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
    """A point of a candidate's upper concave hull: k samples per problem, its cost and value."""
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


class HullPoint(NamedTuple):
    """A vertex of a frontier: cost per problem and value (floats: drawing, not paying)."""

    cost: float
    value: float


def hull_vertices(options: Sequence[Options]) -> list[HullPoint]:
    """The LP frontier of ``options``: the upper concave hull of their (cost, value) points."""
    pts: list[tuple[float, float, int, int]] = []
    for idx, o in enumerate(options):
        pts.extend(zip(o.cost.tolist(), o.value.tolist(), [idx] * o.ks.size, o.ks.tolist(), strict=True))
    return [HullPoint(c, v) for c, v, _, _ in upper_hull(pts)]


def pareto_options(options: Sequence[Options]) -> tuple[list[Options], FloatArray, FloatArray, np.ndarray]:
    """The Pareto-efficient (cost ascending, value strictly rising) options of all candidates.

    Returns (owner options, float costs, values, ks) with the zero option first.
    """
    cost = np.concatenate([o.cost for o in options] + [np.zeros(1)])
    value = np.concatenate([o.value for o in options] + [np.zeros(1)])
    owner = np.concatenate([np.full(o.ks.size, i) for i, o in enumerate(options)] + [np.zeros(1, dtype=int)])
    ks = np.concatenate([o.ks for o in options] + [np.zeros(1, dtype=np.int64)])
    order = np.lexsort((-value, cost))
    cost, value, owner, ks = cost[order], value[order], owner[order], ks[order]
    best_before = np.maximum.accumulate(np.concatenate([[-np.inf], value[:-1]]))
    keep = value > best_before + 1e-15
    keep[0] = True
    return [options[int(i)] for i in owner[keep]], cost[keep], value[keep], ks[keep]


#: Relative slack on float costs when shortlisting pairs; exact Decimal arithmetic decides.
_SLACK = 1e-9
_CELLS = 1 << 20  # float cells per chunk of the shortlist search


def _pair_bounds(
    c: FloatArray, v: FloatArray, i: np.ndarray, b: float, n: int
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Upper and lower float bounds on the value of the best partner j for each lo option i.

    For a count ``m`` of dearer problems the best partner is the dearest option with
    ``c_j <= c_i + S / m`` (values rise with cost), ``S = B - n c_i``; so either scan every
    count ``m = 1..n`` (few problems) or every partner ``j`` with its largest count (many).
    Returns (ub value, lb value, j at the upper bound) per (i, column).
    """
    slack = b - n * c[i]
    vi = v[i][:, None]
    if n <= c.size:
        m = np.arange(1, n + 1, dtype=float)[None, :]
        reach = slack[:, None] / m
        j_ub = np.searchsorted(c, c[i][:, None] + reach * (1 + _SLACK) + _SLACK * b, side="right") - 1
        j_lb = np.searchsorted(c, c[i][:, None] + reach * (1 - _SLACK) - _SLACK * b, side="right") - 1
        j_ub, j_lb = np.maximum(j_ub, i[:, None]), np.maximum(j_lb, i[:, None])
        ub = n * vi + m * (v[j_ub] - vi)
        lb = n * vi + m * (v[j_lb] - vi)
        return ub, np.where(slack[:, None] >= b * _SLACK, lb, -np.inf), j_ub
    dc = c[None, :] - c[i][:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dc > 0, slack[:, None] / dc, -1.0)
    cnt_ub = np.clip(np.floor(ratio * (1 + _SLACK) + _SLACK), 0, n)
    cnt_lb = np.clip(np.floor(ratio * (1 - _SLACK) - _SLACK), 0, n)
    gain = np.maximum(v[None, :] - vi, 0)
    j = np.broadcast_to(np.arange(c.size)[None, :], dc.shape)
    lb = np.where(slack[:, None] >= b * _SLACK, n * vi + cnt_lb * gain, -np.inf)
    return n * vi + cnt_ub * gain, lb, j


def allocate(options: Sequence[Options], budget: Decimal, n: int) -> list[tuple[Vertex, int]]:
    """The best two-option allocation of ``n`` whole problems within ``budget`` (exact).

    The family searched is fixed: every pair of options (i, j) (i = j allowed), with
    ``n - m`` problems at option i and ``m`` at option j, ``m`` the largest count the budget
    allows, ``m = min(n, floor((B - n c_i) / (c_j - c_i)))``.  Because the family does
    not depend on ``B`` (a larger budget only adds options: the k grid is fixed), the best
    feasible member's value can only rise with ``B``: "more money never predicts fewer
    solved" holds at every nearby budget, not only at ``2B`` (issue 11, item 7).  The rounding
    of the LP between the two hull vertices around ``B / N`` (which the planner used before:
    not monotone in ``B``) is a member, so the result keeps its guarantee: within one
    problem's gain of the LP optimum.  Restricted to the Pareto-efficient options, which
    loses nothing: replacing an option by one at most as dear and at least as good keeps
    an allocation feasible and does not lower its value.

    Floats shortlist the pairs (with a relative slack of 1e-9 on every cost); the exact
    Decimal cost of each shortlisted pair decides feasibility and counts, so the plan is
    never over budget.  When the budget gives every problem the best option (the k cap
    binds), that is the answer: no pair has a larger value, and every pair as good puts all
    ``n`` problems on that option.
    """
    owners, c, v, ks = pareto_options(options)
    exact: dict[int, Decimal] = {}

    def cost_of(x: int) -> Decimal:
        if x not in exact:
            exact[x] = owners[x].exact_cost(int(ks[x]))
        return exact[x]

    top = c.size - 1  # the best option (values rise with cost)
    if cost_of(top) * n <= budget:
        # Every problem can have the best option: no pair does better, and every pair that
        # does as well puts all n problems there.  (Without this, each of those ties is
        # checked in exact arithmetic: ~200 per candidate once the k cap binds.)
        return [(Vertex(owners[top], int(ks[top]), cost_of(top), float(v[top])), n)]
    b = float(budget)
    lo_idx = np.nonzero(c * n <= b * (1 + _SLACK))[0]
    width = min(n, c.size)
    rows = max(1, _CELLS // max(1, width))
    best_lb = -np.inf
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, lo_idx.size, rows):
        i = lo_idx[start : start + rows]
        ub, lb, j = _pair_bounds(c, v, i, b, n)
        best_lb = max(best_lb, float(lb.max()), float(n * v[i].max()))
        r, col = np.nonzero(ub >= best_lb - 1e-12)
        found.append((i[r], j[r, col], ub[r, col]))
    found.append((lo_idx, lo_idx, n * v[lo_idx]))  # every problem at one option
    cand_i = np.concatenate([f[0] for f in found])
    cand_j = np.concatenate([f[1] for f in found])
    cand_ub = np.concatenate([f[2] for f in found])
    # one entry per pair (i, j), at its largest bound: the exact count decides below
    order = np.lexsort((-cand_ub, cand_j, cand_i))
    cand_i, cand_j, cand_ub = cand_i[order], cand_j[order], cand_ub[order]
    first = np.ones(cand_i.size, dtype=bool)
    first[1:] = (cand_i[1:] != cand_i[:-1]) | (cand_j[1:] != cand_j[:-1])
    cand_i, cand_j, cand_ub = cand_i[first], cand_j[first], cand_ub[first]
    by_bound = np.argsort(-cand_ub, kind="stable")
    vals: list[float] = v.tolist()  # Python floats: the same IEEE arithmetic, without numpy scalars
    best: tuple[float, Decimal, int, int, int] | None = None
    for lo, hi, bound in zip(
        cand_i[by_bound].tolist(), cand_j[by_bound].tolist(), cand_ub[by_bound].tolist(), strict=True
    ):
        if best is not None and bound < best[0] - 1e-12:
            break
        ci, cj = cost_of(lo), cost_of(hi)
        if ci * n > budget:
            continue
        m = 0 if cj <= ci or vals[hi] <= vals[lo] else min(n, int((budget - ci * n) // (cj - ci)))
        value = n * vals[lo] + m * (vals[hi] - vals[lo])
        spend = ci * (n - m) + cj * m
        if best is None or value > best[0] + 1e-15 or (abs(value - best[0]) <= 1e-15 and spend < best[1]):
            best = (value, spend, lo, hi, m)
    if best is None:
        raise PlanningError("no zero-cost option (internal)")
    _, _, lo, hi, m = best
    vi = Vertex(owners[lo], int(ks[lo]), cost_of(lo), float(v[lo]))
    vj = Vertex(owners[hi], int(ks[hi]), cost_of(hi), float(v[hi]))
    return [(x, cnt) for x, cnt in ((vj, m), (vi, n - m)) if cnt > 0]
