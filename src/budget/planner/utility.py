"""Utility of resampling with an imperfect verifier: how many attempts K to allow, if any.

Pure: no I/O.  Source: Stroebl, Kapoor, Narayanan (2024), "Inference Scaling fLaws: The Limits
of LLM Resampling with Imperfect Verifiers", arXiv:2411.17501 (ICLR 2026 as "The Limits of
Inference Scaling Through Resampling"), Sec. 3-4.

**Policy.**  Sample a problem until the verifier accepts a sample, at most ``K`` attempts;
submit the first accepted sample; abstain when none is accepted.  ``K = 0`` means: do not use
the model (abstain everywhere).

**Per problem.**  Each sample is independently *accepted and correct* with chance ``a``,
*accepted and wrong* (a false positive of the verifier) with chance ``w``, and rejected with
chance ``r = 1 - a - w``.  With ``s = a + w``:

- ``P(abstain)  = r^K``
- ``P(submit a correct sample) = a / s * (1 - r^K)``   (the first accepted one is correct with
  chance ``a / s``, whatever attempt it came at)
- ``P(submit a wrong sample)   = w / s * (1 - r^K)``
- expected attempts bought      ``= sum_{j<K} r^j = (1 - r^K) / s``  (``K`` when ``s = 0``)

**Utility** per problem (the paper's scoring): ``+1`` for a correct submission, ``-c`` for a
wrong one, ``0`` for abstaining, optionally ``- lambda x dollars``:
``U(K) = TP(K) - c FP(K) - lambda * cost_per_attempt * attempts(K)``, averaged over problems.
With a perfect verifier (``w = 0``) ``U(K)`` is coverage at ``K`` (pass@K).  ``K*`` is the
smallest ``K`` that maximises ``U`` among the affordable ones; ``U(0) = 0``, so a model whose
every ``K`` loses (``U(K) < 0``) gets ``K* = 0``.

**Populations.**  :class:`PointPopulation` holds known per-problem ``(a, w)``;
:class:`DirichletPopulation` holds per-problem Dirichlet posteriors over (accepted-correct,
accepted-wrong, rejected), as :mod:`budget.curves.verifier_quality` estimates them.  For a
Dirichlet(``al_a, al_w, al_r``), ``s ~ Beta(al_a + al_w, al_r)`` is independent of
``a / s ~ Beta(al_a, al_w)`` (the aggregation property), so the expectations are exact:
``E[r^K] = B(al_s, al_r + K) / B(al_s, al_r)`` and ``E[TP] = al_a / al_s * (1 - E[r^K])``;
``E[attempts] = sum_{j<K} E[r^j]``.

**Under a budget.**  Each model alone is given the whole budget ``B`` over ``N`` problems: its
``K`` ranges over ``0..K_max`` with ``N x cost_per_attempt x attempts(K) <= B`` (expected
attempts; the worst case ``K`` with ``hard_cap``).  The recommendation is the model with the
highest ``U(K*)``; when no model has ``U > 0`` the recommendation is to abstain (``K = 0``).
Mixing models across problems is left out here (the coverage planner does that for a perfect
verifier).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import betaln

from budget.curves.base import CoverageCurve
from budget.curves.form import FloatArray

#: Largest number of attempts the curve and the search consider by default.
DEFAULT_K_MAX = 1000


class Outcomes(BaseModel):
    """Expected share of problems per outcome at ``k`` attempts (means over problems)."""

    model_config = ConfigDict(frozen=True)

    k: int
    true_positives: float
    false_positives: float
    abstentions: float
    attempts: float  # expected attempts bought per problem


class Population(Protocol):
    """Per-problem chances of accepted-correct and accepted-wrong samples."""

    def outcomes(self, ks: Sequence[int]) -> list[Outcomes]:
        """Per k, the expected accepted-correct and accepted-wrong outcomes of k samples."""

    @property
    def size(self) -> int:
        """How many problems the population describes."""


def _check_ks(ks: Sequence[int]) -> np.ndarray:
    k = np.asarray(list(ks), dtype=np.int64)
    if k.ndim != 1 or (k < 0).any():
        raise ValueError("attempts k must be non-negative integers")
    return k


def _attempts_point(s: FloatArray, hit: FloatArray, k: np.ndarray) -> FloatArray:
    # (1 - r^K) / s, and K where s = 0 (every attempt rejected, all K bought)
    safe = np.where(s > 0, s, 1.0)
    out: FloatArray = np.where(s[:, None] > 0, hit / safe[:, None], k[None, :].astype(float))
    return out


@dataclass(frozen=True)
class PointPopulation:
    """Known per-problem chances: ``accept_correct[i] = a_i``, ``accept_wrong[i] = w_i``."""

    accept_correct: FloatArray
    accept_wrong: FloatArray

    def __post_init__(self) -> None:
        a = np.asarray(self.accept_correct, dtype=float)
        w = np.asarray(self.accept_wrong, dtype=float)
        if a.shape != w.shape or a.ndim != 1 or a.size == 0:
            raise ValueError("accept_correct and accept_wrong must be equal-length, non-empty vectors")
        if not (np.isfinite(a).all() and np.isfinite(w).all()):
            raise ValueError("chances must be finite")
        if (a < 0).any() or (w < 0).any() or (a + w > 1 + 1e-12).any():
            raise ValueError("chances must be >= 0 with a + w <= 1")
        object.__setattr__(self, "accept_correct", a)
        object.__setattr__(self, "accept_wrong", w)

    @property
    def size(self) -> int:
        """How many problems the population describes."""
        return int(self.accept_correct.size)

    def outcomes(self, ks: Sequence[int]) -> list[Outcomes]:
        """Per k, the expected outcomes of k samples at each problem's point rates."""
        k = _check_ks(ks)
        a, w = self.accept_correct, self.accept_wrong
        s = np.clip(a + w, 0.0, 1.0)
        # r^K and 1 - r^K through log1p/expm1: exact to rounding even for tiny s; 0^0 = 1
        with np.errstate(divide="ignore"):
            log_r = np.log1p(-s)[:, None] * np.ones((1, k.size))
        with np.errstate(invalid="ignore"):  # -inf x 0 at s = 1, K = 0: masked below
            expo = np.where(k[None, :] == 0, 0.0, log_r * k[None, :])
        r_pow = np.exp(expo)
        hit = -np.expm1(expo)
        share = np.divide(a, s, out=np.zeros_like(a), where=s > 0)
        tp = share[:, None] * hit
        fp = (1.0 - share)[:, None] * np.where(s[:, None] > 0, hit, 0.0)
        att = _attempts_point(s, hit, k)
        return _rows(k, tp, fp, r_pow, att)


