"""No verifier: majority vote over extracted final answers, and what it is worth at k samples.

Pure: no I/O.  Without a verifier the policy is: draw ``k`` samples, extract each one's final
answer, submit the most frequent answer.  Coverage (some sample is right) keeps rising with
``k``; the vote does not: it converges to "is the right answer the mode of the model's answer
distribution?", and it can *fall* as ``k`` grows on a problem whose most likely answer is wrong
(Chen et al. 2024, "Are More LLM Calls All You Need? Towards Scaling Laws of Compound Inference
Systems", arXiv:2403.02419, Thm. 1; Brown et al. 2024, "Large Language Monkeys", Fig. 7: MATH,
majority vote plateaus near 41% while coverage climbs to 98%).

**Per problem** the model's answers follow a categorical distribution: ``p_correct`` for the
right answer, ``p_j`` for each distinct wrong answer, and ``p_none`` for samples with no
extractable answer (they do not vote).  With ``k`` samples the counts are multinomial.

**Tie-breaking (stated).**  Among answers tied for the most votes, one is picked uniformly at
random; if no sample has an answer, the problem is answered wrong (abstains).

**Exact accuracy.**  ``P(vote right) = sum_c P(N_correct = c) x E[1/(1+T) 1{every wrong answer
has <= c votes}]`` with ``T`` the number of wrong answers with exactly ``c`` votes, and ``c >= 1``.
Given ``N_correct = c`` the rest ``k - c`` split over the other answers by sequential binomials
(``N_j ~ Bin(remaining, p_j / remaining mass)``); a dynamic programme over the answers keeps the
state (votes left, ties so far) and drops paths where some ``N_j > c``; ``p_none`` takes what is
left unconstrained.  Cost ``O(k^3 m)`` for ``m`` distinct wrong answers; when some problem has
more than :data:`MAX_EXACT_ANSWERS` of them, :func:`vote_accuracy` uses Monte Carlo instead and
states its standard error.

**Reward-model hook.**  :func:`vote` picks the submitted answer from observed samples; given
``scores`` (e.g. a reward model's) it sums scores per answer instead of counting votes
(weighted majority vote).  The exact predictor covers the unweighted vote only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.stats import binom

from budget.curves.form import FloatArray

MAX_EXACT_ANSWERS = 12
MC_DRAWS = 20_000


class AnswerDistribution(BaseModel):
    """One problem's answer distribution: the right answer's chance, each wrong answer's, none."""

    model_config = ConfigDict(frozen=True)

    problem_id: str
    p_correct: float = Field(ge=0, le=1)
    p_wrong: list[float] = Field(default_factory=list)
    p_none: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> AnswerDistribution:
        if any(p < 0 for p in self.p_wrong):
            raise ValueError(f"{self.problem_id}: negative chance")
        total = self.p_correct + sum(self.p_wrong) + self.p_none
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"{self.problem_id}: answer chances sum to {total}, not 1")
        return self

    @classmethod
    def from_answers(cls, problem_id: str, answers: Sequence[str | None], correct: str) -> AnswerDistribution:
        """The empirical distribution of observed answers (``None``: no answer extracted)."""
        if not answers:
            raise ValueError(f"{problem_id}: no samples")
        n = len(answers)
        counts = Counter(a for a in answers if a is not None)
        p_none = sum(a is None for a in answers) / n
        p_c = counts.pop(correct, 0) / n
        return cls(
            problem_id=problem_id, p_correct=p_c, p_wrong=[v / n for v in counts.values()], p_none=p_none
        )


class VoteAccuracy(BaseModel):
    """Expected accuracy of the vote at ``k`` (mean over problems) and how it was computed."""

    k: int
    expected_accuracy: float
    standard_error: float = 0.0
    method: str


