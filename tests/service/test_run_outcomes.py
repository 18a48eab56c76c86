"""Honest outcomes of ``execute_run`` (issue 9, items 8-11): a run that bought nothing says why, in
its result, its error and the store; a plan runs as planned or is refused with the setting that
fits; concurrency follows the server's slots; hostile text is stored and shown safely."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.fakes.stub_server import OutcomeModes, StubServer

from budget.errors import BackendError, BudgetError, InputError
from budget.service.running import RunRequest, execute_run
from budget.store import Store


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


def serve(**modes: object) -> StubServer:
    server = StubServer(outcomes=OutcomeModes(**modes))  # type: ignore[arg-type]
    server.start_in_thread()
    return server


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = serve()
    yield server
    server.stop()


def req(url: str, db: str, **kw: object) -> RunRequest:
    base: dict[str, object] = {
        "task": "humaneval", "models": ["stub"], "dollars": "0.5", "problems": 2, "samples": 1,
        "api_base": url, "prices": ["stub=3,15"], "db": db, "verify": "none", "timeout_s": 5.0,
        "backoff_base_s": 0.01, "max_attempts": 2,
    }  # fmt: skip
    base.update(kw)
    return RunRequest.model_validate(base)


# --- item 8: failed runs say so ------------------------------------------------------------------
def test_every_request_rejected_fails_with_the_reason_everywhere(db: str) -> None:
    server = serve(reject_status=400)
    try:
        with pytest.raises(BackendError, match="every request was rejected") as info:
            execute_run(req(server.url, db))
    finally:
        server.stop()
    result = info.value.result  # type: ignore[attr-defined]
    assert result.status == "failed" and "every request was rejected" in result.error
    assert "HTTP 400" in result.error and result.samples == 0
    assert json.loads(result.model_dump_json())["error"] == result.error
    with Store(db) as store:
        (run,) = store.runs()
        assert run.status.value == "failed" and "every request was rejected" in run.note
        assert run.spent == 0  # a rejected request is not billed


def test_unreachable_server_is_refused_before_anything_is_created(db: str) -> None:
    with pytest.raises(BackendError, match=r"cannot reach the server at http://127\.0\.0\.1:9/v1"):
        execute_run(req("http://127.0.0.1:9", db, max_attempts=3))
    with Store(db) as store:
        assert store.runs() == []  # nothing was bought, nothing is left to resume


def test_missing_api_key_is_refused_up_front(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(var, raising=False)
    # should anything be sent anyway, it goes to a closed loopback port, never the internet
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    request = req("", db, api_base=None, models=["gpt-4o-mini"], prices=["gpt-4o-mini=0.15,0.6"])
    with pytest.raises(BudgetError, match="OPENAI_API_KEY"):
        execute_run(request.model_copy(update={"backend": "litellm", "max_attempts": 1}))
    with Store(db) as store:
        assert store.runs() == []


# --- item 9: a plan runs as planned, or is refused with what would fit ----------------------------
def _plan(tmp_path: Path, dollars: float, problems: int, k: int) -> Path:
    doc = {
        "schema_version": 1,
        "inputs": {"dollars": dollars, "task": "humaneval", "problems": problems, "policy": "fixed"},
        "recommendation": {
            "allocations": [{"model": "stub", "problems": problems, "samples_per_problem": k}]
        },
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_plan_runs_its_own_problems(stub: StubServer, db: str, tmp_path: Path) -> None:
    plan = _plan(tmp_path, 0.5, 3, 2)
    result = execute_run(
        RunRequest(plan_file=plan, api_base=stub.url, prices=["stub=3,15"], db=db, verify="none")
    )
    assert result.problems == 3 and result.samples == 6 and result.status == "finished"


def test_cap_below_one_requests_worst_case_is_refused_with_the_fix(
    stub: StubServer, db: str, tmp_path: Path
) -> None:
    plan = _plan(tmp_path, 0.002, 3, 1)
    with pytest.raises(InputError, match=r"worst case.*--dollars \$0\.00[0-9]+ or --max-tokens [0-9]+"):
        execute_run(RunRequest(plan_file=plan, api_base=stub.url, prices=["stub=3,15"], db=db, verify="none"))
    with pytest.raises(InputError, match="worst case"):
        execute_run(req(stub.url, db, dollars="0.002"))
    assert stub.stats.requests == 0
    with Store(db) as store:
        assert store.runs() == []


def test_missing_plan_file_is_an_error(stub: StubServer, db: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the plan"):
        execute_run(req(stub.url, db, plan_file=tmp_path / "absent.json"))


# --- item 10: concurrency from the server's slots ---------------------------------------------------
def test_concurrency_follows_the_servers_slots_and_is_reported(db: str) -> None:
    server = serve(slots=2)
    try:
        auto = execute_run(req(server.url, db))
        chosen = execute_run(req(server.url, db, concurrency=5))
    finally:
        server.stop()
    assert auto.concurrency == 2 and "2 slots" in auto.concurrency_source
    assert chosen.concurrency == 5 and "--concurrency" in chosen.concurrency_source
    with Store(db) as store:
        run = store.get_run(auto.run_id)
    # the choice is recorded; the request keeps "auto" so that a resume sizes it again
    assert run.settings["concurrency"]["chosen"] == 2 and run.settings["request"]["concurrency"] is None


def test_timeout_follows_the_machines_measured_throughput(db: str) -> None:
    """A slow model on 2 cores: the timeout covers max_tokens at each request's share of the
    measured decode rate (pricing/throughput.toml: 42 tok/s for the 1.5B model on cpu-2core),
    not a fixed 120 s that times requests out and charges them."""
    server = serve(slots=8)
    try:
        sized = execute_run(
            req(server.url, db, models=["qwen2.5-coder-1.5b-instruct"], prices=[], machine="cpu-2core",
                problems=1, dollars="1", timeout_s=None)
        )  # fmt: skip
        given = execute_run(
            req(server.url, db, models=["qwen2.5-coder-1.5b-instruct"], prices=[], machine="cpu-2core",
                problems=1, dollars="1", timeout_s=60.0)
        )  # fmt: skip
    finally:
        server.stop()
    assert sized.concurrency == 8 and sized.timeout_s == 3 * 512 * 8 / 42 // 1 + 1  # ceil(292.57)
    assert "42 tok/s" in sized.timeout_source and "cpu-2core" in sized.timeout_source
    assert given.timeout_s == 60 and given.timeout_source == "--timeout"


# --- item 11: hostile text -------------------------------------------------------------------------
POISON = "x = 1\n" + chr(0xD800) + "\x00\x1b]0;owned\x07\x1b[2J[bold red]markup[/]"


def test_poisoned_reply_is_stored_safely_and_the_run_finishes(db: str) -> None:
    server = serve(poison_text=POISON)
    try:
        result = execute_run(req(server.url, db, samples=2))
    finally:
        server.stop()
    assert result.status == "finished" and result.samples == 4
    with Store(db) as store:
        samples = store.samples(run_id=result.run_id)
    assert len(samples) == 4
    for s in samples:
        text = s.completion or ""
        text.encode("utf-8")  # valid text: no lone surrogate
        assert "\x00" not in text and "x = 1" in text


def test_huge_reply_is_capped_with_a_marker(db: str) -> None:
    from budget.store.samples import MAX_STORED_TEXT

    server = serve(poison_text="#" + "a" * (MAX_STORED_TEXT + 1000))
    try:
        result = execute_run(req(server.url, db, problems=1, max_tokens=5))
    finally:
        server.stop()
    with Store(db) as store:
        (s,) = store.samples(run_id=result.run_id)
    text = s.completion or ""
    assert len(text) < MAX_STORED_TEXT + 200 and "[budget: truncated" in text


def test_display_escapes_terminal_controls_and_markup() -> None:
    from io import StringIO

    from rich.console import Console

    from budget.report.run import render_run
    from budget.service.running import RunResult

    result = RunResult(
        run_id="r", task="t", status="failed", stop_reason="error", cap=Decimal(1), spent=Decimal(0),
        samples=0, problems=1, models=[], error="server said: " + POISON,
    )  # fmt: skip
    out = StringIO()
    render_run(result, Console(file=out, force_terminal=True, width=200))
    text = out.getvalue()
    assert "\x1b]0;owned" not in text and "\x1b[2J" not in text and "\x00" not in text
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # rich's own colours
    assert "[bold red]markup[/]" in plain and "\\x1b]0;owned\\x07" in plain  # literal, escaped


def test_sample_raising_a_surrogate_does_not_stick_the_run_or_rebuy_on_resume(db: str) -> None:
    """The sample's code raises ``ValueError(chr(0xd800))``: its verdict's detail holds a lone
    surrogate.  The run must finish with every verdict stored, and a resume must buy nothing."""
    # the sample's code is this fixed line (no model wrote it): run unsandboxed where bwrap is absent
    server = serve(poison_text="    raise ValueError(chr(0xd800))\n")
    try:
        first = execute_run(req(server.url, db, verify="verifier", unsafe_no_sandbox=True))
        bought = server.stats.requests
        again = execute_run(RunRequest(resume=first.run_id, db=db, api_base=server.url))
    finally:
        server.stop()
    assert first.status == "finished" and first.samples == 2
    assert again.status == "finished" and server.stats.requests == bought  # nothing bought twice
    with Store(db) as store:
        samples = store.samples(run_id=first.run_id, with_verdicts=True)
        assert store.get_run(first.run_id).status.value == "finished"
    assert len(samples) == 2 and all("verifier" in s.verdicts for s in samples)
    assert all(
        not s.verdicts["verifier"].passed and "ValueError" in s.verdicts["verifier"].detail for s in samples
    )