@dataclass(frozen=True)
class DirichletPopulation:
    """Per-problem Dirichlet(``alpha_correct, alpha_wrong, alpha_rejected``) over the chances."""

    alpha_correct: FloatArray
    alpha_wrong: FloatArray
    alpha_rejected: FloatArray

    def __post_init__(self) -> None:
        arrs = [
            np.asarray(x, dtype=float) for x in (self.alpha_correct, self.alpha_wrong, self.alpha_rejected)
        ]
        if len({x.shape for x in arrs}) != 1 or arrs[0].ndim != 1 or arrs[0].size == 0:
            raise ValueError("Dirichlet parameters must be equal-length, non-empty vectors")
        if any((~np.isfinite(x)).any() or (x <= 0).any() for x in arrs):
            raise ValueError("Dirichlet parameters must be positive and finite")
        for name, x in zip(("alpha_correct", "alpha_wrong", "alpha_rejected"), arrs, strict=True):
            object.__setattr__(self, name, x)

    @property
    def size(self) -> int:
        """How many problems the population describes."""
        return int(self.alpha_correct.size)

    def outcomes(self, ks: Sequence[int]) -> list[Outcomes]:
        """Per k, the expected outcomes of k samples, the rates averaged over each problem's Dirichlet."""
        k = _check_ks(ks)
        aa, aw, ar = self.alpha_correct, self.alpha_wrong, self.alpha_rejected
        al_s = aa + aw
        # E[r^j] = B(al_s, al_r + j) / B(al_s, al_r), for j = 0..max K (for the attempts sum)
        j = np.arange(0, int(k.max(initial=0)) + 1)
        e_rj = np.exp(betaln(al_s[:, None], ar[:, None] + j[None, :]) - betaln(al_s, ar)[:, None])
        r_pow = e_rj[:, k]
        hit = 1.0 - r_pow
        share = aa / al_s
        tp = share[:, None] * hit
        fp = (1.0 - share)[:, None] * hit
        cum = np.concatenate([np.zeros((e_rj.shape[0], 1)), np.cumsum(e_rj, axis=1)], axis=1)
        att = cum[:, k]  # sum_{j<K} E[r^j]
        return _rows(k, tp, fp, r_pow, att)


