"""Extrapolation backtest of the curve fitters on the real pythia counts (issue 2, section 3).

For each model of ../shared/data/math-pythia-counts.csv (128 MATH problems, 10,000 samples
each) and each m: draw m samples per problem without replacement (hypergeometric) from
the full counts, fit, predict coverage at k = 10,000, compare with the full-data unbiased
pass@10,000.  Repeated over seeds.  Prints, per model and m, the mean absolute error of
budget's fit (fitter chosen out of sample inside the subsample), of least squares on Brown
et al.'s power law (the baseline), the share of seeds whose 90% interval holds the truth
(the interval as reported, not widened to its point), its mean width, and which fitters
were chosen.

    .venv/bin/python benchmarks/backtest.py --seeds 10 --m 100 1000
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from pathlib import Path

import numpy as np

from budget.curves.passk import pass_at_k
from budget.curves.selection import fit_counts_detailed

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "math-pythia-counts.csv"
TARGET_K = 10_000


def load(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        out[model] = (
            np.array([int(r["num_samples"]) for r in mine]),
            np.array([int(r["num_correct"]) for r in mine]),
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--m", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--fitter", default=None, help="force one fitter instead of the out-of-sample choice")
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    data = load(args.data)
    t0 = time.perf_counter()
    print(f"truth: full-data pass@{TARGET_K:,}; {args.seeds} seeds; errors in coverage points")
    header = (
        "| model | m | MAE budget | MAE LSQ (Brown) | 90% interval holds truth"
        " | mean width | fitters chosen |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|")
    summary: dict[int, dict[str, list[float]]] = {}
    for m in args.m:
        agg = summary.setdefault(m, {"err": [], "lsq": [], "hit": [], "width": []})
        for model, (n, c) in data.items():
            truth = float(pass_at_k(n, c, [TARGET_K])[0])
            errs, lsq_errs, hits, widths, chosen = [], [], [], [], Counter[str]()
            for seed in range(args.seeds):
                rng = np.random.default_rng([seed, m])
                sub = rng.hypergeometric(c, n - c, np.full_like(n, m))
                ns = np.full(n.size, m)
                out = fit_counts_detailed(model, "math", ns, sub, seed=seed, fitter=args.fitter)
                pred = float(out.curve.coverage([TARGET_K])[0])
                lo, hi = (float(v[0]) for v in out.curve.interval([TARGET_K], 0.9))
                lsq = fit_counts_detailed(model, "math", ns, sub, seed=seed, fitter="power_law_lsq", n_boot=0)
                errs.append(abs(pred - truth))
                lsq_errs.append(abs(float(lsq.curve.coverage([TARGET_K])[0]) - truth))
                hits.append(float(lo <= truth <= hi))
                widths.append(hi - lo)
                chosen[out.fitter] += 1
            agg["err"] += errs
            agg["lsq"] += lsq_errs
            agg["hit"] += hits
            agg["width"] += widths
            picks = ", ".join(f"{k} {v}" for k, v in chosen.most_common())
            print(
                f"| {model} | {m:,} | {100 * np.mean(errs):.2f} | {100 * np.mean(lsq_errs):.2f} "
                f"| {100 * np.mean(hits):.0f}% | {100 * np.mean(widths):.1f} | {picks} |",
                flush=True,
            )
    for m, agg in summary.items():
        print(
            f"| **all** | {m:,} | **{100 * np.mean(agg['err']):.2f}** | {100 * np.mean(agg['lsq']):.2f} "
            f"| {100 * np.mean(agg['hit']):.0f}% | {100 * np.mean(agg['width']):.1f} | |"
        )
    print(f"elapsed {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
