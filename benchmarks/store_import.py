"""Benchmark: import 100 problems x 10,000 per-sample outcomes (10^6 samples) into the store, then
``budget check --all``, ``budget show``, ``budget fit --db``, ``budget check RUN`` and
``budget plan`` on that store: wall time and peak memory (max RSS) of each command as a whole
process, through the real entry point.

The file is the per-problem rows format of "Large Language Monkeys" (JSON Lines, one row per
problem with ``is_corrects``: 10,000 booleans), synthetic: each problem's success rate drawn from
Beta(0.3, 3) (a long left tail, like the released data).  Targets (issue 12): import under 30 s;
the others under 5 s and 500 MB.  A baseline ``python -c "import budget.cli"`` is timed in the
same run so the figures can be read as ratios on another machine.

Usage: python benchmarks/store_import.py [--problems 100] [--samples 10000] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _measured(args: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall time, CPU time (user + system) and the child's own max RSS (os.wait4), and its stdout.

    CPU time is the figure that does not depend on how many other processes share the cores.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args[3:])} failed: {err.read().strip()[-400:]}")
        return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=100)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    cli = [sys.executable, "-c", "from budget.cli import main; main()"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BUDGET_DB": str(Path(tmp) / "b.db")}
        rows = Path(tmp) / "rows.jsonl"
        rng = np.random.default_rng(0)
        p = rng.beta(0.3, 3.0, size=a.problems)
        with rows.open("w") as fh:
            for i, pi in enumerate(p):
                fh.write(
                    json.dumps({"orig_dset_idx": i, "is_corrects": (rng.random(a.samples) < pi).tolist()})
                    + "\n"
                )
        results: dict[str, dict[str, float]] = {}
        load_before = os.getloadavg()[0]

        def step(name: str, args: list[str]) -> str:
            secs, cpu, mib, out = _measured(cli + args, env)
            results[name] = {
                "seconds": round(secs, 2),
                "cpu_seconds": round(cpu, 2),
                "peak_mib": round(mib, 1),
            }
            print(f"{name:34s} {secs:7.2f} s wall {cpu:7.2f} s cpu {mib:8.1f} MiB", flush=True)
            return out

        base_s, base_cpu, base_mib, _ = _measured([sys.executable, "-c", "import budget.cli"], env)
        results["baseline: import budget.cli"] = {
            "seconds": round(base_s, 2),
            "cpu_seconds": round(base_cpu, 2),
            "peak_mib": round(base_mib, 1),
        }
        print(
            f"{'baseline: import budget.cli':34s} {base_s:7.2f} s wall {base_cpu:7.2f} s cpu "
            f"{base_mib:8.1f} MiB"
        )
        doc = json.loads(
            step(
                "import (10^6 samples)",
                [
                    "import",
                    str(rows),
                    "--format",
                    "monkey-business",
                    "--model",
                    "bench-model",
                    "--task",
                    "bench",
                    "--json",
                ],
            )
        )
        run_id = doc["run_id"]
        step("check --all", ["check", "--all", "--json"])
        step("show RUN", ["show", run_id, "--json"])
        step("fit --db", ["fit", "--db", env["BUDGET_DB"], "--task", "bench", "--json"])
        step("check RUN (with refit)", ["check", run_id, "--json"])
        step("plan --task bench", ["plan", "--dollars", "50", "--task", "bench", "--json"])
        step("runs", ["runs", "--json"])
        report = {
            "problems": a.problems,
            "samples_per_problem": a.samples,
            "samples": a.problems * a.samples,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg()[0],
            "cpus": os.cpu_count(),
            "results": results,
        }
        if a.out:
            a.out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
