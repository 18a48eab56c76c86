"""How good is the verifier?  Per problem: the chance a sample is accepted, and the chance an
accepted sample is correct, from two-tier data (a production check and a stronger ground truth).

Pure: no I/O.  Input per problem: ``n`` samples judged by both tiers, ``accepted`` of them passed
by the verifier tier, ``accepted_correct`` of those also passed by the ground-truth tier.  Each
sample is one of three outcomes: accepted-and-correct (chance ``a``), accepted-and-wrong (a false
positive, chance ``w``) or rejected (``r = 1 - a - w``).  A sample the verifier rejects is
counted as rejected whatever the ground truth says: the policy "submit the first accepted"
never submits it (its false negatives only cost attempts).

**Model.**  Per problem ``(a, w, r) ~ Dirichlet(alpha_c, alpha_w, alpha_r)``, shared across the
problems of one (model, task), and the counts are multinomial given the chances: the
Dirichlet-multinomial.  ``alpha`` is fitted by maximum likelihood over problems (empirical Bayes;
Minka 2000, "Estimating a Dirichlet distribution", Sec. 3 for the likelihood), and each problem's
posterior is ``Dirichlet(alpha + counts)``.  A problem with few samples is thus pulled toward the
population, and one with no accepted sample still has some chance of a false positive: that is
what makes large ``K`` costly (Stroebl, Kapoor, Narayanan 2024, arXiv:2411.17501, Sec. 4).

**Uncertainty.**  The pooled false-positive share (wrong accepted / accepted) gets a
percentile-bootstrap interval over problems (resampling whole problems keeps the correlation of
a problem's samples; Efron & Tibshirani 1993, Ch. 13).

**Difficulty.**  Problems are split into terciles of their empirical ground-truth pass rate
(accepted-correct / n); the false-positive share per tercile shows how it moves with
difficulty (the paper finds weaker models and harder problems have more).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import minimize
from scipy.special import gammaln

from budget.curves.form import FloatArray

N_BOOT = 1000


class TwoTierCounts(BaseModel):
    """One problem's samples judged by both tiers."""

    model_config = ConfigDict(frozen=True)

    problem_id: str
    n: int = Field(ge=0)
    accepted: int = Field(ge=0)
    accepted_correct: int = Field(ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> TwoTierCounts:
        if not self.accepted_correct <= self.accepted <= self.n:
            raise ValueError(f"{self.problem_id}: need accepted_correct <= accepted <= n")
        return self


class DifficultyBin(BaseModel):
    """One band of problem difficulty: its problems, and the verifier's false positives there."""

    label: str
    problems: int
    pass_rate_range: tuple[float, float]
    accepted: int
    false_positives: int
    fp_share: float | None


class StatedVerifier(BaseModel):
    """A false-positive share stated by the user, with where it comes from."""

    model_config = ConfigDict(frozen=True)

    fp_rate: float = Field(ge=0, lt=1)
    source: str = Field(min_length=1)


class VerifierQuality(BaseModel):
    """Verifier quality for one (model, task) and the tiers compared."""

    model: str
    task: str
    verifier_tier: str
    truth_tier: str
    problems: int
    samples: int
    accept_rate: float
    fp_share: float | None = Field(description="wrong accepted / accepted, pooled over problems")
    fp_share_interval: tuple[float, float] | None
    level: float
    prior: tuple[float, float, float] = Field(
        description="Dirichlet alpha: accepted-correct, -wrong, rejected"
    )
    by_difficulty: list[DifficultyBin]
    counts: list[TwoTierCounts]

    def posterior(self) -> FloatArray:
        """Per-problem Dirichlet posteriors ``alpha + counts``, shape (P, 3) (accepted-correct,
        accepted-wrong, rejected): a :class:`budget.planner.utility.DirichletPopulation`.
        """
        out: FloatArray = np.asarray(self.prior)[None, :] + _matrix(self.counts)
        return out


def _matrix(counts: Sequence[TwoTierCounts]) -> FloatArray:
    """(P, 3) outcome counts: accepted-correct, accepted-wrong, rejected."""
    return np.array(
        [[x.accepted_correct, x.accepted - x.accepted_correct, x.n - x.accepted] for x in counts], dtype=float
    ).reshape(-1, 3)


def dirichlet_multinomial_loglik(alpha: FloatArray, counts: FloatArray) -> float:
    """Sum over problems of log P(counts | alpha), without the multinomial coefficient."""
    n = counts.sum(axis=1)
    a0 = alpha.sum()
    return float(
        (gammaln(a0) - gammaln(n + a0) + (gammaln(counts + alpha) - gammaln(alpha)).sum(axis=1)).sum()
    )


def fit_prior(counts: FloatArray) -> FloatArray:
    """Maximum-likelihood Dirichlet-multinomial ``alpha`` (log-parametrised, bounded to [1e-3, 1e4]).

    Problems without samples carry no information and are left out.  A flat start (method of
    moments is unstable with few samples per problem) then L-BFGS-B on ``log alpha``.
    """
    c = counts[counts.sum(axis=1) > 0]
    if c.shape[0] == 0:
        return np.ones(3)
    share = (c.sum(axis=0) + 0.5) / (c.sum() + 1.5)
    start = np.log(share * 2.0)

    def nll(theta: FloatArray) -> float:
        return -dirichlet_multinomial_loglik(np.exp(theta), c)

    res = minimize(nll, start, method="L-BFGS-B", bounds=[(np.log(1e-3), np.log(1e4))] * 3)
    out: FloatArray = np.exp(res.x)
    return out


def _fp_share(c: FloatArray) -> float | None:
    acc = c[:, 0].sum() + c[:, 1].sum()
    return float(c[:, 1].sum() / acc) if acc > 0 else None


def _bins(counts: Sequence[TwoTierCounts], c: FloatArray) -> list[DifficultyBin]:
    n = c.sum(axis=1)
    keep = n > 0
    rate = np.divide(c[:, 0], n, out=np.zeros_like(n), where=keep)
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(rate[idx], kind="stable")]
    out = []
    for label, part in zip(("hard", "medium", "easy"), np.array_split(order, 3), strict=True):
        if part.size == 0:
            continue
        sub = c[part]
        acc = int(sub[:, 0].sum() + sub[:, 1].sum())
        out.append(
            DifficultyBin(
                label=label,
                problems=int(part.size),
                pass_rate_range=(float(rate[part].min()), float(rate[part].max())),
                accepted=acc,
                false_positives=int(sub[:, 1].sum()),
                fp_share=_fp_share(sub),
            )
        )
    return out


