"""Use case: plan with the verifier you really have (``budget plan --fp-cost C --verifier ...``).

The coverage plan (:mod:`budget.service.planning`) assumes a verifier that recognises a correct
sample.  This use case adds, per model, the utility of the policy "submit the first accepted
sample, at most K attempts" (:mod:`budget.planner.utility`: ``TP - c FP``) and its ``K*``
under the same budget, for one of:

- ``perfect``: the coverage curve itself (``U(K)`` = coverage; no false positives);
- ``measured``: the model's two-tier samples in the store (verifier tier vs ground truth; see
  :mod:`budget.curves.verifier_quality`), as per-problem Dirichlet posteriors;
- ``stated``: ``--fp-rate R`` with ``--fp-rate-source``: the share of accepted samples that are
  wrong, assumed equally likely on every problem, on per-problem success rates recovered from
  the coverage curve (:func:`budget.planner.utility.rates_from_curve`);
- ``published``: the bundled catalog's figure for the model on the task (e.g. EvalPlus: pass@1
  under HumanEval's tests and under HumanEval+'s stronger ones, ``fp = 1 - plus / base``; see
  :class:`budget.catalog.PublishedVerifierQuality`), used like a stated rate;
- ``none``: no verifier; the majority vote over extracted answers
  (:mod:`budget.curves.majority_vote`), from the model's stored answers.

Default (``--verifier`` not given): ``measured`` where the store has two-tier samples of the
model on the task, ``stated`` with ``--fp-rate``, ``published`` where the catalog has a figure,
else ``perfect``.  ``--verifier measured`` takes the published figure of a model the store has no
two-tier samples of.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from budget.catalog import PublishedVerifierQuality
from budget.curves.majority_vote import AnswerDistribution, coverage, vote_accuracy
from budget.curves.verifier_quality import StatedVerifier, TwoTierCounts, VerifierQuality, estimate_quality
from budget.errors import InputError
from budget.planner import Alternative, Candidate, PlanResult
from budget.planner.utility import (
    DirichletPopulation,
    UtilityPlan,
    UtilityPoint,
    best_k,
    constant_fp_population,
    curve_ks,
    rates_from_curve,
)
from budget.service.planning import PlanRequest, UserCurves, make_plan

VerifierKind = Literal["perfect", "measured", "published", "stated", "none"]

#: (task, model) -> per-problem two-tier counts ([] when the store has none)
TwoTierLookup = Callable[[str, str], list[TwoTierCounts]]
#: (task, model) -> per-problem answer distributions ([] when there are none)
AnswerLookup = Callable[[str, str], list[AnswerDistribution]]
#: (task, model) -> the catalog's published verifier quality (None when it has none)
PublishedLookup = Callable[[str, str], "PublishedVerifierQuality | None"]


class VerifierRequest(BaseModel):
    """What ``--fp-cost``, ``--verifier``, ``--fp-rate`` ask."""

    model_config = ConfigDict(frozen=True)

    fp_cost: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    verifier: Literal["perfect", "measured", "none"] | None = None
    fp_rate: float | None = Field(default=None, ge=0, lt=1)
    fp_rate_source: str | None = None
    dollars_weight: float = Field(default=0.0, ge=0, allow_inf_nan=False)

    @classmethod
    def parse(
        cls, fp_cost: float | None, verifier: str | None, fp_rate: float | None, fp_rate_source: str | None
    ) -> VerifierRequest:
        """From the CLI's options; one-line errors for bad values."""
        if fp_cost is not None and (not np.isfinite(fp_cost) or fp_cost < 0):
            raise InputError(f"--fp-cost must be a finite number >= 0, got {fp_cost}")
        if verifier is not None and verifier not in ("perfect", "measured", "none"):
            raise InputError(f"--verifier must be perfect, measured or none, got {verifier!r}")
        if fp_rate is not None and not (0 <= fp_rate < 1):
            raise InputError(f"--fp-rate must be in [0, 1), got {fp_rate}")
        return cls(
            fp_cost=fp_cost or 0.0,
            verifier=verifier,  # type: ignore[arg-type]
            fp_rate=fp_rate,
            fp_rate_source=fp_rate_source,
        )


