"""Benchmark: whole-process `budget plan --dollars 50` against importing its heaviest libraries.

Target (issue 2): the ratio median(budget plan) / median(python -c "import numpy, scipy.special,
rich") <= 1.5, both timed in the same run, interleaved.  Also proves that litellm (and vllm,
openai, torch, httpx, SQLAlchemy, SQLModel) is never imported on this path, from
`python -X importtime`.

Usage: python benchmarks/plan_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    exe = shutil.which("budget")
    plan = [exe] if exe else [sys.executable, "-m", "budget"]
    plan += ["plan", "--dollars", "50"]
    base = [sys.executable, "-c", "import numpy, scipy.special, rich"]
    for cmd in (plan, base):  # warm the page cache and .pyc files
        _time(cmd)
    t_plan, t_base = [], []
    for _ in range(args.runs):
        t_plan.append(_time(plan))
        t_base.append(_time(base))
    mp, mb = statistics.median(t_plan), statistics.median(t_base)
    imported = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "budget", "plan", "--dollars", "50", "--json"],
        capture_output=True, text=True, check=True,
    ).stderr
    modules = {line.split("|")[-1].strip().split(".")[0] for line in imported.splitlines() if "|" in line}
    watched = ("litellm", "vllm", "openai", "torch", "httpx", "sqlalchemy", "sqlmodel")
    heavy = sorted(m for m in watched if m in modules)
    print(f"command: {' '.join(plan)}")
    print(f"runs: {args.runs} each, interleaved")
    print(f"budget plan --dollars 50: median {mp * 1000:.0f} ms (min {min(t_plan) * 1000:.0f})")
    print(f"import numpy, scipy.special, rich: median {mb * 1000:.0f} ms (min {min(t_base) * 1000:.0f})")
    print(f"ratio: {mp / mb:.2f}x (target <= 1.5x)")
    print(f"heavy modules imported on the plan path: {heavy or 'none'} ({len(modules)} top-level modules)")
    return 0 if mp / mb <= 1.5 and not heavy else 1


if __name__ == "__main__":
    raise SystemExit(main())