def _rows(k: np.ndarray, tp: FloatArray, fp: FloatArray, ab: FloatArray, att: FloatArray) -> list[Outcomes]:
    return [
        Outcomes(
            k=int(kk),
            true_positives=float(tp[:, i].mean()),
            false_positives=float(fp[:, i].mean()),
            abstentions=float(ab[:, i].mean()),
            attempts=float(att[:, i].mean()),
        )
        for i, kk in enumerate(k)
    ]


class UtilityPoint(BaseModel):
    """Expected utility per problem at ``k`` attempts."""

    k: int
    utility: float


class UtilityPlan(BaseModel):
    """``K*`` for one model and what it buys (shares per problem; dollars in float for planning)."""

    k_star: int
    fp_cost: float
    expected_true_positives: float
    expected_false_positives: float
    expected_abstentions: float
    expected_attempts: float
    expected_utility: float
    utility_curve: list[UtilityPoint]
    k_limit: int = Field(description="largest K the budget (and K_max) allowed")


def utility(o: Outcomes, fp_cost: float, dollars_weight: float = 0.0, cost_per_attempt: float = 0.0) -> float:
    """``TP - c FP - lambda x dollars`` per problem for one :class:`Outcomes`."""
    return o.true_positives - fp_cost * o.false_positives - dollars_weight * cost_per_attempt * o.attempts


def curve_ks(k_max: int) -> list[int]:
    """The K shown in a utility curve: 0, 1, 2, 3, 5, 10, 20, 50... up to ``k_max`` (inclusive)."""
    ks = {0, k_max}
    for decade in (1, 10, 100, 1000, 10_000, 100_000):
        ks.update(m * decade for m in (1, 2, 3, 5))
    return sorted(k for k in ks if k <= k_max)


def best_k(
    pop: Population,
    fp_cost: float,
    *,
    k_max: int = DEFAULT_K_MAX,
    cost_per_attempt: float = 0.0,
    problems: int | None = None,
    dollars: float | None = None,
    dollars_weight: float = 0.0,
    hard_cap: bool = False,
) -> UtilityPlan:
    """``K*`` in ``0..k_max`` (smallest maximiser of :func:`utility`) within the budget, if any.

    ``dollars`` over ``problems`` problems at ``cost_per_attempt`` each bounds ``K``: expected
    attempts (``hard_cap``: ``K`` attempts) x cost x problems must not exceed ``dollars``.
    """
    if fp_cost < 0 or not np.isfinite(fp_cost):
        raise ValueError("the cost of a false positive must be a finite number >= 0")
    if k_max < 0:
        raise ValueError("k_max must be >= 0")
    ks = list(range(0, k_max + 1))
    rows = pop.outcomes(ks)
    n = problems if problems is not None else pop.size
    limit = k_max
    if dollars is not None and cost_per_attempt > 0:
        for o in rows:
            spend = n * cost_per_attempt * (o.k if hard_cap else o.attempts)
            if spend > dollars * (1 + 1e-12):
                limit = o.k - 1
                break
    values = np.array([utility(o, fp_cost, dollars_weight, cost_per_attempt) for o in rows[: limit + 1]])
    # smallest maximiser; ties within float noise go to the smaller K (fewer attempts bought)
    k_star = int(np.flatnonzero(values >= values.max() - 1e-12)[0])
    best = rows[k_star]
    shown = sorted(set(curve_ks(limit)) | {k_star})
    return UtilityPlan(
        k_star=k_star,
        fp_cost=fp_cost,
        expected_true_positives=best.true_positives,
        expected_false_positives=best.false_positives,
        expected_abstentions=best.abstentions,
        expected_attempts=best.attempts,
        expected_utility=float(values[k_star]),
        utility_curve=[UtilityPoint(k=k, utility=float(values[k])) for k in shown],
        k_limit=limit,
    )