class VerifiedAlternative(Alternative):
    """An alternative of the coverage plan with what the real verifier makes of it."""

    verifier: VerifierKind
    k_star: int
    expected_true_positives: float
    expected_false_positives: float
    expected_abstentions: float
    expected_utility: float
    utility_curve: list[UtilityPoint]
    expected_accuracy: float | None = None
    coverage_at_k_star: float | None = Field(
        default=None, description="without a verifier: what coverage would promise at K* (it misleads)"
    )
    k_perfect: int = Field(description="K* of the same model with a perfect verifier, for comparison")
    fp_share: float | None = None
    fp_share_interval: tuple[float, float] | None = None
    fp_share_by_difficulty: dict[str, float | None] = Field(
        default_factory=dict, description="measured: FP share in the hard/medium/easy third of problems"
    )
    verifier_source: str = ""


class VerifiedPlanResult(PlanResult):
    """The coverage plan, with the verifier assumption, ``c`` and per-model ``K*``."""

    verifier_assumption: str
    fp_cost: float
    alternatives: list[VerifiedAlternative]  # type: ignore[assignment]
    verifier_quality: list[VerifierQuality] = Field(default_factory=list)
    verified_choice: VerifiedAlternative | None = Field(
        default=None,
        description="the model with the highest expected utility at its K*; None: abstain "
        "(``recommendation.allocations`` stay the coverage plan's)",
    )


def _cost_per_attempt(cand: Candidate) -> float:
    # the first sample's (expected) cost: no smaller than a repeat's, so a budget bound on it holds
    return float(max(cand.cost.first, cand.cost.repeat))


def _k_max(cand: Candidate, plan: PlanResult, measured_n: int | None) -> int:
    # the same cap for every verifier assumption: the curve's measured k, else the two-tier data's
    seen = cand.curve.max_observed_k or measured_n
    cap = plan.inputs.max_samples
    if seen:
        cap = min(cap, max(1, int(seen * plan.inputs.max_extrapolation)))
    return max(1, min(cap, 10_000))


def _perfect(cand: Candidate, k_max: int, plan: PlanResult, req: VerifierRequest) -> UtilityPlan:
    """U(K) = coverage(K) from the curve (no false positives), within the budget."""
    s = plan.inputs
    cost = _cost_per_attempt(cand)
    ks = np.arange(0, k_max + 1)
    cov = np.where(ks > 0, cand.curve.coverage(np.maximum(ks, 1)), 0.0)
    # expected attempts under "stop at the first accepted": sum_{j<K} (1 - coverage(j))
    miss = 1.0 - cov
    attempts = np.concatenate([[0.0], np.cumsum(miss)[:-1]])
    spend = s.problems * cost * (ks if s.hard_cap else attempts)
    ok = spend <= float(s.dollars) * (1 + 1e-12)
    limit = int(np.flatnonzero(ok).max())
    values = cov[: limit + 1] - req.dollars_weight * cost * attempts[: limit + 1]
    k_star = int(np.flatnonzero(values >= values.max() - 1e-12)[0])
    shown = sorted(set(curve_ks(limit)) | {k_star})
    return UtilityPlan(
        k_star=k_star,
        fp_cost=req.fp_cost,
        expected_true_positives=float(cov[k_star]),
        expected_false_positives=0.0,
        expected_abstentions=float(1.0 - cov[k_star]),
        expected_attempts=float(attempts[k_star]),
        expected_utility=float(values[k_star]),
        utility_curve=[UtilityPoint(k=int(k), utility=float(values[k])) for k in shown],
        k_limit=limit,
    )


