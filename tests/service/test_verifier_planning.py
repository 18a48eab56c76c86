"""budget plan with the verifier you really have: K* under weak tests, K* = 0, no verifier."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from budget.curves import CoverageCurve
from budget.curves.majority_vote import AnswerDistribution, coverage, vote_accuracy
from budget.curves.verifier_quality import TwoTierCounts
from budget.errors import InputError
from budget.planner import Candidate
from budget.pricing import SampleCost
from budget.service.planning import PlanRequest, UserCurves, make_plan
from budget.service.verifier_planning import (
    VerifierRequest,
    answer_distributions,
    two_tier_counts,
    verified_plan,
)

TASK = "synthetic-weak-tests"
N = 30


def cost(usd: str) -> SampleCost:
    d = Decimal(usd)
    return SampleCost(kind="per_attempt", first=d, repeat=d, worst_first=d, worst_repeat=d, formula="test")


def cand(model: str, a: float, b: float, usd: str = "0.0001") -> Candidate:
    curve = CoverageCurve(
        model=model, task=TASK, form="power_law", params={"a": a, "b": b}, max_observed_k=20
    )
    return Candidate(model=model, curve=curve, cost=cost(usd))


CANDS = [cand("cheap", -0.9, -0.5), cand("fooled", -3.0, -0.2)]


def two_tier(task: str, model: str) -> list[TwoTierCounts]:
    """20 samples per problem. cheap: half the problems solvable (8 accepted-right, 0-1 wrong),
    half not, where 1 in 20 samples fools the tests.  fooled: the tests accept wrong samples
    more often than right ones."""
    rows = []
    for i in range(N):
        if model == "cheap":
            right, wrong = (8, i % 2) if i < N // 2 else (0, 1)
        else:
            right, wrong = (1 if i % 5 == 0 else 0), 2
        rows.append(TwoTierCounts(problem_id=f"P{i}", n=20, accepted=right + wrong, accepted_correct=right))
    return rows


def plan_for(req: VerifierRequest, dollars: str = "50", **kw: object):  # type: ignore[no-untyped-def]
    plan = make_plan(
        PlanRequest.parse(dollars, task=TASK, **kw),  # type: ignore[arg-type]
        user_candidates=lambda task: UserCurves(TASK, CANDS, N),
    )
    return verified_plan(plan, CANDS, req, two_tier=two_tier)


def test_weak_tests_give_a_smaller_k_than_a_perfect_verifier() -> None:
    perfect = plan_for(VerifierRequest(fp_cost=4, verifier="perfect"))
    measured = plan_for(VerifierRequest(fp_cost=4))  # default: the store's two-tier data
    p = {a.model: a for a in perfect.alternatives}["cheap"]
    m = {a.model: a for a in measured.alternatives}["cheap"]
    assert p.verifier == "perfect" and m.verifier == "measured"
    assert p.k_star == 200  # 10 x the largest measured k: the planner's extrapolation cap
    assert 0 < m.k_star < p.k_star == m.k_perfect
    assert m.expected_false_positives > 0 and m.fp_share is not None and m.fp_share_interval is not None
    assert "verifier: measured" in measured.recommendation.headline
    assert "perfect verifier would take K = 200" in measured.recommendation.headline
    assert measured.verifier_quality and measured.verifier_quality[0].model == "cheap"
    # the JSON contract
    doc = measured.model_dump(mode="json")
    alt = doc["alternatives"][0]
    for key in (
        "verifier",
        "k_star",
        "expected_true_positives",
        "expected_false_positives",
        "expected_utility",
    ):
        assert key in alt
    assert {"k", "utility"} <= set(alt["utility_curve"][0])
    assert doc["schema_version"] >= 1


def test_a_model_that_fools_the_tests_gets_k_zero() -> None:
    res = plan_for(VerifierRequest(fp_cost=4))
    fooled = {a.model: a for a in res.alternatives}["fooled"]
    assert fooled.k_star == 0 and fooled.expected_utility == 0.0
    assert "K* = 0 (do not use): fooled" in res.recommendation.headline
    assert res.verified_choice is not None and res.verified_choice.model == "cheap"
    # at c = 8 even the cheap model's false positives outweigh its right answers: abstain
    worse = plan_for(VerifierRequest(fp_cost=8))
    assert all(a.k_star == 0 for a in worse.alternatives) and worse.verified_choice is None
    assert "do not sample" in worse.recommendation.headline


def test_higher_fp_cost_never_raises_k_star() -> None:
    ks = [
        {a.model: a.k_star for a in plan_for(VerifierRequest(fp_cost=c)).alternatives}["cheap"]
        for c in (0, 1, 2, 4, 8)
    ]
    assert ks == sorted(ks, reverse=True)


def test_perfect_verifier_utility_is_the_coverage_curve() -> None:
    res = plan_for(VerifierRequest(fp_cost=4, verifier="perfect"))
    alt = {a.model: a for a in res.alternatives}["cheap"]
    curve = CANDS[0].curve
    for pt in alt.utility_curve:
        want = 0.0 if pt.k == 0 else float(curve.coverage([pt.k])[0])
        assert pt.utility == pytest.approx(want)


def test_budget_binds_k() -> None:
    # $0.03 over 30 problems at $0.0001 per attempt: at most 10 attempts per problem, worst case
    res = plan_for(VerifierRequest(fp_cost=0, verifier="perfect"), dollars="0.03", hard_cap=True)
    alt = {a.model: a for a in res.alternatives}["cheap"]
    assert alt.k_star == 10


def test_stated_fp_rate_needs_a_source() -> None:
    with pytest.raises(InputError):
        plan_for(VerifierRequest(fp_cost=4, fp_rate=0.1))
    res = plan_for(VerifierRequest(fp_cost=4, fp_rate=0.1, fp_rate_source="Stroebl et al. 2024, Fig. 2"))
    alt = {a.model: a for a in res.alternatives}["cheap"]
    assert alt.verifier == "stated" and alt.fp_share == 0.1 and alt.k_star < alt.k_perfect


def test_no_verifier_never_promises_more_than_the_vote() -> None:
    dists = [
        AnswerDistribution(problem_id="easy", p_correct=0.6, p_wrong=[0.3], p_none=0.1),
        AnswerDistribution(problem_id="trap", p_correct=0.3, p_wrong=[0.5, 0.2]),
    ]
    plan = make_plan(
        PlanRequest.parse("50", task=TASK), user_candidates=lambda task: UserCurves(TASK, CANDS, N)
    )
    res = verified_plan(plan, CANDS, VerifierRequest(fp_cost=0, verifier="none"), answers=lambda t, m: dists)
    for alt in res.alternatives:
        assert alt.verifier == "none" and alt.expected_accuracy is not None
        (vote,) = vote_accuracy(dists, [alt.k_star])
        assert alt.expected_accuracy == pytest.approx(vote.expected_accuracy)
        assert alt.expected_accuracy <= coverage(dists, alt.k_star)
        assert alt.coverage_at_k_star == pytest.approx(coverage(dists, alt.k_star))
    assert "coverage would promise" in res.recommendation.headline
    with pytest.raises(InputError):
        verified_plan(plan, CANDS, VerifierRequest(verifier="none"), answers=lambda t, m: [])


def test_counts_and_answers_from_stored_rows() -> None:
    rows = [
        ("A", "", {"verifier": True, "ground_truth": True}),
        ("A", "", {"verifier": True, "ground_truth": False}),
        ("B", "", {"verifier": False, "ground_truth": False}),
        ("B", "", {"verifier": True}),  # one tier only: left out
    ]
    counts = {c.problem_id: c for c in two_tier_counts(rows)}
    assert counts["A"] == TwoTierCounts(problem_id="A", n=2, accepted=2, accepted_correct=1)
    assert counts["B"].n == 1
    plus = [("A", "", {"verifier": True, "ground_truth": True, "ground_truth_plus": False})]
    assert two_tier_counts(plus)[0].accepted_correct == 0  # the strongest tier decides
    evalplus = [("A", "", {"ground_truth": True, "ground_truth_plus": False})] * 3  # base vs plus tests
    assert two_tier_counts(evalplus)[0] == TwoTierCounts(problem_id="A", n=3, accepted=3, accepted_correct=0)
    assert two_tier_counts([("A", "", {"verifier": True})]) == []
    answers = [
        ("M", "so the answer is \\boxed{4}", {"ground_truth": True}),
        ("M", "\\boxed{5}", {"ground_truth": False}),
        ("M", "\\boxed{5}", {"ground_truth": False}),
        ("M", "no idea", {"ground_truth": False}),
    ]
    (d,) = answer_distributions(answers)
    assert d.p_correct == 0.25 and sorted(d.p_wrong)[-1] == 0.5
    assert np.isclose(d.p_correct + sum(d.p_wrong) + d.p_none, 1.0)


# --- the catalog's published verifier quality (EvalPlus: HumanEval vs HumanEval+) ---------------


def _utility_by_hand(a: np.ndarray, w: float, c: float, k: int) -> float:
    """``E[TP - c FP]`` of "submit the first accepted of at most k", attempt by attempt.

    Each attempt on problem i is accepted-and-right with probability ``a_i``, accepted-and-wrong
    with ``w_i = min(w, 1 - a_i)``, else rejected (then the next attempt).  Written as the loop
    over attempts, not the planner's closed form.
    """
    wi = np.minimum(w, 1.0 - a)
    still = np.ones_like(a)  # P(no attempt accepted yet)
    total = np.zeros_like(a)
    for _ in range(k):
        total += still * (a - c * wi)
        still = still * (1.0 - a - wi)
    return float(total.mean())


def test_catalog_humaneval_plans_with_the_published_fp_share(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``budget plan --task humaneval --dollars 50 --fp-cost 4`` with no store.

    Failed before the catalog carried verifier quality: every HumanEval model planned as if
    HumanEval's tests were perfect (CodeGen-Mono-16.1B K* = 1000, no model at K* = 0).
    EvalPlus pass@1 (leaderboard results.json): CodeGen-16B 32.9 -> 28.0 on HumanEval+, so
    14.9% of accepted samples are wrong; InCoder-6.7B 15.9 -> 12.2, 23.3%.
    """
    import json

    from typer.testing import CliRunner

    from budget.cli import _register, app
    from budget.planner.utility import rates_from_curve

    _register(None)
    env = {"BUDGET_DB": str(tmp_path / "absent.db")}
    runner = CliRunner()
    base = ["plan", "--task", "humaneval", "--dollars", "50", "--fp-cost", "4", "--json"]
    got = runner.invoke(app, base, env=env)
    perfect = runner.invoke(app, [*base, "--verifier", "perfect"], env=env)
    assert got.exit_code == 0 and perfect.exit_code == 0, got.output + perfect.output
    doc, doc_p = json.loads(got.output), json.loads(perfect.output)
    alts = {a["model"]: a for a in doc["alternatives"]}
    alts_p = {a["model"]: a for a in doc_p["alternatives"]}
    c = 4.0

    # the share is the published one: 1 - plus / base
    f_cg, f_in = 1 - 28.0 / 32.9, 1 - 12.2 / 15.9
    assert alts["codegen-16b-mono"]["verifier"] == "published"
    assert alts["codegen-16b-mono"]["fp_share"] == pytest.approx(f_cg, abs=1e-9)
    assert alts["incoder-6.7b"]["fp_share"] == pytest.approx(f_in, abs=1e-9)
    assert alts["codex-12b"]["verifier"] == "perfect"  # no citable HumanEval+ figure: left out

    # InCoder: K* = 0 by hand.  At K = 1, U = p1 - c w with w = f/(1-f) p1 (the pooled share at
    # K = 1 is f), i.e. p1 (1 - c f / (1 - f)) = 0.159 x (1 - 4 x 0.303) < 0.  For K >= 1,
    # U(K) = mean_i (a_i - c w) g_i with g_i = sum_{j<K} (1 - a_i - w)^j decreasing in a_i while
    # a_i - c w increases: by Chebyshev's sum inequality U(K) <= U(1)-sign x mean(g) < 0, so K* = 0
    # whatever the spread of per-problem rates behind pass@1.
    p1 = 0.159
    assert p1 * (1 - c * f_in / (1 - f_in)) < 0
    assert alts["incoder-6.7b"]["k_star"] == 0 and alts_p["incoder-6.7b"]["k_star"] > 0
    assert alts["incoder-6.7b"]["expected_utility"] == 0.0

    # CodeGen: K* by brute force over K on the curve's per-problem rates, with the loop above.
    cg = alts["codegen-16b-mono"]
    from budget.catalog import catalog_candidates
    from budget.pricing import default_price_book

    curve = {x.model: x for x in catalog_candidates("humaneval", default_price_book())}[
        "codegen-16b-mono"
    ].curve
    a = rates_from_curve(curve)
    w = f_cg / (1 - f_cg) * float(a.mean())
    values = [_utility_by_hand(a, w, c, k) for k in range(0, 41)]
    k_hand = int(np.argmax(values))
    assert values[1] > 0  # using the model pays at first ...
    assert cg["k_star"] == k_hand and cg["expected_utility"] == pytest.approx(values[k_hand], abs=1e-6)
    assert 0 < cg["k_star"] < alts_p["codegen-16b-mono"]["k_star"]  # ... but far fewer attempts

    # the headline names the assumption, the share and its source
    head = doc["recommendation"]["headline"]
    assert head.startswith("[verifier: perfect/published, fp cost 4]")
    assert "InCoder-6.7B: published: 23.3% of accepted samples wrong" in head
    assert "EvalPlus" in head and "HumanEval+ 12.2" in head
    assert "K* = 0 (do not use): InCoder-6.7B" in head