def estimate_quality(
    counts: Sequence[TwoTierCounts],
    *,
    model: str,
    task: str,
    verifier_tier: str = "verifier",
    truth_tier: str = "ground_truth",
    level: float = 0.9,
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> VerifierQuality:
    """Verifier quality of ``model`` on ``task`` from per-problem two-tier counts."""
    if not counts:
        raise ValueError(f"no two-tier samples for {model} on {task}")
    c = _matrix(counts)
    total = float(c.sum())
    point = _fp_share(c)
    interval: tuple[float, float] | None = None
    if point is not None:
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, c.shape[0], size=(n_boot, c.shape[0]))
        wrong = c[:, 1][picks].sum(axis=1)
        acc = (c[:, 0] + c[:, 1])[picks].sum(axis=1)
        shares = wrong[acc > 0] / acc[acc > 0]
        lo, hi = np.quantile(shares, [(1 - level) / 2, (1 + level) / 2])
        interval = (float(lo), float(hi))
    alpha = fit_prior(c)
    return VerifierQuality(
        model=model,
        task=task,
        verifier_tier=verifier_tier,
        truth_tier=truth_tier,
        problems=len(counts),
        samples=int(total),
        accept_rate=float((c[:, 0].sum() + c[:, 1].sum()) / total) if total else 0.0,
        fp_share=point,
        fp_share_interval=interval,
        level=level,
        prior=(float(alpha[0]), float(alpha[1]), float(alpha[2])),
        by_difficulty=_bins(counts, c),
        counts=list(counts),
    )


def counts_from_verdicts(rows: Sequence[tuple[str, bool, bool]]) -> list[TwoTierCounts]:
    """Per-problem counts from per-sample ``(problem_id, verifier_passed, truth_passed)``."""
    acc: dict[str, list[int]] = {}
    for pid, ver, truth in rows:
        t = acc.setdefault(pid, [0, 0, 0])
        t[0] += 1
        t[1] += int(ver)
        t[2] += int(ver and truth)
    return [TwoTierCounts(problem_id=p, n=v[0], accepted=v[1], accepted_correct=v[2]) for p, v in acc.items()]