def _budgeted(
    pop: object, cand: Candidate, k_max: int, plan: PlanResult, req: VerifierRequest
) -> UtilityPlan:
    s = plan.inputs
    return best_k(
        pop,  # type: ignore[arg-type]
        req.fp_cost,
        k_max=k_max,
        cost_per_attempt=_cost_per_attempt(cand),
        problems=s.problems,
        dollars=float(s.dollars),
        dollars_weight=req.dollars_weight,
        hard_cap=s.hard_cap,
    )


def _majority(
    answers: Sequence[AnswerDistribution], cand: Candidate, k_max: int, plan: PlanResult, req: VerifierRequest
) -> tuple[UtilityPlan, float]:
    """No verifier: submit the majority answer of K samples (every sample bought).

    A problem whose samples have no extractable answer abstains; any other submits, so
    ``FP = answered - accuracy``.  ``K`` is searched on :func:`curve_ks`' grid (0, 1, 2, 3, 5,
    10, 20, ...), the exact vote costing ``O(K^3)`` per problem.
    """
    s = plan.inputs
    cost = _cost_per_attempt(cand)
    afford = k_max if cost <= 0 else min(k_max, int(float(s.dollars) / (s.problems * cost)))
    ks = curve_ks(max(afford, 0))
    acc = {v.k: v.expected_accuracy for v in vote_accuracy(answers, ks)}
    answered = {k: float(np.mean([1.0 - d.p_none**k if k > 0 else 0.0 for d in answers])) for k in ks}
    values = {k: acc[k] - req.fp_cost * (answered[k] - acc[k]) - req.dollars_weight * cost * k for k in ks}
    k_star = min(ks, key=lambda k: (-round(values[k], 12), k))
    return (
        UtilityPlan(
            k_star=k_star,
            fp_cost=req.fp_cost,
            expected_true_positives=acc[k_star],
            expected_false_positives=answered[k_star] - acc[k_star],
            expected_abstentions=1.0 - answered[k_star],
            expected_attempts=float(k_star),
            expected_utility=values[k_star],
            utility_curve=[UtilityPoint(k=k, utility=values[k]) for k in ks],
            k_limit=afford,
        ),
        acc[k_star],
    )


