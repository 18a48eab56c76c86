"""Hostile command-line input (issue 9, item 16): one line on stderr and an exit code, never a
traceback, and nothing secret kept in the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.fakes.stub_server import StubServer

from budget.store import Store

CLI = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"


def budget(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=timeout,
    )


def one_line(out: subprocess.CompletedProcess[str], message: str) -> None:
    assert out.returncode not in (0, 1) or "Traceback" not in out.stderr
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert message in out.stderr, out.stderr


@pytest.mark.parametrize("dollars", ["1e309", "1e308", "9e999999", "1e40"])
def test_plan_with_absurd_dollars(dollars: str) -> None:
    one_line(budget("plan", "--dollars", dollars), "--dollars must be at most")


@pytest.mark.parametrize("where", ["dir", "missing-parent-under-file"])
def test_plan_export_to_an_unwritable_path(tmp_path: Path, where: str) -> None:
    target = tmp_path if where == "dir" else tmp_path / "file" / "plan.json"
    (tmp_path / "file").write_text("x", encoding="utf-8")
    one_line(budget("plan", "--dollars", "1", "--export", str(target)), "cannot write")


RUN = ["run", "--task", "humaneval", "--models", "stub", "--problems", "1", "--price", "stub=3,15",
       "--api-base", "http://127.0.0.1:9", "--verify", "none"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dollars", "1", "--samples", "1", "--temperature", "inf"], "temperature"),
        (["--dollars", "1", "--samples", "1", "--timeout", "inf"], "timeout"),
        (["--dollars", "1", "--samples", "1", "--timeout", "1e300"], "timeout"),
        (["--dollars", "1e309", "--samples", "1"], "--dollars must be at most"),
    ],
)
def test_run_with_absurd_numbers(tmp_path: Path, args: list[str], message: str) -> None:
    one_line(budget(*RUN, "--db", str(tmp_path / "r.db"), *args), message)


def test_run_with_a_billion_samples_streams_its_work(tmp_path: Path) -> None:
    """A billion samples per problem must not be materialised: the cap stops the run, quickly."""
    stub = StubServer()
    stub.start_in_thread()
    try:
        out = budget(
            "run", "--task", "humaneval", "--models", "stub", "--problems", "2", "--price", "stub=3,15",
            "--api-base", stub.url, "--verify", "none", "--samples", "1000000000", "--dollars", "0.05",
            "--db", str(tmp_path / "r.db"), "--json", timeout=120,
        )  # fmt: skip
    finally:
        stub.stop()
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["stop_reason"] == "budget exhausted" and 0 < doc["samples"] < 100


def test_fit_with_absurd_sample_counts(tmp_path: Path) -> None:
    counts = tmp_path / "c.csv"
    counts.write_text(
        "model,problem_id,num_samples,num_correct\nm,p1,1e26,1\nm,p2,100000000000000000000000000,3\n",
        encoding="utf-8",
    )
    one_line(budget("fit", str(counts)), "num_samples")


def test_api_base_userinfo_is_not_stored(tmp_path: Path) -> None:
    stub = StubServer()
    stub.start_in_thread()
    db = str(tmp_path / "r.db")
    secret = "sk-very-secret-key"
    try:
        url = stub.url.replace("http://", f"http://user:{secret}@")
        out = budget(*RUN[:-4], "--api-base", url, "--verify", "none", "--samples", "1", "--dollars", "0.5",
                     "--db", db, "--json")  # fmt: skip
    finally:
        stub.stop()
    assert out.returncode == 0, out.stderr
    assert secret not in out.stdout and secret not in out.stderr
    with Store(db) as store:
        (run,) = store.runs()
        assert secret not in json.dumps(run.settings) and "user:" not in json.dumps(run.settings)
    raw = Path(db).read_bytes()
    assert secret.encode() not in raw


def test_read_only_store_can_be_listed(tmp_path: Path) -> None:
    """A store in a directory the user cannot write (its WAL index cannot be created) is listed."""
    import shutil

    ro = tmp_path / "ro"
    ro.mkdir()
    db = ro / "r.db"
    with Store(str(db)) as store:
        store.create_run("humaneval", models=["stub"])
    command = [sys.executable, "-c", CLI, "runs", "--db", str(db), "--json"]
    if os.geteuid() != 0:  # permissions hold: make the file and its directory read-only
        db.chmod(0o444)
        ro.chmod(0o555)
        try:
            out = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        finally:
            ro.chmod(0o755)
    else:  # root ignores permissions: a read-only bind mount in a private mount namespace
        if shutil.which("unshare") is None:
            pytest.skip("needs unshare(1) to make a read-only mount as root")
        import shlex

        script = (
            f"mount --bind -o ro {shlex.quote(str(ro))} {shlex.quote(str(ro))} && exec {shlex.join(command)}"
        )
        out = subprocess.run(
            ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, check=False, timeout=120
        )
        if "mount" in out.stderr and out.returncode != 0 and "budget" not in out.stderr:
            pytest.skip(f"cannot make a read-only mount here: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["runs"]) == 1