def k_star_table(
    pop: Population, fp_costs: Sequence[float], *, k_max: int = DEFAULT_K_MAX
) -> dict[float, int]:
    """``K*`` at each cost of a false positive (no budget), as in Stroebl et al.'s Table 2."""
    return {c: best_k(pop, c, k_max=k_max).k_star for c in fp_costs}


def constant_fp_population(correct_rates: FloatArray, fp_rate: float) -> PointPopulation:
    """A population from per-problem success rates and a stated false-positive share.

    ``fp_rate`` is the share of accepted single samples that are wrong, over all problems.
    Assumed: a false acceptance is equally likely on every problem (``w_i = w``), so weak
    tests hurt most where the model rarely succeeds; ``w = fp_rate / (1 - fp_rate) x mean(a)``
    makes the pooled share at ``K = 1`` equal ``fp_rate``.  The measured estimator
    (:mod:`budget.curves.verifier_quality`) shows how the share really moves with difficulty.
    """
    a = np.clip(np.asarray(correct_rates, dtype=float), 0.0, 1.0)
    if not 0.0 <= fp_rate < 1.0:
        raise ValueError("the false-positive rate must be in [0, 1)")
    w_const = fp_rate / (1.0 - fp_rate) * float(a.mean())
    w = np.minimum(np.full_like(a, w_const), 1.0 - a)
    return PointPopulation(a, w)


def rates_from_curve(curve: CoverageCurve, points: int = 400, k_ref: int | None = None) -> FloatArray:
    """Per-problem success rates consistent with a coverage curve (for a stated FP rate).

    ``1 - coverage(k) = E[(1 - p)^k]`` over problems: a mixing distribution of ``p`` on a grid
    (``p = 0`` and 120 points uniform in logit between 1e-4 and 1 - 1e-4) is fitted by
    non-negative least squares to the curve at 40 log-spaced ``k`` from 1 to ``k_ref`` (default
    10 x the largest measured ``k``, else 1000), its weights held to sum to 1 by a heavily
    weighted extra row; ``points`` equally weighted rates are read off its quantiles.  This
    inverts a completely monotone function, which is ill-posed: many distributions fit one
    curve; within the fitted range they all give the same coverage (and the same utility when
    false positives are independent of ``p``, as :func:`constant_fp_population` assumes).
    """
    from scipy.optimize import nnls

    top = k_ref or max(10 * (curve.max_observed_k or 100), 10)
    ks = np.unique(np.round(np.geomspace(1, top, 40)))
    miss = 1.0 - np.asarray(curve.coverage(ks), dtype=float)
    t = np.linspace(np.log(1e-4 / (1 - 1e-4)), np.log((1 - 1e-4) / 1e-4), 120)
    grid = np.concatenate([[0.0], 1.0 / (1.0 + np.exp(-t))])
    design = np.power(1.0 - grid[None, :], ks[:, None])
    big = 1e3
    a = np.vstack([design, big * np.ones((1, grid.size))])
    b = np.concatenate([miss, [big]])
    weights, _ = nnls(a, b)
    weights = weights / weights.sum()
    cdf = np.cumsum(weights)
    q = (np.arange(points) + 0.5) / points
    out: FloatArray = grid[np.minimum(np.searchsorted(cdf, q), grid.size - 1)]
    return out