def verified_plan(
    plan: PlanResult,
    candidates: Sequence[Candidate],
    req: VerifierRequest,
    *,
    two_tier: TwoTierLookup | None = None,
    answers: AnswerLookup | None = None,
    published: PublishedLookup | None = None,
) -> VerifiedPlanResult:
    """``plan`` with each alternative's ``K*`` under the verifier ``req`` names."""
    if req.fp_rate is not None and not (req.fp_rate_source or "").strip():
        raise InputError("--fp-rate needs --fp-rate-source (where the rate comes from)")
    if req.verifier is not None and req.fp_rate is not None:
        raise InputError("give either --verifier or --fp-rate, not both")
    by_model = {c.model: c for c in candidates}
    task = plan.inputs.task
    alts: list[VerifiedAlternative] = []
    qualities: list[VerifierQuality] = []
    kinds: set[str] = set()
    for alt in plan.alternatives:
        cand = by_model[alt.model]
        counts = two_tier(task, alt.model) if two_tier is not None else []
        pub = published(task, alt.model) if published is not None else None
        kind: VerifierKind
        if req.verifier == "none":
            kind = "none"
        elif req.verifier == "perfect":
            kind = "perfect"
        elif req.verifier == "measured" or (req.verifier is None and req.fp_rate is None and (counts or pub)):
            kind = "measured" if counts else "published"
            if not counts and pub is None:
                raise InputError(
                    f"--verifier measured: no two-tier samples of {alt.model} on {task} in the store "
                    "and no published figure in the catalog (budget run verifies both tiers; or state "
                    "a rate with --fp-rate)"
                )
        elif req.fp_rate is not None:
            kind = "stated"
        else:
            kind = "perfect"
        kinds.add(kind)
        measured_n = max((c.n for c in counts), default=None) if kind == "measured" else None
        k_max = _k_max(cand, plan, measured_n)
        perfect = _perfect(cand, k_max, plan, req)
        extra: dict[str, object] = {}
        if kind == "perfect":
            up = perfect
            source = "a perfect verifier: utility = coverage"
        elif kind == "measured":
            q = estimate_quality(counts, model=alt.model, task=task, seed=plan.inputs.seed)
            qualities.append(q)
            post = q.posterior()
            up = _budgeted(DirichletPopulation(post[:, 0], post[:, 1], post[:, 2]), cand, k_max, plan, req)
            extra = {
                "fp_share": q.fp_share,
                "fp_share_interval": q.fp_share_interval,
                "fp_share_by_difficulty": {b.label: b.fp_share for b in q.by_difficulty},
            }
            source = (
                f"measured: {q.samples} samples of {q.problems} problems judged by a weaker and the "
                "strongest stored tier (see two_tier_counts)"
            )
        elif kind == "published":
            assert pub is not None
            pop = constant_fp_population(rates_from_curve(cand.curve), pub.fp_share)
            up = _budgeted(pop, cand, k_max, plan, req)
            extra = {"fp_share": pub.fp_share}
            source = (
                f"published: {pub.fp_share:.1%} of accepted samples wrong = 1 - {pub.pass_plus:g}/"
                f"{pub.pass_base:g} (pass@1 under stronger / the task's tests; {pub.source})"
            )
        elif kind == "stated":
            stated = StatedVerifier(fp_rate=req.fp_rate or 0.0, source=req.fp_rate_source or "")
            pop = constant_fp_population(rates_from_curve(cand.curve), stated.fp_rate)
            up = _budgeted(pop, cand, k_max, plan, req)
            extra = {"fp_share": stated.fp_rate}
            source = f"stated: {stated.fp_rate:.1%} of accepted samples wrong ({stated.source})"
        else:
            dists = answers(task, alt.model) if answers is not None else []
            if not dists:
                raise InputError(
                    f"--verifier none needs per-sample final answers of {alt.model} on {task} "
                    "(a math task run with the exact_answer verifier)"
                )
            up, accuracy = _majority(dists, cand, k_max, plan, req)
            extra = {"expected_accuracy": accuracy, "coverage_at_k_star": coverage(dists, up.k_star)}
            source = f"no verifier: majority vote over the answers of {len(dists)} problems"
        alts.append(
            VerifiedAlternative(
                **alt.model_dump(),
                verifier=kind,
                k_star=up.k_star,
                expected_true_positives=up.expected_true_positives,
                expected_false_positives=up.expected_false_positives,
                expected_abstentions=up.expected_abstentions,
                expected_utility=up.expected_utility,
                utility_curve=up.utility_curve,
                k_perfect=perfect.k_star,
                verifier_source=source,
                **extra,  # type: ignore[arg-type]
            )
        )
    assumption = "/".join(sorted(kinds)) or "perfect"
    rec = plan.recommendation.model_copy(update={"headline": _headline(alts, req, assumption, plan)})
    note = (
        f"verifier: {assumption}; a wrong submission costs {req.fp_cost:g} (a right one scores 1, "
        "abstaining 0); policy: submit the first accepted sample, at most K* attempts "
        "(Stroebl, Kapoor, Narayanan 2024, arXiv:2411.17501)"
    )
    doc = plan.model_dump()
    doc.update(
        recommendation=rec,
        alternatives=[a.model_dump() for a in alts],
        assumptions=[*plan.assumptions, note],
        verifier_assumption=assumption,
        fp_cost=req.fp_cost,
        verifier_quality=qualities,
        verified_choice=_choice(alts),
    )
    return VerifiedPlanResult.model_validate(doc)


def _choice(alts: Sequence[VerifiedAlternative]) -> VerifiedAlternative | None:
    best = max(alts, key=lambda a: (a.expected_utility, -a.k_star), default=None)
    return best if best is not None and best.k_star > 0 and best.expected_utility > 0 else None