def test_measured_falls_back_to_the_published_figure_and_stated_wins() -> None:
    """``--verifier measured`` without two-tier data takes the catalog's figure; ``--fp-rate`` wins."""
    from budget.catalog import PublishedVerifierQuality

    pub = PublishedVerifierQuality(pass_base=0.5, pass_plus=0.3, source="test table 1")
    plan = make_plan(
        PlanRequest.parse("50", task=TASK), user_candidates=lambda task: UserCurves(TASK, CANDS, N)
    )
    look = lambda task, model: pub if model == "cheap" else None  # noqa: E731
    got = verified_plan(
        plan,
        CANDS,
        VerifierRequest(fp_cost=2.0, verifier="measured"),
        published=look,
        two_tier=lambda t, m: two_tier(t, m) if m == "fooled" else [],
    )
    kinds = {a.model: a.verifier for a in got.alternatives}
    assert kinds == {"cheap": "published", "fooled": "measured"}
    cheap = next(a for a in got.alternatives if a.model == "cheap")
    assert cheap.fp_share == pytest.approx(0.4) and "test table 1" in cheap.verifier_source
    stated = verified_plan(
        plan, CANDS, VerifierRequest(fp_cost=2.0, fp_rate=0.05, fp_rate_source="mine"), published=look
    )
    assert {a.verifier for a in stated.alternatives} == {"stated"}
    with pytest.raises(ValueError):
        PublishedVerifierQuality(pass_base=0.3, pass_plus=0.5, source="x")
