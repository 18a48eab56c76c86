"""``allocate`` against a reference written differently: every pair of options, exhaustively.

``allocate`` shortlists pairs with float bounds over the Pareto-efficient options, returns at
once when the budget gives every problem the best option (the k cap binds: the case of a
store's cheap samples at ``budget plan --dollars 50``, where ~200 tied pairs per candidate were
checked in Decimal), and decides the rest in exact arithmetic.  The reference tries every pair
of *all* options (not only the efficient ones), each count from an exact rational, and keeps
the best value, then the cheapest.  Seeded random candidates, budgets from one sample to far
past every cap, both policies, with and without a hard cap: the same groups (model, k, count).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from budget.curves import CoverageCurve
from budget.planner import Candidate, PlanSettings, Policy
from budget.planner.allocation import Options, allocate, options_for
from budget.pricing import SampleCost

Groups = frozenset[tuple[str, int, int]]


def _cands(rng: np.random.Generator) -> list[Candidate]:
    out = []
    for i in range(int(rng.integers(1, 4))):
        price = Decimal(int(rng.integers(1, 400))) / 10_000
        first = price + Decimal(int(rng.integers(0, 3))) / 10_000  # an uncached first prompt costs more
        worst = Decimal(int(rng.integers(1, 4)))
        cost = SampleCost(
            kind="per_attempt",
            first=first,
            repeat=price,
            worst_first=first * worst,
            worst_repeat=price * worst,
            formula="test",
        )
        a, b = float(rng.uniform(-4, -0.05)), float(rng.uniform(-0.9, -0.05))
        observed = int(rng.integers(1, 6))
        curve = CoverageCurve(
            model=f"m{i}", task="t", form="power_law", params={"a": a, "b": b}, max_observed_k=observed
        )
        out.append(Candidate(model=f"m{i}", curve=curve, cost=cost))
    return out


def _canonical(groups: list[tuple[int, str, int, float]]) -> Groups:
    """(model, k, count) per group; problems given no sample are one group whatever the model."""
    merged: dict[tuple[str, int], int] = {}
    for k, model, count, _ in groups:
        if count > 0:
            key = ("", 0) if k == 0 else (model, k)
            merged[key] = merged.get(key, 0) + count
    return frozenset((m, k, c) for (m, k), c in merged.items())


def reference(options: list[Options], budget: Decimal, n: int) -> tuple[float, set[Groups]]:
    """The best value over every pair of options, and every cheapest allocation reaching it."""
    every: list[tuple[str, int, Decimal, float]] = [("", 0, Decimal(0), 0.0)]
    for o in options:
        for k, v in zip(o.ks.tolist(), o.value.tolist(), strict=True):
            if k > 0:
                every.append((o.cand.model, k, o.exact_cost(k), v))
    value_of = {(model, k): v for model, k, _, v in every}
    found: dict[Groups, tuple[float, Decimal]] = {}
    for mi, ki, ci, vi in every:
        if ci * n > budget:
            continue
        for mj, kj, cj, vj in every:
            # as many problems at the dearer, better option as the budget allows
            m = min(n, int(Fraction(budget - ci * n) / Fraction(cj - ci))) if cj > ci and vj > vi else 0
            groups = _canonical([(ki, mi, n - m, vi), (kj, mj, m, vj)])
            spend = (n - m) * ci + m * cj
            assert spend <= budget
            found[groups] = (sum(count * value_of[(model, k)] for model, k, count in groups), spend)
    best = max(v for v, _ in found.values())
    near = {g: s for g, (v, s) in found.items() if v >= best - 1e-9}
    cheapest = min(near.values())
    return best, {g for g, s in near.items() if s == cheapest}


CASES = [
    (seed, policy, hard_cap)
    for seed in range(60)
    for policy, hard_cap in [(Policy.FIXED, False), (Policy.UNTIL_PASS, False), (Policy.FIXED, True)]
]


@pytest.mark.parametrize(("seed", "policy", "hard_cap"), CASES)
def test_allocate_matches_every_pair_tried_exactly(seed: int, policy: Policy, hard_cap: bool) -> None:
    rng = np.random.default_rng(seed)
    cands = _cands(rng)
    n = int(rng.choice([1, 2, 3, 7, 40, 100]))
    cheapest = min(c.cost.worst_first if hard_cap else c.cost.first for c in cands)
    # from under one sample per problem to far past every candidate's k cap (the k cap binds)
    budget = (cheapest * n * Decimal(float(np.exp(rng.uniform(-0.5, 5))))).quantize(Decimal("0.0001"))
    s = PlanSettings(
        dollars=budget, task="t", problems=n, policy=policy, hard_cap=hard_cap, max_extrapolation=8.0
    )
    options = [options_for(c, s) for c in cands]
    got = allocate(options, budget, n)
    groups = _canonical([(v.k, v.opt.cand.model, count, v.value) for v, count in got])
    spend = sum((v.opt.exact_cost(v.k) * count for v, count in got), Decimal(0))
    value = sum(v.value * count for v, count in got)
    assert spend <= budget
    best, cheapest_best = reference(options, budget, n)
    assert value == pytest.approx(best, abs=1e-9)
    assert groups in cheapest_best


def test_a_budget_past_every_cap_puts_every_problem_on_the_best_option() -> None:
    """The k cap binds (10x the data): all n problems at the best candidate's cap, nothing else."""
    rng = np.random.default_rng(7)
    cands = _cands(rng)
    s = PlanSettings(dollars=Decimal(1000), task="t", problems=100, max_extrapolation=10.0)
    options = [options_for(c, s) for c in cands]
    got = allocate(options, s.dollars, s.problems)
    assert len(got) == 1 and got[0][1] == 100
    vertex = got[0][0]
    assert vertex.k == vertex.opt.k_cap
    assert vertex.value == max(float(o.value[-1]) for o in options)
    best, cheapest_best = reference(options, s.dollars, s.problems)
    assert 100 * vertex.value == pytest.approx(best, abs=1e-9)
    assert _canonical([(vertex.k, vertex.opt.cand.model, 100, vertex.value)]) in cheapest_best