def _headline(
    alts: Sequence[VerifiedAlternative], req: VerifierRequest, assumption: str, plan: PlanResult
) -> str:
    n = plan.inputs.problems
    unit = plan.inputs.unit
    best = _choice(alts)
    head = f"[verifier: {assumption}, fp cost {req.fp_cost:g}] "
    if best is None:
        return head + (
            "do not sample: no model has a positive expected utility (a wrong submission costs more "
            "than the right ones it buys); abstain."
        )
    why = ""
    if best.k_star < best.k_perfect:
        share = (
            f"{best.fp_share:.1%} of accepted samples wrong"
            if best.fp_share is not None
            else "false positives"
        )
        why = (
            f"; a perfect verifier would take K = {best.k_perfect}, but with {share} more attempts "
            f"turn abstentions into wrong submissions"
        )
    elif best.verifier == "measured" and best.fp_share and best.k_star == best.k_perfect:
        bins = ", ".join(
            f"{label} {'-' if v is None else f'{v:.0%}'}" for label, v in best.fp_share_by_difficulty.items()
        )
        why = (
            f"; {best.fp_share:.1%} of accepted samples are wrong (by difficulty: {bins}), but on problems "
            "the first attempts already settle, so more attempts add right answers, not wrong ones"
        )
    if best.verifier == "none":
        what = f"expected accuracy {best.expected_accuracy:.1%} (majority vote)"
        if (
            best.coverage_at_k_star is not None
            and best.coverage_at_k_star > (best.expected_accuracy or 0) + 0.01
        ):
            what += f"; coverage would promise {best.coverage_at_k_star:.1%}, which no vote can pick out"
    else:
        what = (
            f"{best.expected_true_positives * n:.1f} {unit} right, "
            f"{best.expected_false_positives * n:.1f} wrong submitted, "
            f"{best.expected_abstentions * n:.1f} abstained"
        )
    if best.verifier == "perfect" and any(a.verifier != "perfect" for a in alts):
        why += (
            f"; {best.display or best.model}'s figure assumes a perfect verifier (no two-tier data of it; "
            "--fp-rate states one)"
        )
    cited = [a for a in alts if a.verifier == "published" and (a is best or a.k_star == 0)]
    if cited:
        why += "; " + "; ".join(f"{a.display or a.model}: {a.verifier_source}" for a in cited)
    zero = [a.display or a.model for a in alts if a.k_star == 0]
    tail = f"; K* = 0 (do not use): {', '.join(zero)}" if zero else ""
    return (
        head
        + f"sample {best.display or best.model} up to K* = {best.k_star} times per problem, submit the first "
        f"accepted: {what}; utility {best.expected_utility * n:.1f}{why}{tail}"
    )


def store_lookups(db: str | None) -> tuple[TwoTierLookup | None, AnswerLookup | None]:
    """Two-tier counts and answer distributions from the store at ``db`` (None: no store)."""
    from budget.store import location

    url = location.resolve(db)
    if not location.exists(url):
        return None, None

    def samples(task: str, model: str) -> list[tuple[str, str, dict[str, bool]]]:
        from budget.store.database import NoStoreError, Store

        try:
            store = Store(url, create=False)
        except NoStoreError:
            return []
        with store:
            rows = store.samples(task=task, model=model)
        return [
            (r.problem_id, r.completion or "", {t: v.passed for t, v in r.verdicts.items()}) for r in rows
        ]

    def two_tier(task: str, model: str) -> list[TwoTierCounts]:
        return two_tier_counts(samples(task, model))

    def answers(task: str, model: str) -> list[AnswerDistribution]:
        return answer_distributions(samples(task, model))

    return two_tier, answers


#: Tiers from the weakest check to the strongest.
TIER_ORDER = ("verifier", "ground_truth", "ground_truth_plus")


