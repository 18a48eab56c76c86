"""The user's own tasks (JSONL), the registry and the tier views."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.errors import DataError, UnknownNameError
from budget.tasks import Problem, Task, VerifierSpec, known_tasks, load_task


def _write(tmp_path: Path, rows: list[object], name: str = "mine.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_header_defaults_and_per_problem_overrides(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {"task": {"name": "arith", "verifier": {"name": "exact_answer", "settings": {"timeout_s": 2}}}},
            {"id": "p1", "prompt": "6*7?", "answer": "42", "metadata": {"level": 1}},
            {
                "id": "p2",
                "prompt": "def f(x):\n",
                "entry_point": "f",
                "verifier": {"name": "python_tests"},
                "ground_truth": {"name": "pytest_file"},
                "tests": "weak",
                "hidden_tests": "strong",
            },
        ],
    )
    task = load_task(path)
    assert task.name == "arith" and task.problem_ids() == ["p1", "p2"]
    spec, view = task.check_for(task.problem("p1"), "ground_truth")
    assert spec == VerifierSpec(name="exact_answer", settings={"timeout_s": 2})  # falls back to verifier
    assert view.answer == "42"
    spec, view = task.check_for(task.problem("p2"), "verifier")
    assert spec.name == "python_tests" and view.tests == "weak"
    spec, view = task.check_for(task.problem("p2"), "ground_truth")
    assert spec.name == "pytest_file" and view.tests == "strong"
    assert task.problem("p1").metadata == {"level": 1}


def test_name_defaults_to_the_file_stem_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "gsm-mini.jsonl"
    row = {"id": "a", "prompt": "1+1", "answer": "#### 2", "verifier": {"name": "exact_answer"}}
    path.write_text("\n" + json.dumps(row) + "\n\n", encoding="utf-8")
    assert load_task(str(path)).name == "gsm-mini"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id": "a", "prompt": "x", "verifier": {"name": "command"}}\n{oops\n', "line 2: not JSON"),
        (b'{"id": "a", "prompt": "x", "verfier": {"name": "command"}}\n', "line 1: verfier"),
        (b'{"id": "a", "prompt": "x"}\n', "names no verifier"),
        (b'{"prompt": "x", "verifier": {"name": "command"}}\n', "line 1: id"),
        (b"[1, 2]\n", "line 1: expected a JSON object"),
        (b"\n\n", "no problems"),
        (b'{"id": "caf\xe9", "prompt": "x"}\n', "not UTF-8"),
        (
            b'{"id": "a", "prompt": "x", "verifier": {"name": "command"}}\n'
            b'{"id": "a", "prompt": "y", "verifier": {"name": "command"}}\n',
            "duplicate problem id",
        ),
        (
            b'{"id": "a", "prompt": "x", "verifier": {"name": "command"}}\n{"task": {"name": "late"}}\n',
            "header must be the first line",
        ),
    ],
)
def test_malformed_task_files_are_one_line_data_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_task(path)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_unknown_names() -> None:
    with pytest.raises(UnknownNameError, match="humaneval"):
        load_task("humaneva")
    task = load_task("humaneval")
    with pytest.raises(UnknownNameError, match="did you mean"):
        task.problem("HumanEval/1000")
    assert [t.name for t in known_tasks()] == ["humaneval"]
    assert known_tasks()[0].problems == len(task.problems)


@given(
    tests=st.one_of(st.none(), st.text(max_size=20)),
    hidden=st.one_of(st.none(), st.text(max_size=20)),
    answer=st.one_of(st.none(), st.text(max_size=20)),
    hidden_answer=st.one_of(st.none(), st.text(max_size=20)),
)
def test_tier_views(
    tests: str | None, hidden: str | None, answer: str | None, hidden_answer: str | None
) -> None:
    p = Problem(
        id="p", prompt="", tests=tests, hidden_tests=hidden, answer=answer, hidden_answer=hidden_answer
    )
    task = Task(name="t", verifier=VerifierSpec(name="exact_answer"), problems=[p])
    _, v = task.check_for(p, "verifier")
    _, g = task.check_for(p, "ground_truth")
    assert v == p
    assert g.tests == (hidden if hidden is not None else tests)
    assert g.answer == (hidden_answer if hidden_answer is not None else answer)
    assert g.id == p.id and g.prompt == p.prompt
