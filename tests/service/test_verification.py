"""verify_one / verify_batch / verify_samples: tiers, order, bad rows, and no crash mid-batch."""

from __future__ import annotations

import json
from math import comb
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.errors import DataError, InputError, SandboxError, UnknownNameError
from budget.service import verification
from budget.service.verification import (
    SampleRow,
    VerifyRequest,
    read_samples,
    verify_batch,
    verify_one,
    verify_samples,
)
from budget.tasks import Problem, Task, VerifierSpec, load_task
from budget.verify.protocol import Outcome, Verdict


def _sandbox_works() -> bool:
    from budget.verify.sandbox import probe

    return probe().available


needs_sandbox = pytest.mark.skipif(not _sandbox_works(), reason="bubblewrap sandbox unavailable")


def _math_task() -> Task:
    problems = [
        Problem(id="a", prompt="6*7?", answer="42"),
        Problem(id="b", prompt="half?", answer=r"\frac{1}{2}", hidden_answer="0.5"),
        Problem(id="c", prompt="GSM", answer="#### 1,000"),
    ]
    return Task(name="math-mini", verifier=VerifierSpec(name="exact_answer"), problems=problems)


def test_batch_keeps_order_and_turns_bad_rows_into_error_verdicts() -> None:
    task = _math_task()
    rows: list[SampleRow | tuple[str, str]] = [
        ("a", "so #### 42"),
        ("nope", "#### 42"),
        ("c", "The answer is 1000."),
        ("a", ""),
        SampleRow(task_id="b", completion=r"$\boxed{0.5}$", model="m"),
        ("a", "#### 41"),
    ]
    verdicts = verify_batch(task, rows, workers=3)
    assert [v.outcome for v in verdicts] == [
        Outcome.PASS,
        Outcome.ERROR,
        Outcome.PASS,
        Outcome.FAIL,
        Outcome.PASS,
        Outcome.FAIL,
    ]
    assert "unknown task id 'nope'" in verdicts[1].detail
    assert verify_batch(task, []) == []


def test_a_verifier_that_raises_costs_only_its_own_row(monkeypatch: pytest.MonkeyPatch) -> None:
    class Flaky:
        name = "exact_answer"

        def verify(self, problem: Any, completion: str, settings: dict[str, Any]) -> Verdict:
            if completion == "boom":
                raise RuntimeError("verifier bug")
            if completion == "encode":
                "\udcff".encode("utf-8")  # raises UnicodeEncodeError, as writing it to a file would
            seen.append(completion)
            return Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.0)

    seen: list[str] = []
    monkeypatch.setattr(verification, "_plugin", lambda name: Flaky())
    rows = [("a", "ok"), ("a", "boom"), ("b", "encode"), ("c", "ok"), ("c", "x\udcff")]
    verdicts = verify_batch(_math_task(), rows)
    assert [v.outcome for v in verdicts] == [
        Outcome.PASS,
        Outcome.ERROR,
        Outcome.ERROR,
        Outcome.PASS,
        Outcome.PASS,
    ]
    assert "RuntimeError: verifier bug" in verdicts[1].detail
    assert "UnicodeEncodeError" in verdicts[2].detail
    # a lone surrogate is no character: the verifier sees U+FFFD, as a UTF-8 decoder would give
    assert "x\ufffd" in seen and not any("\udcff" in c for c in seen)


def test_no_sandbox_is_refused_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import budget.verify.sandbox as sandbox

    def refuse() -> None:
        raise SandboxError("refusing to run generated code without a sandbox: test")

    monkeypatch.setattr(sandbox, "require_sandbox", refuse)
    with pytest.raises(SandboxError):
        verify_batch("humaneval", [("HumanEval/0", "    return True\n")])
    # exact answers are parsed, never executed: no sandbox needed
    assert verify_batch(_math_task(), [("a", "#### 42")])[0].passed


def test_verify_one_errors_are_one_line() -> None:
    with pytest.raises(UnknownNameError, match="HumanEval/999"):
        verify_one("humaneval", "HumanEval/999", "x")
    with pytest.raises(UnknownNameError, match="unknown task"):
        verify_one("no-such-task", "x", "y")
    with pytest.raises(InputError, match="tier"):
        verify_one(_math_task(), "a", "42", tier="gold")  # type: ignore[arg-type]
    v = verify_one(_math_task(), "a", "#### 42", timeout_s=-1)
    assert v.outcome is Outcome.ERROR and "timeout must be > 0" in v.detail


def test_tiers_use_the_hidden_answer() -> None:
    task = _math_task()
    assert verify_one(task, "b", r"\boxed{\frac12}").passed
    assert verify_one(task, "b", r"\boxed{0.5}", tier="ground_truth").passed
    assert not verify_one(task, "b", r"\boxed{0.25}", tier="ground_truth").passed


@needs_sandbox
def test_humaneval_canonical_solutions_pass_both_tiers_in_the_sandbox() -> None:
    task = load_task("humaneval")
    rows = [(p.id, p.canonical_solution or "") for p in task.problems]
    truth = verify_batch(task, rows, tier="ground_truth")
    assert [v.outcome for v in truth] == [Outcome.PASS] * len(rows), [
        (p.id, v.detail) for p, v in zip(task.problems, truth, strict=True) if not v.passed
    ]
    visible = verify_batch(task, rows, tier="verifier")
    rejected = {p.id for p, v in zip(task.problems, visible, strict=True) if not v.passed}
    assert rejected == {"HumanEval/47", "HumanEval/116"}  # their docstrings contradict their tests


