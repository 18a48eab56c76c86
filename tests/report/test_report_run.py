"""``budget report RUN_ID`` on any run (review defect of issue 13): a run whose models are not
in the catalog (a real run on the stub server) and an imported run (``budget import --format
counts``) report from the run's own records: its prices, its predictions, its check.  The
catalog's models appear only for comparison, and only where the task is in the catalog."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console
from tests.fakes.stub_server import FaultMix, StubServer

from budget.service.reporting import ReportRequest, make_report


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer(faults=FaultMix(), seed=5)
    server.start_in_thread()
    yield server
    server.stop()


def _sandbox_or_skip() -> None:
    from budget.errors import BudgetError
    from budget.service.verification import verify_one

    try:
        verify_one("humaneval", "HumanEval/0", "    return False\n")
    except BudgetError as exc:
        pytest.skip(f"verification unavailable here: {exc}")


def _rendered(report: object) -> str:
    from budget.report.brief import render_report

    console = Console(width=80, record=True, force_terminal=False)
    render_report(report, console)  # type: ignore[arg-type]
    return console.export_text()


def test_report_on_a_stub_run_whose_model_is_not_in_the_catalog(stub: StubServer, tmp_path: Path) -> None:
    _sandbox_or_skip()
    from budget.service.running import RunRequest, execute_run

    db = f"sqlite:///{tmp_path / 'runs.db'}"
    run = execute_run(
        RunRequest.model_validate(
            {
                "task": "humaneval",
                "models": ["stub-model-x"],
                "dollars": Decimal("1"),
                "api_base": stub.url,
                "prices": ["stub-model-x=3,15"],
                "db": db,
                "timeout_s": 5.0,
                "backoff_base_s": 0.01,
                "problems": 6,
                "samples": 2,
            }
        )
    )
    report = make_report(ReportRequest(run_id=run.run_id, db=db))
    assert report.run is not None and report.run.models == ["stub-model-x"]
    assert report.run.spent == run.spent  # the run's own bill, not a re-plan
    [own] = [p for p in report.prices if p.model == "stub-model-x"]
    assert own.cost_per_sample is not None and own.cost_per_sample > 0  # from the run's price record
    assert "3" in own.formula and own.sources
    # humaneval is in the catalog: its models are there for comparison
    assert report.plan is not None and len(report.plan.alternatives) > 1
    text = _rendered(report)
    assert "stub-model-x" in text and run.run_id in text
    assert report.check is not None or "not checked" in report.check_note

    out = tmp_path / "reports"
    from budget.report.export import write_html

    page = write_html(report, out)
    html = page.read_text(encoding="utf-8")
    assert "stub-model-x" in html
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if Path(chromium).exists():
        shot = tmp_path / "shot.png"
        done = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                f"--screenshot={shot}",
                "--window-size=1200,1600",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-500:]


def test_report_on_an_imported_run_outside_the_catalog(tmp_path: Path) -> None:
    from budget.service.importing import ImportRequest, import_file

    csv = tmp_path / "counts.csv"
    rows = ["model,problem_id,num_samples,num_correct"]
    rows += [f"my-local-model,p{i},10,{i % 4}" for i in range(30)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    db = str(tmp_path / "s.db")
    imported = import_file(ImportRequest(file=csv, format="counts", task="my-own-task", db=db))
    report = make_report(ReportRequest(run_id=imported.run_id, db=db))
    assert report.run is not None and report.run.task == "my-own-task"
    assert report.run.spent is None  # no cost was imported: unknown, not $0
    [price] = report.prices
    assert price.model == "my-local-model" and price.cost_per_sample is None
    assert "unknown" in price.formula
    text = _rendered(report)
    assert "my-local-model" in text and "unknown" in text
    assert "$0 " not in text


def test_report_on_an_imported_run_of_a_catalog_task_compares_with_the_catalog(tmp_path: Path) -> None:
    from budget.service.importing import ImportRequest, import_file

    csv = tmp_path / "counts.csv"
    rows = ["model,problem_id,num_samples,num_correct"]
    rows += [f"qwen2.5-coder-0.5b,HumanEval/{i},5,{i % 3}" for i in range(20)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    db = str(tmp_path / "s.db")
    imported = import_file(ImportRequest(file=csv, format="counts", task="humaneval", db=db))
    report = make_report(ReportRequest(run_id=imported.run_id, db=db))
    assert report.run is not None and report.run.models == ["qwen2.5-coder-0.5b-instruct"]
    # no cap and no cost: no budget to compare at, and the report says how to get one
    assert report.plan is None and "--task humaneval --dollars" in report.plan_note
    [price] = report.prices
    assert price.cost_per_sample is None
    assert [c.model for c in report.curves] == []  # nothing fitted yet
    text = _rendered(report)
    assert "qwen2.5-coder-0.5b-instruct" in text and "--dollars" in text


def test_report_on_an_imported_run_after_fit_shows_its_curve_and_observed_points(tmp_path: Path) -> None:
    from budget.service.calibration import fit_from_store
    from budget.service.importing import ImportRequest, import_file
    from budget.store import Store

    csv = tmp_path / "counts.csv"
    rows = ["model,problem_id,num_samples,num_correct"]
    rows += [f"my-local-model,p{i},16,{i % 5}" for i in range(40)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    db = str(tmp_path / "s.db")
    imported = import_file(ImportRequest(file=csv, format="counts", task="my-own-task", db=db))
    with Store(db) as s:
        [fit] = fit_from_store(s, "my-own-task", ["my-local-model"])
    assert fit.status == "fitted" and fit.cost_per_sample is None
    report = make_report(ReportRequest(run_id=imported.run_id, db=db))
    [curve] = report.curves
    assert curve.model == "my-local-model" and curve.fitted
    assert [p.k for p in curve.observed] == [1, 2, 4, 8, 16]  # the run's own pass@k
    # its cost is unknown: no plan that treats it as free
    assert report.plan is None
    text = _rendered(report)
    assert "unknown" in text and "$0 " not in text


def test_report_on_a_local_run_priced_by_its_machine(tmp_path: Path) -> None:
    """The README demo's shape: qwen2.5-coder-0.5b on cpu-2core, billed by machine time."""
    from budget.pricing import default_price_book
    from budget.store import ProblemRecord, SampleRecord, Store
    from budget.store.records import PriceSnapshot
    from budget.verify.protocol import Outcome, Verdict

    ok = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.0)
    bad = Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0.0)
    model = "qwen2.5-coder-0.5b-instruct"
    db = str(tmp_path / "s.db")
    with Store(db) as s:
        s.add_task("humaneval", [ProblemRecord(problem_id=f"HumanEval/{i}") for i in range(10)])
        run = s.create_run("humaneval", models=[model], cap=Decimal("0.05"))
        s.record_prices(
            run.run_id, [PriceSnapshot.for_machine(model, default_price_book().machine("cpu-2core"))]
        )
        s.add_samples(
            SampleRecord(
                run_id=run.run_id,
                model=model,
                problem_id=f"HumanEval/{i}",
                sample_index=j,
                cost=Decimal("0.000125"),
                output_tokens=150,
                verdicts={"verifier": ok if (i + j) % 3 == 0 else bad},
            )
            for i in range(10)
            for j in range(4)
        )
    report = make_report(ReportRequest(run_id=run.run_id, db=db))
    [own] = [p for p in report.prices if p.model == model]
    assert own.cost_per_sample == Decimal("0.000125")  # the run's bill over its 40 samples
    assert "cpu-2core" in own.formula and any("2024-09" in s for s in own.sources)
    assert report.plan is not None and report.plan.inputs.dollars == Decimal("0.05")
    assert model in _rendered(report)
