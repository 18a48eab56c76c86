"""``budget run`` as scripts use it: the JSON contract, one-line errors, kill -9 and resume."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.fakes.stub_server import FaultMix, StubServer

from budget.store import Store

CLI = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"


def budget(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, check=False, env=env, timeout=300
    )


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer(faults=FaultMix(p429=0.05, p500=0.05, retry_after="0.01"), seed=3, latency_s=0.15)
    server.start_in_thread()
    yield server
    server.stop()


def test_json_contract(stub: StubServer, tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    out = budget(
        "run", "--task", "humaneval", "--models", "stub", "--dollars", "0.5", "--problems", "3",
        "--samples", "2", "--api-base", stub.url, "--price", "stub=3,15", "--db", db, "--json",
        "--verify", "none",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {"schema_version", "run_id", "spent", "samples", "models"} <= set(doc)
    assert doc["samples"] == 6 and isinstance(doc["spent"], float) and 0 < doc["spent"] <= 0.5
    (m,) = doc["models"]
    assert {"model", "samples", "problems_solved", "spent"} <= set(m) and m["model"] == "stub"
    assert out.stderr == ""  # not a terminal and shorter than the log interval: quiet


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dollars", "-1"], "--dollars must be positive"),
        (["--dollars", "nan"], "finite"),
        (["--dollars", "1", "--price", "stub=1"], "--price expects MODEL=IN,OUT"),
        (["--dollars", "1", "--policy", "sometimes"], "'sometimes' is not one of 'fixed', 'until-pass'"),
        (["--dollars", "1", "--machine", "no-such-box"], "unknown machine"),
        (["--resume", "nope"], "no run 'nope'"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = budget(
        "run", "--task", "humaneval", "--models", "stub", "--samples", "1", "--api-base",
        "http://127.0.0.1:9", "--db", str(tmp_path / "r.db"), *args,
    )  # fmt: skip
    assert out.returncode != 0
    assert message in out.stderr, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def _stored(db: str) -> tuple[str | None, int]:
    """The run in ``db`` and how many samples it has stored (None, 0 before it exists)."""
    if not Path(db).exists():
        return None, 0
    try:
        with Store(db, create=False) as store:
            runs = store.runs()
            if not runs:
                return None, 0
            return runs[0].run_id, len(store.finished_keys(runs[0].run_id))
    except Exception:  # the database is being created by the process under test
        return None, 0


def _kill_after(proc: subprocess.Popen[bytes], db: str, target: int, extra_s: float) -> bool:
    """SIGKILL ``proc`` once ``target`` samples are stored (plus ``extra_s``); False if it ended first."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if _stored(db)[1] >= target:
            time.sleep(extra_s)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                return True
            return False
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("seed", [11])
def test_kill_and_resume(stub: StubServer, tmp_path: Path, seed: int) -> None:
    """SIGKILL `budget run` at random points; resuming ends with the same sample set,
    no duplicates and no lost verdicts, and the cap holds throughout."""
    from budget.errors import BudgetError
    from budget.service.verification import verify_one

    try:
        verify_one("humaneval", "HumanEval/0", "    return False\n")
    except BudgetError as exc:
        pytest.skip(f"verification unavailable here: {exc}")
    rng = random.Random(seed)
    db = str(tmp_path / "r.db")
    cap = "0.5"
    start = [
        "run", "--task", "humaneval", "--models", "stub", "--dollars", cap, "--problems", "6",
        "--samples", "4", "--api-base", stub.url, "--price", "stub=3,15", "--db", db,
        "--concurrency", "3", "--json",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kills = 0
    args = start
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        target = _stored(db)[1] + rng.randint(1, 6)
        kills += _kill_after(proc, db, target, rng.uniform(0.0, 0.3))
        proc.communicate(timeout=120)
        run_id = _stored(db)[0]
        assert run_id is not None
        args = ["run", "--resume", run_id, "--db", db, "--api-base", stub.url, "--json"]
    run_id = _stored(db)[0]
    assert run_id is not None
    final = budget("run", "--resume", run_id, "--db", db, "--api-base", stub.url, "--json")
    assert final.returncode == 0, final.stderr
    doc = json.loads(final.stdout)
    with Store(db) as store:
        samples = store.samples(run_id=run_id)
        run = store.get_run(run_id)
    keys = [(s.model, s.problem_id, s.sample_index) for s in samples]
    expected = {("stub", f"HumanEval/{p}", i) for p in range(6) for i in range(4)}
    assert set(keys) == expected and len(keys) == len(expected)  # same set, no duplicates
    assert all(set(s.verdicts) == {"verifier", "ground_truth"} for s in samples)  # no lost verdicts
    assert doc["samples"] == 24 and run.status.value == "finished"
    assert sum((s.cost for s in samples), Decimal(0)) <= run.spent <= Decimal(cap)
    assert kills >= 1  # the run was really cut off mid-way at least once


def test_plan_file(stub: StubServer, tmp_path: Path) -> None:
    plan = {
        "schema_version": 1,
        "inputs": {"dollars": 0.25, "task": "humaneval", "problems": 5},
        "recommendation": {
            "allocations": [
                {"model": "stub", "problems": 3, "samples_per_problem": 2},
                {"model": "stub-b", "problems": 2, "samples_per_problem": 1},
            ]
        },
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    out = budget(
        "run", "--plan", str(path), "--api-base", stub.url, "--price", "stub=3,15", "--price", "stub-b=1,2",
        "--db", str(tmp_path / "r.db"), "--verify", "none", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["task"] == "humaneval" and doc["cap"] == 0.25 and doc["samples"] == 8
    assert {m["model"]: m["samples"] for m in doc["models"]} == {"stub": 6, "stub-b": 2}
    with Store(str(tmp_path / "r.db")) as store:
        samples = store.samples(run_id=doc["run_id"])
    # problems are dealt to the allocations in order: the first 3 to stub, the next 2 to stub-b
    assert {s.problem_id for s in samples if s.model == "stub-b"} == {"HumanEval/3", "HumanEval/4"}


def test_plan_first_needs_curves(tmp_path: Path) -> None:
    env = {**os.environ, "BUDGET_DB": str(tmp_path / "empty.db")}
    out = budget(
        "run", "--task", "humaneval", "--models", "stub", "--dollars", "1", "--api-base",
        "http://127.0.0.1:9", "--db", str(tmp_path / "r.db"), env=env,
    )  # fmt: skip
    assert out.returncode == 2 and "pass --samples K" in out.stderr, out.stderr


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    server = StubServer(latency_s=1.0)  # 24 samples, 2 at a time: >= 12 s, so SIGINT lands mid-run
    server.start_in_thread()
    db = str(tmp_path / "r.db")
    try:
        args = [
            "run", "--task", "humaneval", "--models", "stub", "--dollars", "1", "--problems", "6",
            "--samples", "4", "--api-base", server.url, "--price", "stub=3,15", "--db", db,
            "--concurrency", "2", "--verify", "none", "--json",
        ]  # fmt: skip
        # SIG_DFL in the child: a test run started in the background (`cmd &`) ignores SIGINT,
        # and an ignored signal stays ignored across exec, so Python would never see Ctrl-C
        proc = subprocess.Popen(
            [sys.executable, "-c", CLI, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        # wait on the server's own count (cheap), not on the store: polling the store while the
        # run writes it can be slow enough under load for the whole run to finish first
        deadline = time.monotonic() + 120
        while server.stats.served < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        doc = json.loads(stdout)
        assert doc["status"] == "interrupted" and doc["samples"] < 24
        assert "Traceback" not in stderr
        with Store(db) as store:
            assert store.get_run(doc["run_id"]).status.value == "interrupted"
        final = budget("run", "--resume", doc["run_id"], "--db", db, "--json")
        assert final.returncode == 0, final.stderr
        assert json.loads(final.stdout)["samples"] == 24
    finally:
        server.stop()


def test_progress_line_fits_80_columns() -> None:
    from budget.executor.runner import Progress
    from budget.report.run import progress_line

    p = Progress(
        cap_micro=50_000_000, spent_micro=12_345_678, samples=300, planned=1200, solved=40, problems=164,
        started=100.0, in_flight=8,
    )  # fmt: skip
    line = progress_line(p, now=160.0)  # 300 samples in 60 s: 5/s, 900 left: 3 minutes
    assert line == "$12.35/$50.00 · 300/1,200 samples · 40/164 solved · 5.0/s · ETA 3m"
    assert len(line) + len("run ") + 9 <= 80  # with the 8-column bar


def test_plan_then_run_from_calibrated_curves(tmp_path: Path) -> None:
    """`budget run --dollars D --task T --models M` plans on the user's own curves, then runs."""
    from budget.errors import BudgetError
    from budget.service.verification import verify_one

    try:
        verify_one("humaneval", "HumanEval/0", "    return False\n")
    except BudgetError as exc:
        pytest.skip(f"verification unavailable here: {exc}")
    server = StubServer(seed=5)
    server.start_in_thread()
    db = str(tmp_path / "r.db")
    common = ["--api-base", server.url, "--price", "stub=3,15", "--db", db]
    try:
        cal = budget(
            "calibrate", "--task", "humaneval", "--models", "stub", "--dollars", "1", "--problems", "8",
            "--samples", "3", *common,
        )  # fmt: skip
        assert cal.returncode == 0, cal.stderr
        out = budget("run", "--task", "humaneval", "--models", "stub", "--dollars", "0.03", "--problems", "8",
                     *common, "--json")  # fmt: skip
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["cap"] == 0.03 and 0 < doc["spent"] <= 0.03 and doc["samples"] > 0
    with Store(db) as store:
        plan = store.get_run(doc["run_id"]).plan
    assert plan is not None and plan["recommendation"]["allocations"][0]["model"] == "stub"
