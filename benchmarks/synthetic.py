"""The synthetic suite's large grid (issue 11): populations with known truth, every fitter.

For each population of tests/curves/populations.py, base sample count m and seed: draw the
problems' rates and counts, fit with each fitter and with the out-of-sample selection, and
compare with the exact coverage of the same problems at k = min n (in the data), 10 min n
and 100 min n (beyond it).  Prints, per population, m and fitter: MAE (coverage points),
the share of 90% intervals holding the truth and their mean width, each at the three k.

    nice .venv/bin/python benchmarks/synthetic.py --seeds 10 --m 20 50 200
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.curves.populations import POPULATIONS, WIDE_N, sample, true_coverage

from budget.curves.estimators import FITTERS
from budget.curves.selection import fit_counts_detailed

RATIOS = (1.0, 10.0, 100.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--m", type=int, nargs="+", default=[20, 50, 200])
    everything = {**POPULATIONS, WIDE_N.name: WIDE_N}
    ap.add_argument(
        "--populations", nargs="+", default=list(POPULATIONS), choices=list(everything), metavar="NAME"
    )
    ap.add_argument(
        "--fitters", nargs="+", default=["selection", *FITTERS], help="'selection' and/or fitter names"
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    cols = " | ".join(f"{kind} k={int(r)}x" for kind in ("MAE", "hit", "width") for r in RATIOS)
    print(
        f"{args.seeds} seeds; k as multiples of min n; MAE and width in coverage points;"
        " hit: 90% interval holds truth"
    )
    print(f"| population | m | fitter | {cols} | chosen |")
    print("|---|---|---|" + "---|" * (3 * len(RATIOS)) + "---|")
    for name in args.populations:
        pop = everything[name]
        for m in args.m:
            for fitter in [None if f == "selection" else f for f in args.fitters]:
                errs, hits, widths, chosen = [], [], [], []
                for seed in range(args.seeds):
                    p, n, c = sample(pop, m, seed)
                    if c.sum() == 0:
                        continue
                    out = fit_counts_detailed(name, "synthetic", n, c, seed=seed, fitter=fitter)
                    ks = n.min() * np.array(RATIOS)
                    truth = true_coverage(p, ks)
                    lo, hi = out.curve.interval(ks)
                    errs.append(np.abs(out.curve.coverage(ks) - truth))
                    hits.append((lo <= truth) & (truth <= hi))
                    widths.append(hi - lo)
                    chosen.append(out.fitter)
                e, h, w = (np.mean(x, axis=0) for x in (errs, hits, widths))
                picks = (
                    ", ".join(f"{f} {chosen.count(f)}" for f in sorted(set(chosen))) if fitter is None else ""
                )
                cells = " | ".join(
                    [
                        *(f"{100 * v:.2f}" for v in e),
                        *(f"{100 * v:.0f}%" for v in h),
                        *(f"{100 * v:.1f}" for v in w),
                    ]
                )
                print(f"| {name} | {m} | {fitter or '**selection**'} | {cells} | {picks} |", flush=True)
    print(f"elapsed {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
