"""The cap against a lying server (issue 9): the server's own bill over budget's record.

For each lie of the stub server (``tests.fakes.stub_server``, in a thread on 127.0.0.1) the
runner samples HumanEval prompts at ``--price stub=3,15`` (3 and 15 micro-dollars per prompt
and output token), with every reply lying (probability 1), under a generous cap and under a
small one.  Printed per lie: the server's bill ``S`` (the tokens it generated, whatever its
``usage`` said), budget's recorded spend ``R``, the cap ``C``, ``S / R`` (above 1: budget
recorded less than it was billed) and ``S / C`` (above 1: the server billed past the cap).
The stub's ``excess`` is the work the requests did not allow (see the stub's docstring).

    PYTHONPATH=src:. .venv/bin/python benchmarks/lying_server.py [--problems 10] [--samples 5]

Run it with another tree's ``src`` first on ``PYTHONPATH`` to measure that tree (the stub
server comes from this one).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from tests.fakes.stub_server import FaultMix, StubServer

from budget.executor.backends.openai_server import OpenAIServerBackend
from budget.executor.costs import TokenCost, parse_price
from budget.executor.ledger import Ledger
from budget.executor.prompts import build_prompt
from budget.executor.records import BoughtSample, Mode
from budget.executor.runner import ProblemWork, Runner, RunnerSettings
from budget.tasks import load_task

LIES: dict[str, dict[str, Any]] = {
    "no_usage": {"no_usage": 1.0},
    "zero_usage+empty_tokenize": {"zero_usage": 1.0, "empty_tokenize": True},
    "overlong": {"overlong": 1.0},
    "extra_choices": {"extra_choices": 1.0},
    "bad_usage": {"bad_usage": 1.0},
}


class Sink:
    def __init__(self) -> None:
        self.samples_: list[BoughtSample] = []

    def samples(self, records: Any) -> None:
        self.samples_.extend(records)

    def verdicts(self, record: Any, verdicts: Any) -> None:
        return None

    def spend(self, spent_micro: int, reserved_micro: int) -> None:
        return None


def measure(
    lie: dict[str, Any], *, cap: int, problems: int, samples: int, max_n: int, llama: bool
) -> dict[str, Any]:
    task = load_task("humaneval")
    server = StubServer(faults=FaultMix(**lie), llama_usage=llama)
    server.start_in_thread()
    ledger = Ledger(cap)
    sink = Sink()
    error = ""
    try:
        backend = OpenAIServerBackend(server.url, concurrency=4, max_n=max_n)
        work = [
            ProblemWork("stub", p.id, build_prompt(task, p, Mode.COMPLETION), tuple(range(samples)))
            for p in task.problems[:problems]
        ]
        runner = Runner(
            backends={"stub": backend},
            costs={"stub": TokenCost(parse_price("stub=3,15"))},
            ledger=ledger,
            sink=sink,
            settings=RunnerSettings(max_tokens=200, timeout_s=5, backoff_base_s=0.01, backoff_cap_s=0.05),
        )

        async def go() -> None:
            try:
                await runner.run(work)
            finally:
                await backend.aclose()

        try:
            asyncio.run(go())
        except Exception as exc:  # main crashed on some lies: record it
            error = f"{type(exc).__name__}: {str(exc)[:60]}"
    finally:
        server.stop()
    stats = server.stats
    bill = 3 * stats.billed_prompt_tokens + 15 * stats.billed_completion_tokens
    return {
        "bill": bill,
        "recorded": ledger.spent_micro,
        "cap": cap,
        "samples": len(sink.samples_),
        "requests": stats.requests,
        "excess_tokens": stats.excess_completion_tokens,
        "error": error,
    }


def ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else ("inf" if a else "-")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", type=int, default=10)
    ap.add_argument("--samples", type=int, default=5)
    args = ap.parse_args()
    print("| lie | n | cap $ | bill S $ | recorded R $ | S/R | S/C | samples | requests | error |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, lie in LIES.items():
        for max_n, llama in ((1, False), (3, True)):
            for cap in (10**9, 30_000):
                r = measure(
                    lie, cap=cap, problems=args.problems, samples=args.samples, max_n=max_n, llama=llama
                )
                print(
                    f"| {name} | {max_n} | {cap / 1e6:g} | {r['bill'] / 1e6:.6f} | "
                    f"{r['recorded'] / 1e6:.6f} | "
                    f"{ratio(r['bill'], r['recorded'])} | {ratio(r['bill'], cap)} | {r['samples']} | "
                    f"{r['requests']} | {r['error']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
