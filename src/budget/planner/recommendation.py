"""The planner's entry point: the best plan, per-model alternatives, headline and caveats."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from budget.errors import InputError, PlanningError
from budget.money import fmt_usd
from budget.planner.allocation import HullPoint, Options, allocate, hull_vertices, options_for
from budget.planner.estimate import crossings, estimate, frontier_values
from budget.planner.models import (
    Allocation,
    Alternative,
    Candidate,
    Estimate,
    FrontierPoint,
    PlanResult,
    PlanSettings,
    Policy,
    Recommendation,
    SingleSample,
)
from budget.planner.provenance import provenance


def plan(candidates: Sequence[Candidate], settings: PlanSettings) -> PlanResult:
    """The best plan for ``settings`` over ``candidates``, with per-model alternatives."""
    if not candidates:
        raise InputError("no candidate models to plan with")
    s = settings
    if s.hard_cap:
        unbounded = [c.label for c in candidates if not c.cost.worst_stated]
        if unbounded:
            raise PlanningError(
                f"--hard-cap needs an upper bound on the cost of one attempt, and none is stated for "
                f"{', '.join(unbounded)} (only an average is known); pass --worst-multiple X "
                "to bound each attempt at X times its average, or leave those models out with --models"
            )
    options = [options_for(c, s) for c in candidates]
    best = estimate(allocate(options, s.dollars, s.problems), s)
    if not best.allocations:
        cheapest = min(candidates, key=lambda c: c.cost.worst_first if s.hard_cap else c.cost.first)
        raise PlanningError(
            f"{fmt_usd(s.dollars)} buys no sample: the cheapest, {cheapest.label}, costs "
            f"{fmt_usd(cheapest.cost.worst_first if s.hard_cap else cheapest.cost.first)} per sample"
        )
    hulls = {o.cand.model: hull_vertices([o]) for o in options}
    alternatives = []
    for o in options:
        est = estimate(allocate([o], s.dollars, s.problems), s)
        main_k = est.allocations[0].samples_per_problem if est.allocations else 0
        top_k = max((a.samples_per_problem for a in est.allocations), default=0)  # the least certain figure
        alternatives.append(
            Alternative(
                **est.model_dump(),
                model=o.cand.model,
                display=o.cand.label,
                tier=o.cand.tier,
                samples_per_problem=main_k,
                cost_model=o.cand.cost.formula,
                source=o.cand.source,
                provenance=provenance(o.cand.curve, o.cand.cost, top_k, o.cand.published) if top_k else None,
            )
        )
    singles = []
    for o in options:
        cov = float(o.cand.curve.coverage([1])[0])
        lo, hi = o.cand.curve.interval([1], s.level)
        cost = o.cand.cost.first * s.problems
        singles.append(
            SingleSample(
                model=o.cand.model,
                display=o.cand.label,
                expected_coverage=cov,
                expected_coverage_interval=(float(lo[0]), float(hi[0])),
                expected_solved=cov * s.problems,
                cost=cost,
                within_budget=cost <= s.dollars,
                provenance=provenance(o.cand.curve, o.cand.cost, 1, o.cand.published),
            )
        )
    budget_f = float(s.dollars)
    grid = _frontier_grid(hulls, budget_f, s.problems)
    frontier = {
        o.cand.model: [
            FrontierPoint(dollars=float(d), expected_solved=float(v))
            for d, v in zip(grid, frontier_values(hulls[o.cand.model], grid, s.problems), strict=True)
        ]
        for o in options
    }
    labels = {o.cand.model: o.cand.label for o in options}
    warnings = _warnings(best, options, s)
    return PlanResult(
        inputs=s,
        recommendation=Recommendation(**best.model_dump(), headline=_headline(best, singles, labels, s)),
        alternatives=alternatives,
        frontier_single_sample=singles,
        frontier=frontier,
        crossings=crossings(hulls, labels, budget_f, s.problems),
        assumptions=_assumptions(s, candidates),
        warnings=warnings,
    )


def _per(unit: str) -> str:
    return unit[:-1] if unit.endswith("s") else unit


def _headline(best: Estimate, singles: list[SingleSample], labels: dict[str, str], s: PlanSettings) -> str:
    """One sentence: what to sample, what it should solve and cost, against a frontier model."""
    by_model: dict[str, list[Allocation]] = {}
    for a in best.allocations:
        by_model.setdefault(a.model, []).append(a)
    parts = []
    for model, groups in by_model.items():
        ks = sorted(g.samples_per_problem for g in groups)
        n = sum(g.problems for g in groups)
        k_txt = f"{ks[0]:,}x" if len(ks) == 1 else f"{ks[0]:,}-{ks[-1]:,}x"
        if s.policy is Policy.UNTIL_PASS:  # at most: sampling stops at the first accepted
            k_txt = f"up to {ks[-1]:,}x"
        where = f"per {_per(s.unit)}" if n == s.problems else f"on {n} of {s.problems} {s.unit}"
        parts.append(f"{labels[model]} {k_txt} {where}")
    lo, hi = best.solved_interval
    text = (
        f"Sample {' + '.join(parts)} for {fmt_usd(best.expected_cost)}: "
        f"{best.expected_solved:.0f} of {s.problems} {s.unit} ({s.level:.0%}: {lo:.0f}-{hi:.0f}) "
        "get at least one correct sample, if your verifier recognises it"
    )
    if best.dollars_per_solved is not None:
        text += f" ({fmt_usd(best.dollars_per_solved)} per solved)"
    others = [x for x in singles if x.model not in by_model]
    if others:
        affordable = [x for x in others if x.within_budget]
        top = max(affordable or others, key=lambda x: x.expected_solved)
        text += (
            f"; one sample of {top.display} per {_per(s.unit)} solves {top.expected_solved:.0f} "
            f"for {fmt_usd(top.cost)}" + ("" if top.within_budget else " (over budget)")
        )
    return text


def _warnings(best: Estimate, options: Sequence[Options], s: PlanSettings) -> list[str]:
    """One warning per model and cause (a model sampled at several k gets one, for its range)."""
    out = []
    ks_by_model: dict[str, list[int]] = {}
    for a in best.allocations:
        ks_by_model.setdefault(a.model, []).append(a.samples_per_problem)
    for model, ks in ks_by_model.items():
        o = next(o for o in options if o.cand.model == model)
        lo, hi = min(ks), max(ks)
        k_txt = f"k={hi:,}" if lo == hi else f"k={lo:,}-{hi:,}"
        mk = o.cand.curve.max_observed_k
        if mk and hi > mk:
            out.append(
                f"{o.cand.label}: {k_txt} extrapolates up to {hi / mk:.1f}x "
                f"past the largest measured k ({mk:,})"
            )
        if hi >= o.k_cap and o.k_cap < s.max_samples:
            out.append(
                f"{o.cand.label}: stopped at k={o.k_cap:,} ({s.max_extrapolation:g}x the data); "
                "money beyond that is not bet on an extrapolated curve"
            )
        out.extend(f"{o.cand.label}: {note}" for note in o.cand.curve.notes if "borrowed" in note)
    left = s.dollars - (best.worst_case_cost if s.hard_cap else best.expected_cost)
    if left > s.dollars / 10:
        out.append(f"{fmt_usd(left)} of the budget is left unspent by the best plan")
    return out


def _assumptions(s: PlanSettings, candidates: Sequence[Candidate]) -> list[str]:
    out = [
        "coverage assumes a verifier that recognises a correct sample (no false positives or negatives)",
        f"the {s.problems} {s.unit} are like the problems the curves were measured on",
        f"intervals are {s.level:.0%}: expected coverage over curve uncertainty (bootstrap); "
        "problems solved adds the chance of which problems get solved",
    ]
    if s.policy is Policy.UNTIL_PASS:
        out.append("until-pass stops a problem at its first accepted sample; cost is the expectation")
    if s.hard_cap:
        out.append("hard cap: planned on the worst-case cost of every sample")
        out.extend(
            f"hard cap for {c.label}: at most {fmt_usd(c.cost.worst_first)} per sample ({c.cost.worst_basis})"
            for c in candidates
            if c.cost.worst_basis
        )
    if any(c.cost.kind == "per_attempt" for c in candidates):
        out.append("per-attempt costs are averages (published at the prices of their date, or given by you)")
    user = sorted({src for c in candidates for src in c.cost.sources if src.startswith("user-given")})
    if user:
        out.append("re-priced at prices you gave: " + "; ".join(user))
    return out


def _frontier_grid(hulls: dict[str, list[HullPoint]], budget: float, n: int) -> np.ndarray:
    """Budgets at which to draw the frontier: where the lines move, and the user's budget.

    From the cheaper of budget/20 and one sample of every problem from the cheapest model,
    to budget x 5, but no further than 1.25 x budget past the point where every model's
    frontier is flat (its last hull vertex).
    """
    firsts = [h[1].cost * n for h in hulls.values() if len(h) > 1]
    lasts = [h[-1].cost * n for h in hulls.values()]
    lo = min([budget / 20, *firsts])
    hi = max(budget * 1.25, min(budget * 5, max(lasts, default=budget)))
    return np.unique(np.concatenate([np.geomspace(lo, hi, 48), [budget]]))
