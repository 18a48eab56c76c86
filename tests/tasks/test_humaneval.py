"""Built-in HumanEval: the data, the two tiers, chat-reply extraction."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from budget.tasks import load_task
from budget.tasks.humaneval import (
    completion_from_reply,
    examples_as_tests,
    extract_code,
    first_asserts,
    load_humaneval,
)

#: HumanEval/47 ``median``: its docstring says median([-10, 4, 6, 1000, 10, 20]) is 15.0, the
#: correct value (and the canonical solution's) is 8.0; HumanEval/116: its first example sorts by
#: value, its tests by the number of one bits (known errata of the data set).
WRONG_DOCSTRING = {"HumanEval/47", "HumanEval/116"}


def _run(program: str) -> None:
    """Run trusted code (canonical solutions, our own generated tests) in a fresh namespace."""
    namespace: dict[str, Any] = {"__name__": "__budget_test__"}
    exec(compile(program, "<humaneval>", "exec"), namespace)


def _passes(prompt: str, completion: str, tests: str, entry_point: str) -> bool:
    try:
        _run(prompt + completion + "\n" + tests + f"\ncheck({entry_point})\n")
    except Exception:
        return False
    return True


def test_all_164_problems_with_both_tiers() -> None:
    task = load_task("humaneval")
    assert task is load_task("HumanEval")  # cached, case-insensitive
    assert len(task.problems) == 164
    assert task.problem_ids()[0] == "HumanEval/0" and task.problem_ids()[-1] == "HumanEval/163"
    for p in task.problems:
        assert p.entry_point and f"def {p.entry_point}" in p.prompt
        assert p.tests and p.hidden_tests and "def check(candidate)" in p.hidden_tests
        spec_v, view_v = task.check_for(p, "verifier")
        spec_g, view_g = task.check_for(p, "ground_truth")
        assert spec_v.name == spec_g.name == "python_tests"
        assert view_v.tests == p.tests and view_g.tests == p.hidden_tests
        assert view_v.tests != view_g.tests


def test_verifier_tier_comes_from_the_docstring_where_it_has_examples() -> None:
    # Independent reference: a docstring example is a line whose first non-blank text is ">>>".
    for p in load_humaneval().problems:
        has_examples = any(line.lstrip().startswith(">>> ") for line in p.prompt.splitlines())
        origin = p.metadata["visible_tests"]
        assert (origin == "docstring examples") == has_examples, p.id
        assert p.tests is not None
        compile(p.tests, p.id, "exec")


def test_canonical_solutions_pass_the_verifier_tier_and_a_wrong_one_fails() -> None:
    failing = []
    wrong_accepted = 0
    for p in load_humaneval().problems:
        assert p.tests and p.canonical_solution and p.entry_point
        if not _passes(p.prompt, p.canonical_solution, p.tests, p.entry_point):
            failing.append(p.id)
        if _passes(p.prompt, "    return None\n", p.tests, p.entry_point):
            wrong_accepted += 1
    assert set(failing) == WRONG_DOCSTRING
    # "return None" can only satisfy visible tests whose expected values are all None.
    assert wrong_accepted <= 2


def test_examples_become_value_comparisons() -> None:
    prompt = (
        "def add(a, b):\n"
        '    """Add.\n'
        "    >>> add(1, 2)\n"
        "    3\n"
        "    >>> add(0.1, 0.2)  # floats\n"
        "    0.3\n"
        "    >>> add('a', 'b')\n"
        "    'ab'\n"
        '    """\n'
    )
    tests = examples_as_tests(prompt, "add")
    assert tests is not None and tests.count("assert _budget_same") == 3
    assert "add(" not in tests.split("def check", 1)[1]  # the examples call candidate
    assert _passes(prompt, "    return a + b\n", tests, "add")
    assert not _passes(prompt, "    return a - b\n", tests, "add")
    # doctest semantics: True is not 1, and a list is not a tuple
    bools = 'def f():\n    """\n    >>> f()\n    1\n    """\n'
    bool_tests = examples_as_tests(bools, "f")
    assert bool_tests is not None
    assert _passes(bools, "    return 1\n", bool_tests, "f")
    assert not _passes(bools, "    return True\n", bool_tests, "f")
    assert examples_as_tests('def f():\n    """No examples."""\n') is None


