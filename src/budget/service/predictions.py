"""What a run is predicted to do, per model, written when it starts (read by ``budget check``).

For a model given ``k`` samples on each of ``P`` problems (several groups add up), from the
curve the planner would use (the user's latest stored curve for the model and task, else the
bundled catalog's):

- **Coverage** (share of the ``P`` problems solved): point ``c(k)``; its ``level`` interval is
  predictive for the share *this run* will see, so it carries both the curve's uncertainty and
  the luck of ``P`` problems: for each bootstrap draw ``d`` of the curve, solved ~
  Binomial(P, c_d(k)) (as :func:`budget.planner.estimate.estimate` does); the interval is the
  equal-tailed quantiles of solved / P, and ``sd`` their standard deviation (for ``z``).
- **Samples** for until-pass (stop a problem at its first accepted sample): a problem still
  unsolved after ``j`` samples is sampled again, so E[samples] = sum_{j=0}^{k-1} (1 - c(j)) per
  problem (c(0) = 0), over the draws for the interval.  Fixed policy: exactly ``P * k``.
- **Cost**: samples x the mean cost per sample (the user's measured mean, else the catalog's
  cost model).  With per-sample costs in [0, M] and mean mu, a sum of ``n`` costs has standard
  deviation at most sqrt(n * mu * (M - mu)) (the Bhatia-Davis bound on a variance, Bhatia and
  Davis 2000, "A better bound on the variance", Amer. Math. Monthly 107(4)); the interval is
  the normal interval with that bound, kept within [0, n * M].

No curve: a record with ``curve`` None and the reason ("no prediction").
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from budget.errors import BudgetError
from budget.store.predictions import CurveUsed, PredictionRecord

if TYPE_CHECKING:
    from budget.curves import CoverageCurve
    from budget.pricing import SampleCost
    from budget.store import Store

LEVEL = 0.9
N_DRAWS = 2000


def store_predictions(
    store: Store, run_id: str, task: str, allocations: Sequence[tuple[str, int, int]], policy: str
) -> list[PredictionRecord]:
    """Predict each model's part of the run (see the module docstring) and store it."""
    groups: dict[str, list[tuple[int, int]]] = {}
    for model, problems, k in allocations:
        groups.setdefault(model, []).append((int(problems), int(k)))
    records = [predict(store, run_id, task, model, g, policy) for model, g in groups.items()]
    store.save_predictions(records)
    return records


def predict(
    store: Store,
    run_id: str,
    task: str,
    model: str,
    groups: list[tuple[int, int]],
    policy: str,
    *,
    seed: int = 0,
) -> PredictionRecord:
    """One model's prediction; never raises for a missing or unusable curve (says why instead)."""
    problems = sum(p for p, _ in groups)
    k = max((k for _, k in groups), default=0)
    base = PredictionRecord(run_id=run_id, model=model, policy=policy, k=k, problems=problems)
    try:
        found = curve_for(store, task, model)
    except BudgetError as exc:
        return base.model_copy(update={"reason": f"no prediction: {exc}"})
    if found is None:
        return base.model_copy(
            update={
                "reason": f"no prediction: no curve for {model} on {task} (calibrate or import results first)"
            }
        )
    curve, used, cost = found
    return base.model_copy(update=_numbers(curve, groups, policy, cost, seed) | {"curve": used})


def curve_for(
    store: Store, task: str, model: str
) -> tuple[CoverageCurve, CurveUsed, SampleCost | None] | None:
    """The curve (and cost per sample) the planner would use for ``model`` on ``task``."""
    from budget.pricing import default_price_book

    book = default_price_book()
    stored = {c.model: c for c in store.curves(task)}
    name = book.resolve_known(model, stored)
    if name is not None:
        c = stored[name]
        from budget.service.store_link import candidate

        stats = {s.model: s for s in store.cost_stats(task, name)}
        cost = candidate(c, stats[name]).cost if name in stats else None
        used = CurveUsed(
            source=c.curve.source or "your samples",
            form=c.curve.form,
            params=dict(c.curve.params),
            fitted_on=f"{c.samples} samples of {c.problems} problems ({c.correct} accepted), runs "
            f"{', '.join(c.run_ids) or '-'}, fitted {c.fitted_at:%Y-%m-%d %H:%M} UTC",
            curve_id=c.curve_id,
            max_observed_k=c.curve.max_observed_k,
        )
        return c.curve, used, cost
    from budget.catalog import catalog_candidates, load_catalog

    if task not in load_catalog().tasks:
        return None
    cands = {c.model: c for c in catalog_candidates(task, book)}
    name = book.resolve_known(model, {m: c.display for m, c in cands.items()})
    if name is None:
        return None
    cand = cands[name]
    used = CurveUsed(
        source=cand.source or cand.curve.source,
        form=cand.curve.form,
        params=dict(cand.curve.params),
        fitted_on="the bundled catalog (published results)",
        max_observed_k=cand.curve.max_observed_k,
    )
    return cand.curve, used, cand.cost


def _numbers(
    curve: CoverageCurve, groups: list[tuple[int, int]], policy: str, cost: SampleCost | None, seed: int
) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    problems = sum(p for p, _ in groups)
    lo_q, hi_q = (1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2
    expected_solved = 0.0
    hits = np.zeros(N_DRAWS)
    samples = 0.0
    sample_draws = np.zeros(N_DRAWS)
    idx: np.ndarray | None = None
    for p, k in groups:
        if p <= 0 or k <= 0:
            continue
        draws = curve.coverage_draws([k])[:, 0]
        idx = rng.integers(0, draws.size, N_DRAWS) if idx is None else idx  # one draw set: groups correlated
        d = np.clip(draws[idx % draws.size], 0.0, 1.0)
        expected_solved += float(curve.coverage([k])[0]) * p
        hits += rng.binomial(p, d)
        if policy == "until-pass":
            js = np.arange(k, dtype=float)
            per = float(np.sum(1.0 - curve.coverage(js)))  # coverage(0) = 0
            samples += per * p
            all_draws = curve.coverage_draws(js)
            sample_draws += (np.sum(1.0 - all_draws, axis=1)[idx % all_draws.shape[0]]) * p
        else:
            samples += p * k
            sample_draws += p * k
    share = hits / problems if problems else hits
    out: dict[str, object] = {
        "coverage": expected_solved / problems if problems else 0.0,
        "interval": (float(np.quantile(share, lo_q)), float(np.quantile(share, hi_q))),
        "sd": float(np.std(share)),
        "samples": samples,
        "samples_interval": (float(np.quantile(sample_draws, lo_q)), float(np.quantile(sample_draws, hi_q))),
        "level": LEVEL,
    }
    if cost is not None:
        mu, top = cost.first, max(cost.worst_first, cost.first)
        n_lo = float(np.quantile(sample_draws, lo_q))
        n_hi = float(np.quantile(sample_draws, hi_q))
        z = Decimal(repr(NormalDist().inv_cdf(hi_q)))
        q = Decimal("0.000001")

        def spread(n: float) -> Decimal:
            var = Decimal(repr(n)) * mu * (top - mu)
            return z * var.sqrt() if var > 0 else Decimal(0)

        low = max(Decimal(0), Decimal(repr(n_lo)) * mu - spread(n_lo))
        high = min(Decimal(repr(n_hi)) * top, Decimal(repr(n_hi)) * mu + spread(n_hi))
        out["cost"] = (Decimal(repr(samples)) * mu).quantize(q)
        out["cost_interval"] = (low.quantize(q), high.quantize(q))
    return out
