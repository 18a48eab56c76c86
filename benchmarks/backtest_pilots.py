"""Benchmark: `budget backtest` on the pythia counts, uniform against adaptive pilot (issue 11).

For each m and pilot rule: `budget backtest ../shared/data/math-pythia-counts.csv
--pilot-samples m --predict 10000 --pilot RULE --seeds S` (the service call behind it), i.e.
keep m x 128 of the recorded samples as a pilot (uniform: m per problem; adaptive: a floor of
0.8 m per problem, then the rest one by one to the problems with the fewest successes), fit
with budget's fitter selection, predict coverage at k = 10,000 with a 90% interval, and
replay k = 10,000 on the recorded samples.  Both rules spend the same total samples.  Prints,
per m and rule, the MAE in points, the interval hit rate and mean width, overall and per model.

    .venv/bin/python benchmarks/backtest_pilots.py --seeds 20 --m 100 1000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from budget.planner.pilot import PilotRule
from budget.service.backtest import BacktestRequest, backtest

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "math-pythia-counts.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--m", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--k", type=int, default=10_000)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    print(f"{args.data.name}: predict k = {args.k:,}; {args.seeds} seeds; errors in coverage points")
    print("| m | pilot | MAE | 90% interval hit rate | mean width | per model MAE (hit rate) | cases | s |")
    print("|---|---|---|---|---|---|---|---|")
    for m in args.m:
        for rule in PilotRule:
            t0 = time.perf_counter()
            res = backtest(
                BacktestRequest(
                    source=str(args.data), pilot_samples=m, predict=[args.k], pilot=rule, seeds=args.seeds
                )
            )
            s = res.summary
            per = ", ".join(
                f"{name} {x.mae_points:.2f} ({x.interval_hit_rate:.0%})" for name, x in res.by_model.items()
            )
            print(
                f"| {m:,} | {rule.value} | {s.mae_points:.2f} | {s.interval_hit_rate:.1%} | "
                f"{s.mean_interval_width_points:.1f} | {per} | {s.cases} | {time.perf_counter() - t0:.0f} |"
            )


if __name__ == "__main__":
    main()
