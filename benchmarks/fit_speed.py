"""Fitting speed: 7 models x 128 problems x n = 10,000 samples, with intervals (target < 2 s).

Counts are synthetic (per-problem rates drawn from Beta distributions like the pythia
fits, seeded).  The measured work is what ``budget fit`` does per model: the out-of-sample
choice between fitters, the bootstrap over problems (200 replicates), and predictions
with 90% intervals at five k.  The baseline, timed in the same run, is computing unbiased
pass@k alone for the same counts at the 33 log-spaced k the power law is fitted on.

    .venv/bin/python benchmarks/fit_speed.py --repeats 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from budget.curves import fit_counts
from budget.curves.estimators import lsq_ks
from budget.curves.passk import pass_at_k

MODELS = 7
PROBLEMS = 128
SAMPLES = 10_000
PREDICT = np.array([1, 100, 10_000, 100_000, 1_000_000], dtype=float)


def synthetic(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for j in range(MODELS):
        alpha, beta = 0.1 + 0.05 * j, 60.0 / (1 + j)
        p = rng.beta(alpha, beta, size=PROBLEMS)
        n = np.full(PROBLEMS, SAMPLES)
        out.append((n, rng.binomial(n, p)))
    return out


def fit_all(data: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """Wall and CPU seconds of fitting every model (CPU: this process, free of other load)."""
    t, cpu = time.perf_counter(), time.process_time()
    for j, (n, c) in enumerate(data):
        curve = fit_counts(f"model-{j}", "synthetic", n, c, seed=j)
        curve.coverage(PREDICT)
        curve.interval(PREDICT)
    return time.perf_counter() - t, time.process_time() - cpu


def passk_all(data: list[tuple[np.ndarray, np.ndarray]]) -> float:
    ks = lsq_ks(SAMPLES)
    t = time.perf_counter()
    for n, c in data:
        pass_at_k(n, c, ks)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    data = synthetic(0)
    fit_all(data[:1])  # warm imports and caches
    fits, cpus, base = [], [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        base.append(passk_all(data))
        wall, cpu = fit_all(data)
        fits.append(wall)
        cpus.append(cpu)
    f, b, fc = float(np.median(fits)), float(np.median(base)), float(np.median(cpus))
    print(f"{MODELS} models x {PROBLEMS} problems x n={SAMPLES:,}, {args.repeats} repeats (median)")
    print("| measure | seconds |")
    print("|---|---|")
    print(f"| fit with selection + 200 bootstrap replicates + intervals, all models (wall) | {f:.2f} |")
    print(f"| the same, CPU time of this process | {fc:.2f} |")
    print(f"| baseline: unbiased pass@k at {lsq_ks(SAMPLES).size} k, all models | {b:.4f} |")
    print(f"| ratio fit / pass@k | {f / b:.0f}x |")
    print(f"| target | < 2 s: {'met' if f < 2 else 'missed'} |")


if __name__ == "__main__":
    main()
