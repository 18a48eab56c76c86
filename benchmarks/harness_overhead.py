"""Harness overhead: samples/s through ``budget run`` vs a plain async httpx client.

Both send the same completion requests (HumanEval prompts, one sample per request, the same
``max_tokens``, stop sequences and seeds) at the same concurrency to the same local stub
server (``tests.fakes.stub_server`` in its own process, replying after a fixed latency
that stands in for a model).  ``budget run`` is timed as a whole call of
:func:`budget.service.running.execute_run`: opening the SQLite store (one file for all rounds,
created by the warm-up run, as a user's store is), loading the task, creating the run,
reserving and settling every request on the ledger, writing every sample to the store, and
progress callbacks; verification is OFF (``--verify none``) unless ``--verify`` says otherwise.
The baseline only posts, awaits and parses JSON.  Runs alternate (baseline, harness) for
``--repeats`` rounds; the medians are compared.

    .venv/bin/python benchmarks/harness_overhead.py [--concurrency 8] [--latency-ms 50]
        [--problems 164] [--samples 3] [--repeats 3] [--verify none]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path


def start_stub(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.stub_server", "--port", "0", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],  # the stub server is test scaffolding: tests/fakes
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"stub server did not start: {line!r}")
    return proc, line.split("listening on ", 1)[1].strip() + "/v1"


def payloads(problems: int, samples: int) -> list[dict[str, object]]:
    from budget.executor.prompts import build_prompt, request_seed
    from budget.executor.records import Mode
    from budget.tasks import load_task

    task = load_task("humaneval")
    out = []
    for index in range(samples):  # round by round, as the runner orders them
        for p in task.problems[:problems]:
            prompt = build_prompt(task, p, Mode.COMPLETION)
            out.append(
                {
                    "model": "stub",
                    "prompt": prompt.text,
                    "n": 1,
                    "max_tokens": 512,
                    "temperature": 0.8,
                    "top_p": 0.95,
                    "seed": request_seed(0, "stub", p.id, index),
                    "stop": list(prompt.stop),
                }
            )
    return out


async def baseline(url: str, bodies: list[dict[str, object]], concurrency: int) -> tuple[int, float]:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one(body: dict[str, object]) -> int:
            async with sem:
                r = await client.post(f"{url}/completions", json=body)
                r.raise_for_status()
                return len(r.json()["choices"])

        started = time.perf_counter()
        done = await asyncio.gather(*(one(b) for b in bodies))
        return sum(done), time.perf_counter() - started


#: samples/s of the sampling loop alone (without opening the store and reading the summary)
loops: list[float] = []


def harness(
    url: str, problems: int, samples: int, concurrency: int, verify: str, db: Path
) -> tuple[int, float]:
    from budget.service.running import RunRequest, execute_run

    request = RunRequest(
        task="humaneval",
        models=["stub"],
        dollars=Decimal(1000),
        problems=problems,
        samples=samples,
        api_base=url,
        prices=["stub=3,15"],
        concurrency=concurrency,
        max_tokens=512,
        verify=verify,  # type: ignore[arg-type]
        db=f"sqlite:///{db}",
    )
    ticks = [0]

    def progress(_: object) -> None:  # what the rich display is fed; counted, not drawn
        ticks[0] += 1

    started = time.perf_counter()
    result = execute_run(request, progress=progress)
    elapsed = time.perf_counter() - started
    assert result.samples == problems * samples, result
    loops.append(result.samples / result.elapsed_s)
    return result.samples, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--problems", type=int, default=164)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--verify", default="none", choices=["none", "verifier", "both"])
    args = ap.parse_args()
    proc, url = start_stub(args.latency_ms)
    try:
        bodies = payloads(args.problems, args.samples)
        # warm up both paths (imports, first connections, task loading)
        asyncio.run(baseline(url, bodies[: args.concurrency * 2], args.concurrency))
        with tempfile.TemporaryDirectory() as tmp:
            harness(url, 2, 1, args.concurrency, "none", Path(tmp) / "runs.db")
            base_rates, run_rates = [], []
            for r in range(args.repeats):
                n, t = asyncio.run(baseline(url, bodies, args.concurrency))
                base_rates.append(n / t)
                n, t = harness(
                    url, args.problems, args.samples, args.concurrency, args.verify, Path(tmp) / "runs.db"
                )
                run_rates.append(n / t)
                print(
                    f"round {r}: baseline {base_rates[-1]:.1f} samples/s, "
                    f"budget run {run_rates[-1]:.1f} samples/s"
                )
    finally:
        proc.terminate()
        proc.wait(10)
    b, h = statistics.median(base_rates), statistics.median(run_rates)
    ideal = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else float("inf")
    print(
        f"samples={args.problems * args.samples} concurrency={args.concurrency} "
        f"latency={args.latency_ms:g}ms verify={args.verify} (ideal {ideal:.0f}/s)"
    )
    print(
        f"median baseline {b:.1f} samples/s; budget run {h:.1f} samples/s; ratio {h / b:.3f} (target >= 0.95)"
    )
    loop = statistics.median(loops[1:])
    print(f"budget run's sampling loop alone: {loop:.1f} samples/s; ratio {loop / b:.3f}")


if __name__ == "__main__":
    main()
