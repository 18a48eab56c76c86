"""Expected solved problems, cost and intervals of an allocation; frontiers and crossings."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from budget.curves.form import FloatArray
from budget.planner.allocation import HullPoint, Vertex
from budget.planner.models import N_DRAWS, Allocation, Crossing, Estimate, PlanSettings


def estimate(groups: list[tuple[Vertex, int]], s: PlanSettings) -> Estimate:
    """The plan's expected coverage and problems solved, with intervals, for whole-problem groups."""
    n = s.problems
    rng = np.random.default_rng(s.seed)
    allocations: list[Allocation] = []
    cov_total: float = 0.0
    draws_total: FloatArray | None = None
    solved_draws: FloatArray | None = None
    exp_cost = Decimal(0)
    worst = Decimal(0)
    unsampled = 0
    extrap = 0.0
    picks: dict[str, np.ndarray] = {}
    for v, m in groups:
        if v.k == 0:
            unsampled += m
            continue
        group_cost = v.opt.exact_cost(v.k, worst=False) * m
        exp_cost += group_cost
        worst += v.opt.exact_cost(v.k, worst=True) * m
        cov_total += v.value * m
        extrap = max(extrap, v.opt.cand.curve.extrapolation(v.k))
        d = v.opt.cand.curve.coverage_draws([v.k])[:, 0]
        # one set of draw indices per model, so groups of the same model stay correlated
        idx = picks.setdefault(v.opt.cand.model, rng.integers(0, d.size, N_DRAWS))
        d = d[idx % d.size]
        draws_total = d * m if draws_total is None else draws_total + d * m
        hits = rng.binomial(m, np.clip(d, 0, 1)).astype(float)
        solved_draws = hits if solved_draws is None else solved_draws + hits
        allocations.append(
            Allocation(
                model=v.opt.cand.model,
                samples_per_problem=v.k,
                policy=s.policy,
                problems=m,
                expected_coverage=v.value,
                expected_cost=group_cost,
            )
        )
    lo_q, hi_q = (1 - s.level) / 2, 1 - (1 - s.level) / 2
    if draws_total is None or solved_draws is None:
        cov_iv, solved_iv = (0.0, 0.0), (0.0, 0.0)
    else:
        cov_lo, cov_hi = np.quantile(draws_total, [lo_q, hi_q]).tolist()
        cov_iv = (cov_lo / n, cov_hi / n)
        solved_lo, solved_hi = np.quantile(solved_draws, [lo_q, hi_q]).tolist()
        solved_iv = (solved_lo, solved_hi)
    solved = cov_total
    return Estimate(
        allocations=sorted(allocations, key=lambda a: -a.problems),
        expected_coverage=cov_total / n,
        expected_coverage_interval=cov_iv,
        expected_solved=solved,
        solved_interval=solved_iv,
        expected_cost=exp_cost,
        worst_case_cost=worst,
        dollars_per_solved=(exp_cost / Decimal(repr(solved))).quantize(Decimal("0.0001"))
        if solved > 0
        else None,
        unsampled_problems=unsampled,
        extrapolation=extrap,
    )


def frontier_values(verts: list[HullPoint], dollars: FloatArray, n: int) -> FloatArray:
    """LP value (expected solved) at each budget, interpolated along the hull."""
    c = np.array([v.cost for v in verts]) * n
    f = np.array([v.value for v in verts]) * n
    out: FloatArray = np.interp(dollars, c, f)
    return out


def crossings(
    hulls: dict[str, list[HullPoint]], labels: dict[str, str], budget: float, n: int
) -> list[Crossing]:
    """The budgets where one model's frontier overtakes another's, near the budget."""
    grid = np.geomspace(budget / 1000, budget * 1000, 2001)
    out: list[Crossing] = []
    names = list(hulls)
    curves = {m: frontier_values(hulls[m], grid, n) for m in names}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            diff = curves[a] - curves[b]
            sign = np.sign(np.where(np.abs(diff) < 1e-9, 0, diff))
            idx = np.nonzero((sign[:-1] * sign[1:]) < 0)[0]
            for j in idx[:3]:
                x0, x1, d0, d1 = grid[j], grid[j + 1], diff[j], diff[j + 1]
                x = x0 + (x1 - x0) * d0 / (d0 - d1)
                low, high = (a, b) if d0 > 0 else (b, a)
                out.append(
                    Crossing(
                        cheaper_wins_below=labels[low],
                        dearer_wins_above=labels[high],
                        dollars=float(x),
                    )
                )
    return sorted(out, key=lambda c: c.dollars)