@needs_sandbox
def test_humaneval_wrong_empty_and_odd_completions() -> None:
    task = load_task("humaneval")
    rows: list[SampleRow | tuple[str, str]] = [
        ("HumanEval/2", "    return number % 1.0\n"),
        ("HumanEval/2", "    return 0.5\n"),  # passes the one docstring example, not the full test
        ("HumanEval/2", ""),
        ("HumanEval/2", "    return number \udcff\n"),
        ("HumanEval/9999", "    return 1\n"),
        SampleRow(
            task_id="HumanEval/2",
            completion=(
                "Here:\n```python\ndef truncate_number(number: float) -> float:\n    return number % 1\n```"
            ),
            mode="chat",
        ),
    ]
    visible = verify_batch(task, rows, tier="verifier")
    hidden = verify_batch(task, rows, tier="ground_truth")
    assert [v.passed for v in visible] == [True, True, False, False, False, True]
    assert [v.passed for v in hidden] == [True, False, False, False, False, True]
    assert visible[4].outcome is Outcome.ERROR


def _write(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "samples.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_read_samples_records_each_bad_row(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            b'{"task_id": "a", "completion": "#### 42", "model": "m"}',
            b"{not json",
            b'{"task_id": "a"}',
            b'{"task_id": "a", "completion": "caf\xe9"}',
            b"",
            b"[1]",
            b'{"task_id": "a", "completion": "x", "model": null, "extra": 1}',
        ],
    )
    samples = read_samples(path)
    assert samples.lines == [1, 2, 3, 4, 6, 7]
    assert [r is not None for r in samples.rows] == [True, False, False, False, False, True]
    messages = {e.line: e.message for e in samples.errors}
    assert messages[2].startswith("not JSON")
    assert messages[3] == "completion: Field required"
    assert messages[4].startswith("not UTF-8")
    assert "JSON object" in messages[6]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n \n")
    with pytest.raises(DataError, match="no rows"):
        read_samples(empty)
    with pytest.raises(DataError, match="cannot read"):
        read_samples(tmp_path / "absent.jsonl")


def _reference_pass_at_k(n: int, c: int, k: int) -> float:
    return 1.0 - comb(n - c, k) / comb(n, k) if n - c >= k else 1.0


def test_verify_samples_summary_pass_at_k_and_bad_rows(tmp_path: Path) -> None:
    task_file = tmp_path / "math.jsonl"
    task_file.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"task": {"name": "math", "verifier": {"name": "exact_answer"}}},
                {"id": "p", "prompt": "?", "answer": "3", "hidden_answer": "4"},
                {"id": "q", "prompt": "?", "answer": "5"},
            ]
        )
    )
    answers = {"p": ["3", "3", "4", "1"], "q": ["5", "0", "0", "0"]}
    lines = [
        json.dumps({"task_id": pid, "completion": f"#### {a}", "model": "m"}).encode()
        for pid, values in answers.items()
        for a in values
    ]
    lines.insert(3, b"garbage")
    lines.append(json.dumps({"task_id": "zz", "completion": "#### 1", "model": "m"}).encode())
    report = verify_samples(VerifyRequest(task=str(task_file), samples=_write(tmp_path, lines), tier="both"))
    assert len(report.verdicts) == 10 and [v.line for v in report.verdicts] == list(range(1, 11))
    assert report.verdicts[3].outcome is Outcome.ERROR and report.verdicts[3].task_id is None
    assert report.verdicts[9].outcome is Outcome.ERROR and "unknown task id" in report.verdicts[9].detail
    assert [e.line for e in report.summary.errors] == [4, 10]
    (m,) = report.summary.models
    assert (m.samples, m.problems, m.passed, m.solved) == (8, 2, 3, 2)
    for k in (1, 4):
        expected = (_reference_pass_at_k(4, 2, k) + _reference_pass_at_k(4, 1, k)) / 2
        assert m.pass_at_k[k] == pytest.approx(expected)
    # ground truth: p's hidden answer is 4 (one sample), q unchanged (one sample)
    assert m.ground_truth_passed == 2
    assert m.accepted_but_wrong == 2 and m.false_positive_rate == pytest.approx(2 / 3)


def test_unsafe_flag_runs_where_no_sandbox_works(monkeypatch: pytest.MonkeyPatch) -> None:
    import budget.verify.sandbox as sandbox

    broken = sandbox.SandboxStatus(available=False, reason="bubblewrap (bwrap) is not installed")
    monkeypatch.setattr(sandbox, "probe", lambda: broken)
    task = load_task("humaneval")
    p = task.problem("HumanEval/2")
    rows = [(p.id, p.canonical_solution or ""), (p.id, "    return 0.0\n")]
    with pytest.raises(SandboxError, match="--unsafe-no-sandbox"):
        verify_batch(task, rows)
    # canonical solutions are trusted code: run them unisolated, as the flag asks
    verdicts = verify_batch(task, rows, tier="ground_truth", unsafe_no_sandbox=True)
    assert [v.passed for v in verdicts] == [True, False]


@given(
    lines=st.lists(
        st.one_of(
            st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
            st.builds(
                lambda t, c: json.dumps({"task_id": t, "completion": c}).encode(),
                st.text(max_size=8),
                st.text(max_size=20),
            ),
        ),
        min_size=1,
        max_size=12,
    )
)
@settings(max_examples=200, deadline=None)
def test_read_samples_never_loses_a_line(lines: list[bytes]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.jsonl"
        path.write_bytes(b"\n".join(lines))
        expected = [i for i, line in enumerate(lines, start=1) if line.strip()]
        if not expected:
            with pytest.raises(DataError):
                read_samples(path)
            return
        samples = read_samples(path)
    assert samples.lines == expected
    bad = {e.line for e in samples.errors}
    assert bad == {line for line, row in zip(samples.lines, samples.rows, strict=True) if row is None}
    assert all("\n" not in e.message for e in samples.errors)
