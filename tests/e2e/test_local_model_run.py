"""End to end on the real local model: `budget local start`, `budget run`, sandboxed verdicts, the store.

Needs the llama.cpp server and Qwen2.5-Coder-0.5B-Instruct installed (scripts/setup-local-model.sh,
run by scripts/test) and a working bubblewrap sandbox (scripts/setup-sandbox.sh); otherwise it
skips with the reason.  Marked ``e2e``: ``pytest -m "not e2e"`` leaves it out of a quick loop.

Assertions are loose on purpose: pass rates vary with the llama.cpp build and the CPU.  What must
hold exactly: every planned sample is bought, stored once, verified on both tiers, and the spend
is the sum of the samples' costs and stays under the cap.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

MODEL = "qwen2.5-coder-0.5b"
PROBLEMS, SAMPLES, SEED = 5, 2, 1234


def budget(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    code = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "120"},
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def local_server() -> Iterator[dict[str, Any]]:
    """The real server with the 0.5B model on a free port, stopped afterwards."""
    from budget.local.install import model_installed, server_installed
    from budget.local.models import LocalLayout, model_spec
    from budget.verify.sandbox import probe

    layout = LocalLayout.default()
    if server_installed(layout) is None or model_installed(layout, model_spec(MODEL)) is None:
        pytest.skip(f"the local model is not installed under {layout.root}: run scripts/setup-local-model.sh")
    sandbox = probe()
    if not sandbox.available:
        pytest.skip(f"no sandbox for the verifier: {sandbox.reason}")
    port = free_port()
    # one thread, four slots: on a shared 2-core machine two spinning threads stall each other
    started = budget(
        *("local", "start", "--model", MODEL, "--port", str(port)),
        *("--threads", "1", "--parallel", "4", "--json"),
    )
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    try:
        yield info
    finally:
        stopped = budget("local", "stop", "--port", str(port), "--json")
        assert stopped.returncode == 0, stopped.stderr
        assert [p["port"] for p in json.loads(stopped.stdout)["stopped"]] == [port]


def test_status_shows_the_running_server(local_server: dict[str, Any]) -> None:
    out = budget("local", "status", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1
    ports = {s["process"]["port"]: s for s in doc["servers"]}
    mine = ports[local_server["process"]["port"]]
    assert mine["health"] == "ok" and mine["process"]["model"] == MODEL
    assert any(m["name"] == MODEL and m["size_bytes"] > 100 * 2**20 for m in doc["models"])


def test_small_humaneval_run_is_verified_and_stored(local_server: dict[str, Any], tmp_path: Path) -> None:
    from budget.store import Store

    served = local_server["process"]["served_name"]
    db = f"sqlite:///{tmp_path / 'e2e.db'}"
    args = (
        *("run", "--task", "humaneval", "--models", served, "--dollars", "0.05"),
        *("--problems", str(PROBLEMS), "--samples", str(SAMPLES), "--seed", str(SEED)),
        *("--api-base", local_server["api_base"], "--machine", "cpu-2core", "--mode", "completion"),
        *("--max-tokens", "256", "--concurrency", "4", "--timeout", "900"),
        *("--db", db, "--json"),
    )
    out = budget(*args, timeout=1800)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["schema_version"] == 1
    assert result["samples"] == PROBLEMS * SAMPLES
    (model,) = result["models"]
    assert model["model"] == served and model["samples"] == PROBLEMS * SAMPLES
    spent = Decimal(str(result["spent"]))
    assert Decimal(0) < spent <= Decimal("0.05")
    # the 0.5B model passes about 60-73% of HumanEval samples: solving none of 5 problems in
    # 10 samples would mean the server, the prompt or the verifier is broken
    assert 1 <= model["problems_solved"] <= PROBLEMS

    with Store(db) as store:
        samples = store.samples(run_id=result["run_id"])
    assert len(samples) == PROBLEMS * SAMPLES
    assert len({(s.problem_id, s.sample_index) for s in samples}) == PROBLEMS * SAMPLES
    assert len({s.problem_id for s in samples}) == PROBLEMS
    for s in samples:
        assert set(s.verdicts) == {"verifier", "ground_truth"}, s.verdicts
        assert s.output_tokens > 0 and s.prompt_tokens > 0
        assert s.completion is not None and s.completion.strip()
        assert s.cost > 0 and s.seed is not None
    # spend = sum of the stored samples' costs (+ charges that belong to no sample)
    total = sum((s.cost for s in samples), Decimal(0))
    assert total <= spent
    assert spent - total == Decimal(str(result.get("unattributed", 0)))
    solved = {s.problem_id for s in samples if s.verdicts["verifier"].passed}
    assert len(solved) == model["problems_solved"]
