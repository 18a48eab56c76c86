"""The ground_truth_plus tier: mutated inputs, canonical outputs in the sandbox, cached."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from budget.tasks import load_task
from budget.tasks.humaneval_plus import _literal_calls, build_plus, mutated_inputs, plus_test, with_plus_tests


def test_mutated_inputs_are_new_deterministic_and_shape_preserving() -> None:
    test = (
        "def check(candidate):\n"
        "    assert candidate([3, 1, 2], 5) == 1\n"
        "    assert candidate('ab', -2) == 0\n"
    )
    first = mutated_inputs(test)
    assert first == mutated_inputs(test)  # no randomness
    originals = {repr(a) for a in _literal_calls(test)}
    assert originals == {repr(([3, 1, 2], 5)), repr(("ab", -2))}
    assert first and not {repr(a) for a in first} & originals
    for a, b in first:
        assert type(a) in (list, str) and a  # non-empty stays non-empty
        assert isinstance(b, int) and b != 0
        assert (b > 0) == isinstance(a, list)  # the sign of each original number is kept


def test_plus_test_keeps_the_official_test_and_adds_cases() -> None:
    official = "def check(candidate):\n    assert candidate(2) == 4\n"
    text = plus_test(official, "f", [("(3,)", "6"), ("(5,)", "10")])
    ast.parse(text)
    ns: dict[str, object] = {}
    exec(compile(text, "plus", "exec"), ns)  # trusted text built by the test itself
    check = ns["check"]
    assert callable(check)
    check(lambda x: 2 * x)  # passes both parts
    with pytest.raises(AssertionError):
        check(lambda x: {2: 4}.get(x, 0))  # a lookup table of the official cases fails the plus part
    assert plus_test(official, "f", []) == official


def test_build_plus_caches(tmp_path: Path) -> None:
    task = load_task("humaneval")
    calls: list[str] = []

    def fake_run(program: str, stdin: bytes) -> str:
        calls.append(program)
        n = len(json.loads(stdin))
        return (
            "\n".join(json.dumps({"i": i, "ok": i % 2 == 0, "out": str(i)}) for i in range(n)) + "\nnoise\n"
        )

    cache = tmp_path / "plus.json"
    ids = ["HumanEval/13", "HumanEval/2"]
    got = build_plus(task, ids, run=fake_run, cache=cache)
    assert len(calls) == 2 and cache.is_file()
    assert all(int(out) % 2 == 0 for cases in got.values() for _, out in cases)
    again = build_plus(task, ids, run=fake_run, cache=cache)
    assert again == got and len(calls) == 2  # read from the cache, nothing rerun
    build_plus(task, ["HumanEval/13", "HumanEval/4"], run=fake_run, cache=cache)
    assert len(calls) == 3  # only the missing problem is built


def test_plus_tier_catches_a_lookup_table_the_official_test_accepts(tmp_path: Path) -> None:
    from budget.service.verification import verify_one
    from budget.verify.sandbox import probe

    if not probe().available:
        pytest.skip("no working sandbox")
    task = load_task("humaneval")
    pid = "HumanEval/13"  # greatest_common_divisor
    cases = build_plus(task, [pid], cache=tmp_path / "plus.json")
    assert len(cases[pid]) >= 5
    plus = with_plus_tests(task, cases)
    problem = plus.problem(pid)
    canonical = problem.canonical_solution or ""
    table = {
        args: candidate for args, candidate in [((3, 7), 1), ((10, 15), 5), ((49, 14), 7), ((144, 60), 12)]
    }
    cheat = f"    return {table!r}.get((a, b), 1)\n"
    assert verify_one(plus, pid, canonical, tier="ground_truth_plus").passed
    assert verify_one(plus, pid, cheat, tier="ground_truth").passed
    assert not verify_one(plus, pid, cheat, tier="ground_truth_plus").passed


def test_mutants_keep_the_originals_likely_invariants() -> None:
    """HumanEval/11 (string_xor: equal lengths) and /6 (nested parens: balance) once got
    mutants outside their domain; a correct sample then failed the plus tier."""
    xor = "def check(candidate):\n    assert candidate('111000', '101010') == '010010'\n"
    xor += "    assert candidate('1', '1') == '0'\n"
    for a, b in mutated_inputs(xor):
        assert len(a) == len(b) and set(a + b) <= {"0", "1"}
    parens = "def check(candidate):\n    assert candidate('(()()) ((())) () ((())()())') == [2, 3, 1, 3]\n"
    for (text,) in mutated_inputs(parens):
        depth = 0
        for ch in text:
            depth += (ch == "(") - (ch == ")")
            assert depth >= 0
        assert depth == 0
    nums = "def check(candidate):\n    assert candidate([1, 2, 3]) == 2\n"
    nums += "    assert candidate([0, 5]) == 2.5\n"
    for (xs,) in mutated_inputs(nums):
        assert xs == sorted(xs) and len(set(xs)) == len(xs) and min(xs) >= 0


def test_a_copied_task_finds_its_own_problems() -> None:
    """Task.model_copy(update={"problems": ...}) once kept the old task's id index."""
    task = load_task("humaneval")
    task.problem("HumanEval/0")  # build the index
    first = task.problems[0].model_copy(update={"prompt": "changed"})
    changed = [first, *task.problems[1:]]
    copy = task.model_copy(update={"problems": changed})
    assert copy.problem("HumanEval/0").prompt == "changed"
    assert task.problem("HumanEval/0").prompt != "changed"
