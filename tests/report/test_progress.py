"""Non-TTY progress (issue 13, item 5): in CI logs a run prints a plain line every few seconds
and one at the end; on a terminal it draws a bar and prints no log lines.  Time is driven by
an injected clock: nothing here waits."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from budget.executor.runner import Progress
from budget.report.progress import StepProgress, step_line
from budget.report.run import RunProgress
from budget.service.progress import Step


def _p(samples: int) -> Progress:
    return Progress(
        cap_micro=10_000_000, spent_micro=samples * 1000, samples=samples, planned=100, solved=samples // 3,
        problems=50, started=0.0, in_flight=1,
    )  # fmt: skip


def test_a_line_every_interval_in_logs_and_one_at_the_end() -> None:
    out = io.StringIO()
    now = [0.0]
    progress = RunProgress(Console(file=out, force_terminal=False), log_interval_s=5.0, clock=lambda: now[0])
    with progress:
        for i in range(1, 41):  # 40 updates, half a second apart: 20 seconds
            now[0] = i * 0.5
            progress(_p(i))
    lines = out.getvalue().splitlines()
    assert all(line.startswith("run: $") for line in lines)
    # every 5 s from the first update (0.5 s): at 5.5, 10.5, 15.5; then the last (20 s) at the end
    assert len(lines) == 4, lines
    assert "40/100 samples" in lines[-1]


def test_a_short_run_prints_no_progress_lines() -> None:
    out = io.StringIO()
    now = [0.0]
    progress = RunProgress(Console(file=out, force_terminal=False), log_interval_s=5.0, clock=lambda: now[0])
    with progress:
        for i in range(1, 9):  # 4 seconds
            now[0] = i * 0.5
            progress(_p(i))
    assert out.getvalue() == ""


def test_no_log_lines_on_a_terminal() -> None:
    out = io.StringIO()
    progress = RunProgress(Console(file=out, force_terminal=True, width=80), clock=lambda: 1.0)
    with progress:
        progress(_p(3))
    assert "run: $" not in out.getvalue()


# ------------------------------------------------------------------ counted work: verify, fit, import
# The same mechanism (budget.report.progress.LiveProgress) shows the services' counted Steps.


def test_counted_work_logs_a_line_every_interval_and_one_at_the_end() -> None:
    out = io.StringIO()
    now = [100.0]
    progress = StepProgress("verify", Console(file=out, force_terminal=False), clock=lambda: now[0])
    with progress:  # the rate counts from here (100 s)
        for i in range(0, 401):  # 400 samples, 20 a second: 20 seconds
            now[0] = 100.0 + i / 20
            progress(Step(i, 400, "samples", "verifier"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 4, lines  # at 5, 10, 15 and 20 s; the last was just printed: not twice
    assert lines[0] == "verify: 100/400 samples · 20.0/s · ETA 15s · verifier"
    assert lines[-1] == "verify: 400/400 samples · 20.0/s · done · verifier"
    assert all(len(line) <= 80 for line in lines)


def test_counted_work_on_a_terminal_draws_a_bar_and_no_log_lines() -> None:
    out = io.StringIO()
    progress = StepProgress("fit", Console(file=out, force_terminal=True, width=80), clock=lambda: 1.0)
    with progress:
        progress(Step(1, 4, "models", "pythia-1b"))
    assert "fit: " not in out.getvalue()


def test_a_name_from_data_is_escaped_and_left_out_rather_than_cut() -> None:
    assert step_line(Step(1, 2, "models", "m\x1b[2J"), 1.0).endswith("· m\\x1b[2J")
    long = "x" * 80
    assert long[:10] not in step_line(Step(1, 2, "models", long), 1.0)


def test_markup_in_a_name_is_not_interpreted_on_the_bar() -> None:
    out = io.StringIO()
    progress = StepProgress("fit", Console(file=out, force_terminal=True, width=100), clock=lambda: 1.0)
    with progress:
        progress(Step(2, 2, "models", "[red]m[/red]"))
    assert "[red]m[/red]" in out.getvalue()


def _math_task(tmp_path: Path) -> Path:
    path = tmp_path / "arith.jsonl"
    rows = [
        {"task": {"name": "arith", "verifier": {"name": "exact_answer"}}},
        {"id": "p1", "prompt": "6*7?", "answer": "42", "hidden_answer": "42"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _samples(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "samples.jsonl"
    rows = [json.dumps({"task_id": "p1", "completion": f"#### {40 + i % 3}", "model": "m"}) for i in range(n)]
    path.write_text("\n".join([*rows, "not json"]) + "\n")
    return path


def test_verify_reports_every_check_of_both_tiers(tmp_path: Path) -> None:
    from budget.service.verification import VerifyRequest, verify_samples

    steps: list[Step] = []
    task = str(_math_task(tmp_path))
    request = VerifyRequest(task=task, samples=_samples(tmp_path, 30), tier="both", workers=4)
    verify_samples(request, progress=steps.append)
    done = [s.done for s in steps]
    assert {s.total for s in steps} == {60}  # 30 readable rows, two tiers; the bad row is no check
    assert done == sorted(done) and done[-1] == 60
    assert [s.done for s in steps if s.detail == "ground_truth"] == list(range(30, 61))
    assert {s.unit for s in steps} == {"samples"}


def test_fit_reports_each_model(tmp_path: Path) -> None:
    from budget.service.fitting import FitRequest, fit_file

    counts = tmp_path / "counts.csv"
    lines = ["model,problem_id,num_samples,num_correct"]
    rng = np.random.default_rng(1)
    for model in ("a", "b", "never"):
        for p in range(30):
            lines.append(f"{model},{p},50,{0 if model == 'never' else rng.binomial(50, rng.beta(0.5, 3))}")
    counts.write_text("\n".join(lines) + "\n")
    steps: list[Step] = []
    fit_file(FitRequest(counts=counts), progress=steps.append)
    assert [(s.done, s.total, s.detail) for s in steps] == [
        (0, 3, "a"), (1, 3, "b"), (2, 3, "never"), (3, 3, "")
    ]  # fmt: skip


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``budget ARGS`` in this process with a log line at every update (interval 0: no clock at all)."""
    import budget.report.progress as progress_module
    from budget.cli import main

    monkeypatch.setattr(progress_module, "LOG_INTERVAL_S", 0.0)
    monkeypatch.setattr(sys, "argv", ["budget", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code in (0, None)
    return capsys.readouterr().err


def test_budget_verify_logs_progress_on_stderr_when_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = _samples(tmp_path, 5)
    samples.write_text("\n".join(samples.read_text().splitlines()[:-1]) + "\n")  # no bad row: exit 0
    task = str(_math_task(tmp_path))
    err = _cli(monkeypatch, capsys, "verify", "--task", task, "--samples", str(samples), "--json")
    lines = err.splitlines()
    assert lines and all(line.startswith("verify: ") for line in lines), err
    assert lines[-1].startswith("verify: 5/5 samples")


def test_budget_fit_logs_progress_on_stderr_when_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = tmp_path / "counts.csv"
    rows = "".join(f"m{j},{p},20,{(p * j) % 7}\n" for j in (1, 2) for p in range(20))
    counts.write_text("model,problem_id,num_samples,num_correct\n" + rows)
    err = _cli(monkeypatch, capsys, "fit", str(counts))
    lines = err.splitlines()
    assert [line.split(" · ")[0] for line in lines] == ["fit: 1/2 models", "fit: 2/2 models"], err
    assert lines[0].endswith(" · m2")  # the model being fitted


def _counts_file(tmp_path: Path, models: tuple[str, ...] = ("a", "b"), problems: int = 30) -> Path:
    counts = tmp_path / "counts.csv"
    rng = np.random.default_rng(2)
    lines = ["model,problem_id,num_samples,num_correct"]
    for model in models:
        lines += [f"{model},{p},40,{rng.binomial(40, rng.beta(0.5, 3))}" for p in range(problems)]
    counts.write_text("\n".join(lines) + "\n")
    return counts


def test_import_reports_the_samples_it_stores(tmp_path: Path) -> None:
    from budget.service.importing import ImportRequest, import_file

    steps: list[Step] = []
    request = ImportRequest(file=_counts_file(tmp_path), format="counts", db=str(tmp_path / "s.db"))
    import_file(request, progress=steps.append)
    assert {(s.total, s.unit, s.detail) for s in steps} == {(2 * 30 * 40, "samples", "counts.csv")}
    done = [s.done for s in steps]
    assert done[0] == 0 and done[-1] == 2400 and done == sorted(done) and len(done) > 2


def test_fit_from_the_store_reports_each_model(tmp_path: Path) -> None:
    from budget.service.calibration import fit_store
    from budget.service.importing import ImportRequest, import_file

    db = str(tmp_path / "s.db")
    import_file(ImportRequest(file=_counts_file(tmp_path), format="counts", task="t", db=db))
    steps: list[Step] = []
    fit_store(db, "t", progress=steps.append)
    assert [(s.done, s.total, s.detail) for s in steps] == [(0, 2, "a"), (1, 2, "b"), (2, 2, "")]


def test_budget_import_logs_progress_on_stderr_when_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = _counts_file(tmp_path)
    db = str(tmp_path / "s.db")
    err = _cli(monkeypatch, capsys, "import", str(counts), "--format", "counts", "--db", db)
    lines = err.splitlines()
    assert lines and all(line.startswith("import: ") for line in lines), err
    assert lines[-1].startswith("import: 2,400/2,400 samples") and lines[-1].endswith(" · counts.csv")
