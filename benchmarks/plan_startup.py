"""Benchmark: whole-process `budget plan --dollars 50` against importing its heaviest libraries.

Targets (issues 2 and 11): the ratio median(budget plan) / median(python -c "import numpy,
scipy.special, rich") <= 1.5, both timed in the same run, interleaved, in two cases:

- **no store**: the bundled catalog only;
- **a store**: an SQLite store with 20 fitted curves and 10^6 samples (written here with the
  store's own schema; samples in bulk through sqlite3), as after `budget calibrate`.  The
  first plan after a write to the store reads it through SQLAlchemy and writes the plan
  snapshot beside it; the timed plans are the ones after (see budget.service.store_link).
  The first plan's time is printed too.

Each case also prints the median CPU time (user + system) of both commands: less sensitive
than the wall clock to other jobs on a shared machine.

Also proves that litellm (and vllm, openai, torch, httpx, SQLAlchemy, SQLModel) is never
imported on the plan path, from `python -X importtime`, in both cases (with a store: once the
snapshot is current).

Usage: python benchmarks/plan_startup.py [--runs 15] [--samples 1000000] [--curves 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WATCHED = ("litellm", "vllm", "openai", "torch", "httpx", "sqlalchemy", "sqlmodel")


def _time(cmd: list[str], env: dict[str, str]) -> float:
    return _run(cmd, env)[0]


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds of one run, and its CPU seconds (user + system, from the child's rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def build_store(path: Path, curves: int, samples: int) -> None:
    """A store with ``curves`` fitted curves (one task) and ``samples`` samples with costs."""
    from decimal import Decimal

    import numpy as np

    from budget.curves import fit_counts
    from budget.store import ProblemRecord, Store

    task, problems = "bench", 100
    rng = np.random.default_rng(0)
    with Store(str(path)) as store:
        store.add_task(task, [ProblemRecord(problem_id=f"p{i}") for i in range(problems)])
        run = store.create_run(task, models=[f"m{i}" for i in range(curves)], cap=Decimal(1000))
        for i in range(curves):
            n = np.full(problems, 20)
            c = rng.binomial(20, rng.beta(0.4, 1.5, problems))
            store.save_curve(fit_counts(f"m{i}", task, n, c, seed=i, n_boot=200))
    per = samples // curves
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    rows = (
        (
            run.run_id,
            f"m{i // per}",
            task,
            f"p{i % problems}",
            i,
            150,
            40,
            "0.0000345",
            34,
            0.5,
            "stop",
            "2026-01-01 00:00:00",
        )
        for i in range(per * curves)
    )
    con.executemany(
        "INSERT INTO samples (run_id, model, task, problem_id, sample_index, prompt_tokens, output_tokens, "
        "cost_usd, cost_micro, latency_s, finish_reason, created_at, prompt_hash, completion_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '')",
        rows,
    )
    con.commit()
    con.close()


def _modules(args: list[str], env: dict[str, str]) -> list[str]:
    """Heavy modules imported by ``python -m budget ARGS --json``."""
    imported = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "budget", *args, "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stderr
    modules = {line.split("|")[-1].strip().split(".")[0] for line in imported.splitlines() if "|" in line}
    return sorted(m for m in WATCHED if m in modules)


def measure(
    label: str, plan: list[str], base: list[str], env: dict[str, str], runs: int
) -> tuple[float, list[str]]:
    for cmd in (plan, base):  # warm the page cache and .pyc files (and the plan snapshot)
        _time(cmd, env)
    t_plan, t_base, cpu_plan, cpu_base = [], [], [], []
    for _ in range(runs):
        for cmd, wall, cpu in ((plan, t_plan, cpu_plan), (base, t_base, cpu_base)):
            w, c = _run(cmd, env)
            wall.append(w)
            cpu.append(c)
    mp, mb = statistics.median(t_plan), statistics.median(t_base)
    cp, cb = statistics.median(cpu_plan), statistics.median(cpu_base)
    heavy = _modules(plan[plan.index("plan") :], env)
    print(
        f"[{label}] budget plan --dollars 50: median {mp * 1000:.0f} ms (min {min(t_plan) * 1000:.0f}); "
        f"import numpy, scipy.special, rich: median {mb * 1000:.0f} ms; "
        f"ratio {mp / mb:.2f}x (target <= 1.5x); "
        f"CPU (user + sys) median {cp * 1000:.0f} ms against {cb * 1000:.0f} ms ({cp / cb:.2f}x); "
        f"heavy modules on the plan path: {heavy or 'none'}"
    )
    return mp / mb, heavy


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--curves", type=int, default=20)
    args = ap.parse_args()
    exe = shutil.which("budget")
    plan = ([exe] if exe else [sys.executable, "-m", "budget"]) + ["plan", "--dollars", "50"]
    base = [sys.executable, "-c", "import numpy, scipy.special, rich"]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"command: {' '.join(plan)}; runs: {args.runs} each, interleaved; load average {load}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BUDGET_DB": str(Path(tmp) / "absent.db")}
        ratio, heavy = measure("no store", plan, base, env, args.runs)
        ok &= ratio <= 1.5 and not heavy
        db = Path(tmp) / "budget.db"
        t0 = time.perf_counter()
        build_store(db, args.curves, args.samples)
        print(
            f"store: {args.curves} curves, {args.samples:,} samples, {db.stat().st_size / 1e6:.0f} MB "
            f"(built in {time.perf_counter() - t0:.0f} s)"
        )
        env = {**os.environ, "BUDGET_DB": str(db)}
        first = _time(plan, env)
        print(
            f"[store] first plan after a write (reads the store, writes the snapshot): {first * 1000:.0f} ms"
        )
        ratio, heavy = measure("store", plan, base, env, args.runs)
        ok &= ratio <= 1.5 and not heavy
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
