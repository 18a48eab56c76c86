"""`budget verify` and `budget tasks`: JSON contract, order, bad input as one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from budget.verify.sandbox import probe


def budget(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"
    env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "VIRTUAL_ENV")}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "100", "PATH": "/usr/bin:/bin", **env},
    )


CLOSE_BODY = (
    "    return any(abs(a - b) < threshold\n"
    "               for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
)


def _math_task(tmp_path: Path) -> Path:
    path = tmp_path / "arith.jsonl"
    rows = [
        {"task": {"name": "arith", "verifier": {"name": "exact_answer"}}},
        {"id": "p1", "prompt": "6*7?", "answer": "42"},
        {"id": "p2", "prompt": "1/2?", "answer": r"\frac{1}{2}", "hidden_answer": "0.25"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _samples(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "samples.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _row(task_id: str, completion: str, model: str = "m") -> bytes:
    return json.dumps({"task_id": task_id, "completion": completion, "model": model}).encode()


def test_tasks_lists_humaneval_and_the_plugins() -> None:
    out = budget("tasks", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1
    (he,) = [t for t in doc["tasks"] if t["name"] == "humaneval"]
    assert he["problems"] == 164
    assert {"exact_answer", "command", "pytest_file", "python_tests"} <= set(doc["verifiers"])
    text = budget("tasks")
    assert text.returncode == 0 and "humaneval" in text.stdout


def test_json_verdicts_in_input_order_with_bad_rows(tmp_path: Path) -> None:
    samples = _samples(
        tmp_path,
        [
            _row("p1", "#### 42", "a"),
            b'{"task_id": "p1", "completion": "#### 4',  # cut off
            _row("p2", r"\boxed{0.5}", "b"),
            _row("p9", "#### 1", "a"),
            b'{"task_id": "p2", "completion": "\xff\xfe"}',
            _row("p2", "", "b"),
            b'{"completion": "#### 42"}',
            _row("p1", "#### 41", "a"),
        ],
    )
    out = budget("verify", "--task", str(_math_task(tmp_path)), "--samples", str(samples), "--json")
    assert out.returncode == 3
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("budget: error: 4 of 8 rows")
    assert "Traceback" not in out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1 and doc["task"] == "arith"
    verdicts = doc["verdicts"]
    assert [v["outcome"] for v in verdicts] == [
        "pass",
        "error",
        "pass",
        "error",
        "error",
        "fail",
        "error",
        "fail",
    ]
    for v in verdicts:
        assert {"task_id", "model", "passed", "outcome", "duration_s", "detail"} <= set(v)
    assert [v["task_id"] for v in verdicts] == ["p1", None, "p2", "p9", None, "p2", None, "p1"]
    assert "not JSON" in verdicts[1]["detail"] and "not UTF-8" in verdicts[4]["detail"]
    assert "task_id" in verdicts[6]["detail"]
    models = {m["model"]: m for m in doc["summary"]["models"]}
    assert models["a"]["pass_at_k"]["1"] == pytest.approx(0.5)
    assert models["b"]["pass_at_k"]["1"] == pytest.approx(0.5)
    assert doc["summary"]["bad_rows"] == 4  # three unreadable rows and one unknown task id


def test_both_tiers_report_accepted_but_wrong(tmp_path: Path) -> None:
    samples = _samples(
        tmp_path, [_row("p2", r"\boxed{0.5}"), _row("p2", r"\boxed{1/4}"), _row("p1", "#### 42")]
    )
    task = str(_math_task(tmp_path))
    out = budget("verify", "--task", task, "--samples", str(samples), "--tier", "both", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    first = doc["verdicts"][0]
    assert first["passed"] is True and first["ground_truth"]["passed"] is False
    (m,) = doc["summary"]["models"]
    assert m["accepted_but_wrong"] == 1 and m["false_positive_rate"] == pytest.approx(0.5)
    table = budget("verify", "--task", task, "--samples", str(samples), "--tier", "both")
    assert table.returncode == 0 and "pass@1" in table.stdout and "1/2" in table.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--task", "humaneva"], 2, "unknown task 'humaneva'"),
        (["--samples", "/nonexistent/samples.jsonl"], 3, "cannot read samples file"),
        (["--timeout", "0"], 2, "timeout"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    base = {"--task": str(_math_task(tmp_path)), "--samples": str(_samples(tmp_path, [_row("p1", "42")]))}
    merged = dict(base)
    for flag, value in zip(args[::2], args[1::2], strict=True):
        merged[flag] = value
    out = budget("verify", *[x for kv in merged.items() for x in kv])
    assert out.returncode == code, out.stderr
    assert message in out.stderr and out.stderr.count("\n") == 1


def test_an_empty_samples_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    out = budget("verify", "--task", str(_math_task(tmp_path)), "--samples", str(empty))
    assert out.returncode == 3 and "no rows" in out.stderr


@pytest.mark.skipif(not probe().available, reason="bubblewrap sandbox unavailable")
def test_humaneval_in_the_sandbox(tmp_path: Path) -> None:
    chat = "Sure:\n```python\ndef has_close_elements(numbers, threshold):\n    return True\n```\nDone."
    rows = [
        _row("HumanEval/0", CLOSE_BODY),
        _row("HumanEval/0", "    return False\n"),
        _row("HumanEval/999", "    return 1\n"),
        json.dumps({"task_id": "HumanEval/0", "completion": chat, "model": "m", "mode": "chat"}).encode(),
    ]
    samples = str(_samples(tmp_path, rows))
    out = budget("verify", "--task", "humaneval", "--samples", samples, "--json")
    assert out.returncode == 3
    doc = json.loads(out.stdout)
    assert doc["sandbox"] is True
    assert [v["outcome"] for v in doc["verdicts"]] == ["pass", "fail", "error", "fail"]
    # the same reply read as a completion is not even valid code; as chat, its code is extracted
    assert {(m["mode"], m["samples"]) for m in doc["summary"]["models"]} == {("completion", 2), ("chat", 1)}
    chat_only = str(_samples(tmp_path, [_row("HumanEval/0", chat.replace("return True", "return False"))]))
    as_chat = budget("verify", "--task", "humaneval", "--samples", chat_only, "--mode", "chat", "--json")
    as_text = budget("verify", "--task", "humaneval", "--samples", chat_only, "--json")
    assert (
        json.loads(as_chat.stdout)["verdicts"][0]["detail"]
        != json.loads(as_text.stdout)["verdicts"][0]["detail"]
    )


def test_verify_does_not_import_heavy_clients() -> None:
    code = (
        "import sys; import budget.cli.verify, budget.service.verification, budget.report.verify; "
        "heavy = ('litellm', 'httpx', 'sqlalchemy', 'math_verify', 'sympy'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