def two_tier_counts(rows: Sequence[tuple[str, str, dict[str, bool]]]) -> list[TwoTierCounts]:
    """Per-problem counts of samples judged by a weaker tier and the strongest ground truth.

    The pair is the weakest and the strongest of :data:`TIER_ORDER` that the most samples both
    carry (budget's runs: ``verifier`` and ``ground_truth``, then ``ground_truth_plus`` once
    built; an EvalPlus import: base and plus tests); samples without both are left out.
    """
    from collections import Counter

    from budget.curves.verifier_quality import counts_from_verdicts

    pairs: Counter[tuple[str, str]] = Counter()
    for _, _, v in rows:
        known = [t for t in TIER_ORDER if t in v]
        if len(known) >= 2:
            pairs[(known[0], known[-1])] += 1
    if not pairs:
        return []
    (lo, hi), _ = max(pairs.items(), key=lambda kv: (kv[1], TIER_ORDER.index(kv[0][1])))
    return counts_from_verdicts([(p, v[lo], v[hi]) for p, _, v in rows if lo in v and hi in v])


def answer_distributions(rows: Sequence[tuple[str, str, dict[str, bool]]]) -> list[AnswerDistribution]:
    """Per-problem answer distributions from samples' extracted final answers (exact_answer).

    An answer is right when its sample passed the ground truth (else the verifier tier); the
    answers of right samples form the right answer (equivalent spellings merged).
    """
    import sys

    from budget.verify.plugins import load_verifier

    load_verifier("exact_answer")
    plugin = sys.modules["budget_verifiers.exact_answer"]
    by_problem: dict[str, list[tuple[str | None, bool]]] = {}
    for pid, completion, verdicts in rows:
        ok = verdicts.get("ground_truth", verdicts.get("verifier"))
        if ok is None:
            continue
        raw = plugin.extract_answer(completion)
        by_problem.setdefault(pid, []).append((plugin.normalise(raw) if raw is not None else None, ok))
    out = []
    for pid, items in by_problem.items():
        right = {a for a, ok in items if ok and a is not None}
        n = len(items)
        wrong: dict[str, int] = {}
        for a, _ in items:
            if a is not None and a not in right:
                wrong[a] = wrong.get(a, 0) + 1
        p_c = sum(1 for a, _ in items if a in right) / n
        p_wrong = [v / n for v in wrong.values()]
        out.append(
            AnswerDistribution(
                problem_id=pid, p_correct=p_c, p_wrong=p_wrong, p_none=max(0.0, 1.0 - p_c - sum(p_wrong))
            )
        )
    return out


def make_verified_plan(
    request: PlanRequest, req: VerifierRequest, db: str | None = None
) -> VerifiedPlanResult:
    """``budget plan`` with ``--fp-cost``/``--verifier``/``--fp-rate``: the coverage plan, then K*."""
    from budget.catalog import catalog_candidates, load_catalog
    from budget.pricing import default_price_book
    from budget.service.store_link import user_candidates

    lookup = user_candidates(db)
    own: list[Candidate] = []

    def capturing(task: str | None) -> UserCurves:
        assert lookup is not None
        found = lookup(task)
        own.extend(found.candidates)
        return found

    book = default_price_book()
    plan = make_plan(request, book=book, user_candidates=capturing if lookup is not None else None)
    task = plan.inputs.task
    cands: dict[str, Candidate] = {}
    if task in load_catalog().tasks:
        cands.update((c.model, c) for c in catalog_candidates(task, book, seed=request.seed))
    cands.update((c.model, c) for c in own)
    two_tier, answers = store_lookups(db)
    return verified_plan(
        plan,
        [cands[a.model] for a in plan.alternatives],
        req,
        two_tier=two_tier,
        answers=answers,
        published=published_quality,
    )


def published_quality(task: str, model: str) -> PublishedVerifierQuality | None:
    """The bundled catalog's published verifier quality of ``model`` on ``task`` (None: none)."""
    from budget.catalog import load_catalog

    catalog = load_catalog()
    if task not in catalog.tasks:
        return None
    return next((e.verifier_quality for e in catalog.for_task(task) if e.model == model), None)