def _exact_one(p_c: float, p_w: FloatArray, p_none: float, k: int) -> float:
    """P(the vote is right) for one problem, exactly (see the module docstring)."""
    if k == 0 or p_c <= 0:
        return 0.0
    p_w = p_w[p_w > 0]
    m = p_w.size
    total = 0.0
    pc_n = binom.pmf(np.arange(k + 1), k, p_c)
    rest_mass = 1.0 - p_c
    for c in range(1, k + 1):
        if pc_n[c] == 0.0:
            continue
        left = k - c
        # state[r, t]: prob. that `r` votes remain to place and `t` wrong answers tie with c
        state = np.zeros((left + 1, m + 1))
        state[left, 0] = 1.0
        mass = rest_mass
        for j in range(m):
            q = min(1.0, p_w[j] / mass) if mass > 0 else 0.0
            new = np.zeros_like(state)
            for r in range(left + 1):
                row = state[r]
                if not row.any():
                    continue
                n = np.arange(0, min(r, c) + 1)
                pn = binom.pmf(n, r, q)
                for nj, pj in zip(n, pn, strict=True):
                    if pj == 0.0:
                        continue
                    if nj == c:
                        new[r - nj, 1:] += pj * row[:-1]
                    else:
                        new[r - nj] += pj * row
            state = new
            mass -= p_w[j]
        # what is left goes to "no answer" (no cap); if p_none = 0 only r = 0 is possible
        if p_none <= 1e-15:
            state[1:] = 0.0
        ties = np.arange(m + 1)
        total += pc_n[c] * float((state.sum(axis=0) / (1.0 + ties)).sum())
    return total


def _monte_carlo_one(p: FloatArray, k: int, rng: np.random.Generator, draws: int) -> FloatArray:
    """Per draw: 1/(ties) credit when the right answer (column 0) is among the modes; last column: none."""
    n = rng.multinomial(k, p / p.sum(), size=draws)
    votes = n[:, :-1]
    top = votes.max(axis=1)
    tied = (votes == top[:, None]).sum(axis=1)
    right = (votes[:, 0] == top) & (top > 0)
    out: FloatArray = np.where(right, 1.0 / tied, 0.0)
    return out


def vote_accuracy(
    problems: Sequence[AnswerDistribution], ks: Sequence[int], *, seed: int = 0, draws: int = MC_DRAWS
) -> list[VoteAccuracy]:
    """Expected majority-vote accuracy at each ``k``, averaged over ``problems``."""
    if not problems:
        raise ValueError("no problems")
    rng = np.random.default_rng(seed)
    out = []
    for k in ks:
        if k < 0:
            raise ValueError("k must be >= 0")
        exact = all(len([p for p in d.p_wrong if p > 0]) <= MAX_EXACT_ANSWERS for d in problems)
        if exact:
            acc = [_exact_one(d.p_correct, np.asarray(d.p_wrong, dtype=float), d.p_none, k) for d in problems]
            out.append(VoteAccuracy(k=k, expected_accuracy=float(np.mean(acc)), method="exact"))
        else:
            per = []
            for d in problems:
                p = np.array([d.p_correct, *d.p_wrong, d.p_none], dtype=float)
                per.append(_monte_carlo_one(p, k, rng, draws) if k > 0 else np.zeros(draws))
            m = np.vstack(per).mean(axis=0)
            out.append(
                VoteAccuracy(
                    k=k,
                    expected_accuracy=float(m.mean()),
                    standard_error=float(m.std(ddof=1) / np.sqrt(draws)),
                    method=f"monte carlo, {draws} draws",
                )
            )
    return out


def coverage(problems: Sequence[AnswerDistribution], k: int) -> float:
    """Share of problems with the right answer among ``k`` samples (what a perfect verifier gets)."""
    return float(np.mean([1.0 - (1.0 - d.p_correct) ** k for d in problems]))


def vote(
    answers: Sequence[str | None], scores: Sequence[float] | None = None, *, seed: int = 0
) -> str | None:
    """The submitted answer: most votes (or largest summed ``scores``); ties uniformly at random."""
    weights: dict[str, float] = {}
    for i, a in enumerate(answers):
        if a is None:
            continue
        weights[a] = weights.get(a, 0.0) + (1.0 if scores is None else float(scores[i]))
    if not weights:
        return None
    top = max(weights.values())
    modes = sorted(a for a, v in weights.items() if v == top)
    return modes[int(np.random.default_rng(seed).integers(len(modes)))]