def test_first_asserts_keeps_setup_and_counts_a_loop_as_one() -> None:
    test = (
        "def check(candidate):\n"
        "    import math\n"
        "    assert True\n"
        "    assert candidate(1) == 2\n"
        "    for x in range(3):\n"
        "        assert candidate(x) == x + 1\n"
        "    assert candidate(9) == 10\n"
    )
    cut = ast.parse(first_asserts(test, count=2))
    check = cut.body[0]
    assert isinstance(check, ast.FunctionDef)
    kinds = [type(s).__name__ for s in check.body]
    assert kinds == ["Import", "Assert", "For"]


def test_extract_code_takes_the_longest_python_block() -> None:
    reply = (
        "Here you go:\n```bash\npip install numpy and a lot more words here\n```\n"
        "```python\ndef f(x):\n    return x + 1\n```\nand a note:\n```\nf(1)\n```\n"
    )
    assert extract_code(reply) == "def f(x):\n    return x + 1\n"
    assert extract_code("def f(x):\n    return x\n") == "def f(x):\n    return x\n"
    unterminated = "```python\ndef f(x):\n    return 2\n"
    assert extract_code(unterminated) == "def f(x):\n    return 2\n"


def test_completion_from_reply_keeps_the_prompts_imports_and_helpers() -> None:
    prompt = "from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    " + '"""Sum."""\n'
    redefined = "Sure!\n```python\ndef total(xs: List[int]) -> int:\n    return sum(xs)\n```"
    completion = completion_from_reply(redefined, "total")
    namespace: dict[str, Any] = {}
    exec(prompt + completion, namespace)
    assert namespace["total"]([1, 2, 3]) == 6
    body_only = "```python\n    return sum(xs) * 2\n```"
    namespace = {}
    exec(prompt + completion_from_reply(body_only, "total"), namespace)
    assert namespace["total"]([1, 2]) == 6


def test_chat_samples_of_the_shared_data_extract_to_code(shared_data: Path) -> None:
    task = load_humaneval()
    rows = [
        json.loads(line)
        for line in (shared_data / "humaneval-qwen2.5-coder-0.5b-samples.jsonl").read_text().splitlines()
    ]
    chat = [r for r in rows if r["mode"] == "chat"]
    assert len(chat) == 200
    compiled = 0
    for r in chat:
        p = task.problem(r["task_id"])
        program = p.prompt + completion_from_reply(r["completion"], p.entry_point)
        try:
            compile(program, r["task_id"], "exec")
            compiled += 1
        except SyntaxError:
            pass
        assert not re.search(r"^```", program, re.MULTILINE)
    assert compiled >= 190


_CODE_LINE = st.from_regex(r"[a-z_][a-z0-9_]{0,6} = [0-9]{1,4}", fullmatch=True)
_PROSE = st.text(alphabet="abcdefghij ,.!:\n", max_size=40)


@given(
    lines=st.lists(_CODE_LINE, min_size=1, max_size=6),
    short=st.lists(_CODE_LINE, max_size=1),
    before=_PROSE,
    after=_PROSE,
    tag=st.sampled_from(["python", "py", "", "Python3"]),
)
def test_the_longest_fenced_block_comes_back_verbatim(
    lines: list[str], short: list[str], before: str, after: str, tag: str
) -> None:
    code = "def f(x):\n" + "".join(f"    {line}\n" for line in lines) + "    return x\n"
    decoy = "".join(f"{line}\n" for line in short)
    reply = f"{before}\n```{tag}\n{code}```\n{after}\n```\n{decoy}```\n"
    assert extract_code(reply) == code
    assert completion_from_reply(reply, "f") == "\n" + code
