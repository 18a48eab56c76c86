"""Interval and point variants tried for issue 11 (item 4 and the MAE targets); none shipped.

On ../shared/data/math-pythia-counts.csv, as benchmarks/backtest.py: m samples per problem
drawn without replacement, Brown et al.'s least squares fitted, 90% intervals at
k = 10,000 judged against the full-data pass@10,000.  Intervals are read in
y = log(-log coverage) (a monotone map, so hits are the same as in coverage).

Interval variants (sampling part x model-error part):

- ``problems``: bootstrap over problems (as shipped for this fitter).
- ``fixed``: fixed-problem parametric bootstrap: p_i* ~ Beta(alpha + c_i, beta + m - c_i)
  (empirical-Bayes posterior under the Beta-Binomial MLE), c_i* ~ Binomial(m, p_i*), LSQ refit.
- ``fixed + s x rms(f)``: plus a normal model error with sd ``s * RMS(e_f / log f) * log(K / m)``,
  e_f the y-error at k = m of a fit on a hypergeometric subsample of m / f samples (3 seeds).
- ``fixed + s x bend(f)``: the same with e_f from the fit on k <= m / f using *all* m samples
  (the bend of the curve, without the subsample's noise).

Point variants: stacking LSQ and the Beta fitters with weights 1/err and 1/err^2 of the
selection's internal backtest, the plain mean of LSQ and Beta-Binomial, and LSQ on
k in [k0, m] with k0 in {1, 2, 3, 5} chosen by the same internal backtest.

    nice .venv/bin/python benchmarks/interval_variants.py --seeds 20 --m 100 1000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from backtest import DATA, TARGET_K, load
from budget.curves.estimators import BetaFamily, lsq_ks, mle, power_law_rows
from budget.curves.passk import pass_at_k, pass_at_k_per_problem
from budget.curves.selection import fit_counts_detailed

R = 200


def line(n: np.ndarray, c: np.ndarray, kmax: int, kmin: int = 1) -> tuple[float, float] | None:
    """(intercept, slope) of y = log(-log pass@k) on log k, k in [kmin, kmax]; None if < 2 points."""
    ks = lsq_ks(int(kmax))
    ks = ks[ks >= kmin]
    cov = pass_at_k_per_problem(n, c, ks).mean(axis=0)
    use = (cov > 0) & (cov < 1)
    if use.sum() < 2:
        return None
    b, a = np.polyfit(np.log(ks[use]), np.log(-np.log(cov[use])), 1)
    return float(a), float(b)


def y_at(fit: tuple[float, float] | None, k: float) -> float:
    return np.nan if fit is None else fit[0] + fit[1] * np.log(k)


def one_case(n: np.ndarray, sub: np.ndarray, m: int, rng: np.random.Generator) -> dict[str, object]:
    ns = np.full(n.size, float(m))
    fam = BetaFamily(False, False)
    alpha, beta = fam.params(mle(fam, ns, sub))[0][:2]
    p = rng.beta(alpha + sub, beta + ns - sub, size=(R, n.size))
    counts = rng.binomial(m, p).astype(float)
    fixed = np.array([y_at(line(ns, row, m), TARGET_K) for row in counts])
    idx = rng.integers(0, n.size, (R, n.size))
    w = np.zeros((R, n.size))
    np.add.at(w, (np.arange(R)[:, None], idx), 1.0)
    ab = power_law_rows(ns, sub, w)
    problems = np.log(-ab[:, 0]) + ab[:, 1] * np.log(TARGET_K)
    y_m = np.log(-np.log(pass_at_k(ns, sub, [m])[0]))
    noisy: dict[int, list[float]] = {}
    bend: dict[int, float] = {}
    for f in (2, 4, 10):
        mf = m // f
        bend[f] = (y_at(line(ns, sub, mf), m) - y_m) / np.log(m / lsq_ks(mf)[-1])
        for _ in range(3):
            d = rng.hypergeometric(sub.astype(np.int64), (ns - sub).astype(np.int64), np.full(n.size, mf))
            if (d > 0).sum() >= 10:
                noisy.setdefault(f, []).append(
                    (y_at(line(np.full(n.size, float(mf)), d.astype(float), mf), m) - y_m) / np.log(f)
                )
    return {
        "fixed": fixed[np.isfinite(fixed)],
        "problems": problems[np.isfinite(problems)],
        "noisy": noisy,
        "bend": bend,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--m", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    data = load(args.data)
    t0 = time.perf_counter()
    z = np.random.default_rng(0).standard_normal(R)
    intervals: dict[str, dict[int, list[tuple[float, float]]]] = {}
    points: dict[str, dict[int, list[float]]] = {}

    def add_iv(name: str, m: int, draws: np.ndarray, y_truth: float) -> None:
        lo, hi = np.quantile(draws, [0.05, 0.95])
        width = float(np.exp(-np.exp(lo)) - np.exp(-np.exp(hi)))
        intervals.setdefault(name, {}).setdefault(m, []).append((float(lo <= y_truth <= hi), width))

    for m in args.m:
        for model, (n, c) in data.items():
            truth = float(pass_at_k(n, c, [TARGET_K])[0])
            y_truth = float(np.log(-np.log(truth)))
            for seed in range(args.seeds):
                rng = np.random.default_rng([seed, m])
                sub = rng.hypergeometric(c, n - c, np.full_like(n, m)).astype(float)
                case = one_case(n, sub, m, np.random.default_rng([seed, m, 7]))
                fixed, dist = case["fixed"], np.log(TARGET_K / m)
                add_iv("problems (shipped)", m, case["problems"], y_truth)
                add_iv("fixed", m, fixed, y_truth)
                for fs in ((2,), (4,), (10,), (2, 4, 10)):
                    e = np.array([v for f in fs for v in case["noisy"].get(f, [])])
                    rms = float(np.sqrt(np.mean(e**2))) if e.size else 0.0
                    bend = float(np.sqrt(np.nanmean([case["bend"][f] ** 2 for f in fs])))
                    for s in (0.5, 1.0):
                        add_iv(f"fixed + {s} x rms{fs}", m, fixed + s * rms * dist * z[: fixed.size], y_truth)
                    for s in (0.25, 0.3, 0.5, 1.0):
                        add_iv(
                            f"fixed + {s} x bend{fs}", m, fixed + s * bend * dist * z[: fixed.size], y_truth
                        )
                # point variants
                ns = np.full(n.size, m)
                sel = fit_counts_detailed(model, "math", ns, sub.astype(int), seed=seed, n_boot=0)
                score = {s.fitter: s.error for s in sel.scores} or {
                    f: 1.0 for f in ("power_law_lsq", "beta_binomial")
                }
                pred = {
                    f: float(
                        fit_counts_detailed(
                            model, "math", ns, sub.astype(int), seed=seed, fitter=f, n_boot=0
                        ).curve.coverage([TARGET_K])[0]
                    )
                    for f in score
                }
                for name, weight in (
                    ("stack 1/err", lambda e: 1 / max(e, 1e-4)),
                    ("stack 1/err^2", lambda e: 1 / max(e, 1e-4) ** 2),
                ):
                    tot = sum(weight(score[f]) for f in score)
                    points.setdefault(name, {}).setdefault(m, []).append(
                        abs(sum(weight(score[f]) * pred[f] for f in score) / tot - truth)
                    )
                points.setdefault("mean of LSQ and Beta-Binomial", {}).setdefault(m, []).append(
                    abs((pred["power_law_lsq"] + pred["beta_binomial"]) / 2 - truth)
                )
                points.setdefault("LSQ k in [1, m] (shipped)", {}).setdefault(m, []).append(
                    abs(pred["power_law_lsq"] - truth)
                )
                err = {}
                for k0 in (1, 2, 3, 5):
                    errs = []
                    for f in (4, 10):
                        mf = m // f
                        tk = np.unique(np.round(np.geomspace(2 * mf, m, 3)))
                        tr = pass_at_k(np.full(n.size, float(m)), sub, tk)
                        for _ in range(3):
                            d = rng.hypergeometric(
                                sub.astype(np.int64), (m - sub).astype(np.int64), np.full(n.size, mf)
                            )
                            fit = line(np.full(n.size, float(mf)), d.astype(float), mf, k0)
                            errs.append(
                                1.0
                                if fit is None
                                else float(np.mean(np.abs(np.exp(-np.exp([y_at(fit, k) for k in tk])) - tr)))
                            )
                    err[k0] = float(np.mean(errs))
                k0 = min(err, key=err.__getitem__)
                points.setdefault("LSQ k in [k0, m], k0 chosen out of sample", {}).setdefault(m, []).append(
                    abs(
                        float(np.exp(-np.exp(y_at(line(np.full(n.size, float(m)), sub, m, k0), TARGET_K))))
                        - truth
                    )
                )
            print(f"m = {m}, {model}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\n{args.seeds} seeds; interval hit rate / mean width (points) at k = {TARGET_K:,}")
    print("| interval | " + " | ".join(f"m = {m:,}" for m in args.m) + " |")
    print("|---|" + "---|" * len(args.m))
    for name, per in intervals.items():
        cells = " | ".join(
            f"{100 * np.mean([h for h, _ in per[m]]):.0f}% / {100 * np.mean([w for _, w in per[m]]):.1f}"
            for m in args.m
        )
        print(f"| {name} | {cells} |")
    print("\n| point | " + " | ".join(f"MAE m = {m:,}" for m in args.m) + " |")
    print("|---|" + "---|" * len(args.m))
    for name, per in points.items():
        print(f"| {name} | " + " | ".join(f"{100 * np.mean(per[m]):.2f}" for m in args.m) + " |")


if __name__ == "__main__":
    main()
