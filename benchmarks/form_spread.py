r"""Interval variant for issue 11 item 4: fixed problems within the data, form disagreement beyond.

For one set of counts (a pilot of a real task, or a synthetic population with known rates):

- point: the fitter chosen out of sample (``fit_counts_detailed``), as shipped;
- ``shipped``: its 90% interval (bootstrap over problems);
- ``fixed``: a fixed-problem parametric bootstrap of the chosen fitter -- each problem's rate
  redrawn from its empirical-Bayes posterior under the zero-mass Beta-Binomial fitted to all
  counts (p_i* = 0 with the posterior weight of the zero mass when c_i = 0, else
  p_i* ~ Beta(alpha + c_i, beta + n_i - c_i)), counts c_i* ~ Binomial(n_i, p_i*), the fitter
  refitted.  The task's problems are fixed; which-problems luck is the planner's to add;
- ``fixed + form``: beyond ``max_observed_k`` each draw also moves by z x s(k), z standard
  normal, s(k) the disagreement of the candidate forms at k, each fitted on the same counts:
  ``sd``: the standard deviation of the three forms' predictions (LSQ, Beta-Binomial,
  zero-mass Beta-Binomial); ``rms``: the root mean square of the other two forms' distance
  from the chosen point.  No constant is tuned: the size of the model-error term is the
  forms' own disagreement at the k asked.

Judged on ``math-pythia-counts.csv`` (m samples per problem drawn without replacement, truth
the full-data pass@10,000) and on the synthetic populations (truth exact; k = 1, 10, 100 x
min n).  Hit rate of the 90% interval and mean width in coverage points.

    nice .venv/bin/python benchmarks/form_spread.py --suite pythia --seeds 20 --m 100 1000 \
        --data ../shared/data/math-pythia-counts.csv
    nice .venv/bin/python benchmarks/form_spread.py --suite synthetic --seeds 10 --m 20 50 200
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.curves.populations import POPULATIONS, WIDE_N, sample, true_coverage

from backtest import DATA, TARGET_K, load
from budget.curves.base import FORMS
from budget.curves.estimators import FITTERS, ZERO_BETA, mle
from budget.curves.selection import fit_counts_detailed
from budget.curves.spread import posterior_rates

R = 100
R_MLE = 30


def case(n: np.ndarray, c: np.ndarray, ks: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Point, and (lo, hi) per variant at ``ks``: {name: array (2, K)} plus 'point' (K,)."""
    rng = np.random.default_rng([seed, 99])
    out = fit_counts_detailed("x", "t", n, c, seed=seed, n_boot=200)
    chosen = FITTERS[out.fitter]
    point = out.curve.coverage(ks)
    res: dict[str, np.ndarray] = {"point": point, "shipped": np.array(out.curve.interval(ks))}
    reps = R if chosen.name == "power_law_lsq" else R_MLE
    rates = posterior_rates(n, c, ZERO_BETA.params(mle(ZERO_BETA, n, c))[0], reps, rng)
    draws = []
    for row in rates:
        cs = rng.binomial(n.astype(np.int64), row).astype(float)
        par = chosen.fit(n, cs)
        if np.all(np.isfinite(par)):
            draws.append(FORMS[chosen.form].evaluate(par[None, :], ks)[0])
        else:  # nothing to fit: the counts solve (almost) nothing; coverage 0 is what they say
            draws.append(np.where(cs.sum() > 0, point, 0.0))
    d = np.array(draws)
    d = d - d.mean(axis=0) + point  # centred on the point: the bootstrap's spread, not its bias
    res["fixed"] = np.quantile(d, [0.05, 0.95], axis=0)
    preds = {}
    for f in FITTERS.values():
        par = f.fit(n, c)
        preds[f.name] = FORMS[f.form].evaluate(par[None, :], ks)[0] if np.all(np.isfinite(par)) else point
    allp = np.array(list(preds.values()))
    others = np.array([v for k, v in preds.items() if k != chosen.name])
    beyond = ks > (out.curve.max_observed_k or n.min())
    z = np.random.default_rng([seed, 5]).standard_normal((len(d), 1))
    for name, s in (("sd", allp.std(axis=0)), ("rms", np.sqrt(((others - point) ** 2).mean(axis=0)))):
        for scale in (1.0, 0.5):
            moved = np.clip(d + scale * z * np.where(beyond, s, 0.0), 0.0, 1.0)
            res[f"fixed + {scale} x form {name}"] = np.quantile(moved, [0.05, 0.95], axis=0)
    return res


def summarise(
    rows: list[tuple[dict[str, np.ndarray], np.ndarray]], j: int
) -> dict[str, tuple[float, float, float]]:
    """{variant: (hit rate, mean width, MAE)} at column j of ks."""
    names = [k for k in rows[0][0] if k != "point"]
    out = {}
    for name in names:
        hits = [float(r[name][0, j] - 1e-12 <= t[j] <= r[name][1, j] + 1e-12) for r, t in rows]
        widths = [float(r[name][1, j] - r[name][0, j]) for r, _ in rows]
        mae = [abs(float(r["point"][j] - t[j])) for r, t in rows]
        out[name] = (float(np.mean(hits)), float(np.mean(widths)), float(np.mean(mae)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=["pythia", "synthetic"], default="pythia")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--m", type=int, nargs="+", default=None)
    ap.add_argument("--data", type=Path, default=DATA)
    everything = {**POPULATIONS, WIDE_N.name: WIDE_N}
    ap.add_argument("--populations", nargs="+", default=list(POPULATIONS), choices=list(everything))
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.suite == "pythia":
        data = load(args.data)
        print("| m | variant | hit | width | per model hit |")
        print("|---|---|---|---|---|")
        for m in args.m or [100, 1000]:
            rows, per_model = [], {}
            for model, (n, c) in data.items():
                from budget.curves.passk import pass_at_k

                truth = float(pass_at_k(n, c, [TARGET_K])[0])
                for seed in range(args.seeds):
                    rng = np.random.default_rng([seed, m])
                    sub = rng.hypergeometric(c, n - c, np.full_like(n, m)).astype(float)
                    r = case(np.full(n.size, float(m)), sub, np.array([float(TARGET_K)]), seed)
                    rows.append((r, np.array([truth])))
                    per_model.setdefault(model, []).append((r, np.array([truth])))
            s = summarise(rows, 0)
            for name, (h, w, _) in s.items():
                pm = ", ".join(
                    f"{mod.removeprefix('pythia-')} {100 * summarise(v, 0)[name][0]:.0f}%"
                    for mod, v in per_model.items()
                )
                print(f"| {m:,} | {name} | {100 * h:.0f}% | {100 * w:.1f} | {pm} |", flush=True)
    else:
        print("| population | m | variant | hit 1x / 10x / 100x | width 1x / 10x / 100x |")
        print("|---|---|---|---|---|")
        for name in args.populations:
            for m in args.m or [20, 50, 200]:
                rows = []
                for seed in range(args.seeds):
                    p, n, c = sample(everything[name], m, seed)
                    if c.sum() == 0:
                        continue
                    ks = n.min() * np.array([1.0, 10.0, 100.0])
                    rows.append((case(n, c, ks, seed), true_coverage(p, ks)))
                per = [summarise(rows, j) for j in range(3)]
                for v in per[0]:
                    hit = " / ".join(f"{100 * s[v][0]:.0f}%" for s in per)
                    wid = " / ".join(f"{100 * s[v][1]:.1f}" for s in per)
                    print(f"| {name} | {m} | {v} | {hit} | {wid} |", flush=True)
    print(f"elapsed {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
