"""``budget run`` against a lying server (issue 9): the spend covers the server's bill, the
provider faults are in the result, the report and the store, and the run never crashes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from tests.fakes.stub_server import FaultMix, StubServer

from budget.errors import RunFailedError
from budget.service.running import RunRequest, execute_run
from budget.store import Store


@pytest.mark.parametrize(
    "lie",
    [{"no_usage": 1.0}, {"bad_usage": 1.0}, {"overlong": 1.0}, {"extra_choices": 1.0}],
    ids=lambda d: next(iter(d)),
)
def test_a_lying_server_is_recorded_at_least_at_its_bill(lie: dict[str, float], tmp_path: Path) -> None:
    server = StubServer(faults=FaultMix(**lie), seed=3)
    server.start_in_thread()
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    try:
        settings = {
            "task": "humaneval", "models": ["stub"], "dollars": Decimal("1"), "problems": 3,
            "samples": 2, "api_base": server.url, "prices": ["stub=3,15"], "db": db,
            "timeout_s": 5.0, "backoff_base_s": 0.01, "verify": "none",
        }  # fmt: skip
        try:
            result = execute_run(RunRequest.model_validate(settings))
        except RunFailedError as exc:  # a server that ignores max_tokens or n stops the run, named
            assert ("overlong" in lie or "extra_choices" in lie) and "provider fault" in str(exc)
            assert exc.result is not None and exc.result.status == "failed"
            result = exc.result
    finally:
        server.stop()
    stats = server.stats
    bill = (3 * stats.billed_prompt_tokens + 15 * stats.billed_completion_tokens) * Decimal("1e-6")
    assert result.spent >= bill > 0  # the server's own bill is the floor
    model = result.models[0]
    assert model.provider_faults == stats.served > 0 and model.fault_notes
    if "extra_choices" in lie:
        assert model.extra_choices == 2 * stats.served
    from rich.console import Console

    from budget.report.run import render_run

    console = Console(record=True, width=200)
    render_run(result, console)
    assert f"{model.provider_faults} replies broke the request's terms" in console.export_text()
    with Store(db) as store:
        run = store.get_run(result.run_id)
        assert run.spent == result.spent
        faults = run.settings["provider_faults"]["stub"]
        assert faults["samples"] == result.samples > 0 and faults["notes"]
