"""A real run on this machine: HumanEval with the local llama.cpp model, three tiers, K* table.

Drives ``budget`` itself (no sampling, resume, busy-time or store code of its own):

``sample``   ``budget local start`` (own port and pid file), ``budget run`` (resumed when the
             store already has the run), ``budget local stop``.
``export``   a third verdict for every stored sample, on the ``ground_truth_plus`` tier
             (:mod:`budget.tasks.humaneval_plus`), into the store (so ``budget plan
             --verifier measured`` measures against it), and the samples with their three
             verdicts to ``benchmarks/results/real-run-samples.jsonl`` (kept in the repository).
``analyze``  from that file alone: false-positive shares per tier pair, the K* table at
             c = 0, 1, 2, 4, 8 (:mod:`budget.planner.utility`), and majority vote against
             coverage on a synthetic math population (no local math data), to
             ``benchmarks/results/real-run-summary.json``.

    python benchmarks/real_run.py sample --db /work/scratch/real.db --problems 20 --samples 10
    python benchmarks/real_run.py export --db /work/scratch/real.db
    python benchmarks/real_run.py analyze
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLES = RESULTS / "real-run-samples.jsonl"
SUMMARY = RESULTS / "real-run-summary.json"
BUDGET = [sys.executable, "-m", "budget"]
COSTS = (0, 1, 2, 4, 8)
PAIRS = (
    ("verifier", "ground_truth"),
    ("verifier", "ground_truth_plus"),
    ("ground_truth", "ground_truth_plus"),
)


def sample(a: argparse.Namespace) -> None:
    env = {**os.environ, "LLAMA_ARG_REPACK": "0"}  # see BENCHMARKS.md: AMX repack crashes here
    local = ["--dir", a.local_dir] if a.local_dir else []
    port = str(a.port)
    start = [
        *BUDGET,
        "local",
        "start",
        "--model",
        a.model,
        "--port",
        port,
        "--threads",
        "1",
        "--parallel",
        "4",
    ]
    subprocess.run([*start, "--ctx-size", "8192", *local], check=True, env=env)
    try:
        run = [*BUDGET, "run", "--task", "humaneval", "--models", a.model, "--problems", str(a.problems)]
        run += [
            "--samples",
            str(a.samples),
            "--dollars",
            a.dollars,
            "--machine",
            "cpu-2core",
            "--seed",
            str(a.seed),
        ]
        run += ["--api-base", f"http://127.0.0.1:{port}/v1", "--max-tokens", "384", "--concurrency", "4"]
        run += ["--db", a.db, "--json"] + (["--resume", a.resume] if a.resume else [])
        subprocess.run(run, check=True, env=env)
    finally:
        subprocess.run([*BUDGET, "local", "stop", *local], check=False, env=env)


def export(a: argparse.Namespace) -> None:
    from budget.service.verification import verify_batch
    from budget.store import location
    from budget.store.database import Store
    from budget.tasks import load_task
    from budget.tasks.humaneval_plus import build_plus, with_plus_tests

    with Store(location.resolve(a.db), create=False) as store:
        rows = [r for r in store.samples(task="humaneval") if r.completion is not None]
    task = load_task("humaneval")
    plus_task = with_plus_tests(task, build_plus(task, sorted({r.problem_id for r in rows})))
    plus = verify_batch(
        plus_task, [(r.problem_id, r.completion or "") for r in rows], tier="ground_truth_plus"
    )
    with Store(location.resolve(a.db), create=False) as store:  # the plus verdicts join the store
        for r, v in zip(rows, plus, strict=True):
            store.set_verdict(r.key, "ground_truth_plus", v)
    with SAMPLES.open("w") as fh:
        for r, v in zip(rows, plus, strict=True):
            verdicts = {t: x.passed for t, x in r.verdicts.items()} | {"ground_truth_plus": v.passed}
            keep = {"model": r.model, "problem_id": r.problem_id, "sample_index": r.sample_index}
            keep |= {"output_tokens": r.output_tokens, "cost_usd": str(r.cost), "verdicts": verdicts}
            fh.write(json.dumps(keep | {"completion": r.completion}, sort_keys=True) + "\n")
    print(f"wrote {len(rows)} samples to {SAMPLES}")


def synthetic_math(seed: int = 0, problems: int = 60) -> list[object]:
    """Answer distributions shaped like Brown et al.'s MATH runs: a quarter of problems have a
    wrong answer as the mode.  Synthetic (no local math data); stated as such in BENCHMARKS.md.
    """
    from budget.curves.majority_vote import AnswerDistribution

    rng = np.random.default_rng(seed)
    out = []
    for i in range(problems):
        p_c = float(rng.beta(0.6, 1.0))
        wrong = rng.dirichlet([0.7, 0.7, 0.7]) * (1 - p_c) * 0.9
        out.append(
            AnswerDistribution(
                problem_id=f"S{i}", p_correct=p_c, p_wrong=list(wrong), p_none=1 - p_c - wrong.sum()
            )
        )
    return out


def analyze(_: argparse.Namespace) -> None:
    from budget.curves.majority_vote import coverage, vote_accuracy
    from budget.curves.verifier_quality import counts_from_verdicts, estimate_quality
    from budget.planner.utility import DirichletPopulation, constant_fp_population, k_star_table

    rows = [json.loads(line) for line in SAMPLES.open()]
    summary: dict[str, object] = {"schema_version": 1, "source": str(SAMPLES.name), "models": {}}
    for model in sorted({r["model"] for r in rows}):
        mine = [r for r in rows if r["model"] == model and len(r["verdicts"]) == 3]
        entry: dict[str, object] = {"samples": len(mine), "problems": len({r["problem_id"] for r in mine})}
        for lo, hi in PAIRS:
            counts = counts_from_verdicts(
                [(r["problem_id"], r["verdicts"][lo], r["verdicts"][hi]) for r in mine]
            )
            q = estimate_quality(counts, model=model, task="humaneval", verifier_tier=lo, truth_tier=hi)
            post = q.posterior()
            pop = DirichletPopulation(post[:, 0], post[:, 1], post[:, 2])
            entry[f"{lo}->{hi}"] = {
                "accept_rate": round(q.accept_rate, 4),
                "fp_share": q.fp_share,
                "fp_share_90": q.fp_share_interval,
                "by_difficulty": [b.model_dump() for b in q.by_difficulty],
                "k_star": {str(c): k for c, k in k_star_table(pop, COSTS, k_max=200).items()},
            }
        # the same pooled FP share, were false acceptances equally likely on every problem
        # (constant_fp_population): how the paper's regime would plan these problems
        vq = entry["verifier->ground_truth"]
        rates = [
            c.accepted_correct / c.n
            for c in counts_from_verdicts(
                [(r["problem_id"], r["verdicts"]["verifier"], r["verdicts"]["ground_truth"]) for r in mine]
            )
        ]
        uniform = constant_fp_population(np.array(rates), float(vq["fp_share"] or 0.0))  # type: ignore[index]
        entry["k_star_if_fp_uniform"] = {
            str(c): k for c, k in k_star_table(uniform, COSTS, k_max=200).items()
        }
        cost = sum(float(r["cost_usd"]) for r in mine) / max(1, len(mine))
        entry["usd_per_sample"] = round(cost, 8)
        summary["models"][model] = entry  # type: ignore[index]
    math = synthetic_math()
    ks = [1, 4, 16, 64]
    summary["majority_vote_synthetic_math"] = [
        {"k": v.k, "majority_vote": round(v.expected_accuracy, 4), "coverage": round(coverage(math, v.k), 4)}
        for v in vote_accuracy(math, ks)  # type: ignore[arg-type]
    ]
    SUMMARY.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    print(json.dumps(summary, indent=1)[:4000])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="step", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--db", required=True)
    s.add_argument("--model", default="qwen2.5-coder-0.5b")
    s.add_argument("--problems", type=int, default=20)
    s.add_argument("--samples", type=int, default=10)
    s.add_argument("--dollars", default="0.2")
    s.add_argument("--port", type=int, default=8093)
    s.add_argument("--local-dir", default=None)
    s.add_argument("--resume", default=None)
    s.add_argument("--seed", type=int, default=1)
    e = sub.add_parser("export")
    e.add_argument("--db", required=True)
    sub.add_parser("analyze")
    a = p.parse_args()
    {"sample": sample, "export": export, "analyze": analyze}[a.step](a)


if __name__ == "__main__":
    main()
