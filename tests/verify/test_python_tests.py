"""The python_tests verifier on HumanEval: canonical solutions pass, wrong completions fail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.verify.harness import decode, encode
from budget.verify.plugins import available, load_verifier
from budget.verify.pool import UnitTestJob, run_python_tests
from budget.verify.protocol import Outcome, Verdict, Verifier

Problems = dict[str, dict[str, Any]]


def job(row: dict[str, Any], completion: str | None = None, timeout_s: float = 10.0) -> UnitTestJob:
    return UnitTestJob(
        prompt=row["prompt"],
        completion=row["canonical_solution"] if completion is None else completion,
        test=row["test"],
        entry_point=row["entry_point"],
        timeout_s=timeout_s,
    )


def run_all(jobs: list[UnitTestJob]) -> list[Verdict]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(run_python_tests, jobs))


def test_all_canonical_solutions_pass(humaneval: Problems) -> None:
    verdicts = run_all([job(row) for row in humaneval.values()])
    failed = {tid: v.detail for tid, v in zip(humaneval, verdicts, strict=True) if not v.passed}
    assert len(verdicts) == 164
    assert failed == {}


WRONG = {
    "return None": "    return None\n",
    "constant": "    return 0\n",
    "raises": "    raise ValueError('nope')\n",
    "syntax error": "    return (\n",
    "empty": "",
}


@pytest.mark.parametrize("kind", sorted(WRONG))
def test_wrong_completions_fail(humaneval: Problems, kind: str) -> None:
    rows = list(humaneval.values())[::8]
    verdicts = run_all([job(row, WRONG[kind]) for row in rows])
    passed = [row["task_id"] for row, v in zip(rows, verdicts, strict=True) if v.passed]
    assert passed == []
    assert all(v.outcome in (Outcome.FAIL, Outcome.ERROR) for v in verdicts)


def test_off_by_one_fails_with_the_line(humaneval: Problems) -> None:
    row = humaneval["HumanEval/53"]  # add(x, y)
    v = run_python_tests(job(row, "    return x + y + 1\n"))
    assert v.outcome is Outcome.FAIL and "assertion failed" in v.detail


def test_tests_may_call_the_entry_point_by_name(humaneval: Problems) -> None:
    row = humaneval["HumanEval/33"]  # its test compares candidate(x) with sort_third(x)
    assert run_python_tests(job(row)).passed
    assert not run_python_tests(job(row, "    return None\n")).passed


def test_timeout(humaneval: Problems) -> None:
    row = humaneval["HumanEval/0"]
    v = run_python_tests(job(row, "    while True:\n        pass\n", timeout_s=1.0))
    assert v.outcome is Outcome.TIMEOUT and not v.passed


def test_plug_in_is_loadable() -> None:
    assert "python_tests" in available()
    verifier = load_verifier("python_tests")
    assert isinstance(verifier, Verifier) and verifier.name == "python_tests"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(10**5000, id="int-over-4300-digits"),
        None,
        True,
        0,
        -(10**40),
        1.5,
        float("inf"),
        "s\u00e9",
        b"\x00",
        1 + 2j,
        [1, [2]],
        (1, (2,)),
        {1: "a"},
        {1, 2},
        frozenset({3}),
        {(1, 2): [3.25, None]},
    ],
)
def test_plain_data_round_trip(value: object) -> None:
    back = decode(encode(value))
    assert back == value and type(back) is type(value)


def test_subclasses_are_not_plain_data() -> None:
    class AlwaysEqual(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    with pytest.raises(TypeError):
        encode(AlwaysEqual(1))
    with pytest.raises(ValueError):
        decode({"x": 1})


def test_through_the_plug_in_on_both_tiers() -> None:
    """The plug-in on budget's HumanEval task: the ground-truth view, and the docstring-example view."""
    from budget.tasks import load_task

    task = load_task("humaneval")
    verifier = load_verifier("python_tests")
    for pid in ("HumanEval/0", "HumanEval/53", "HumanEval/151"):
        problem = task.problem(pid)
        for tier in ("verifier", "ground_truth"):
            spec, view = task.check_for(problem, tier)
            assert spec.name == "python_tests"
            good = verifier.verify(view, problem.canonical_solution or "", dict(spec.settings))
            bad = verifier.verify(view, "    return None\n", dict(spec.settings))
            assert good.passed, (pid, tier, good)
            assert not bad.passed, (pid, tier, bad)


def test_misconfigured_problem_is_a_one_line_error() -> None:
    from budget.errors import DataError
    from budget.tasks import Problem

    with pytest.raises(DataError, match="entry_point"):
        load_verifier("python_tests").verify(Problem(id="p", prompt="x"), "", {})


_PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=8)
    | st.complex_numbers(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.integers() | st.text(max_size=4), inner, max_size=4)
        | st.frozensets(st.integers() | st.text(max_size=4), max_size=4)
        | st.sets(st.integers() | st.tuples(st.integers()), max_size=4)
    ),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    """Equal with exactly the same types all the way down (``1 == 1.0 == True`` is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=False))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)  # type: ignore[attr-defined,index]
    return a == b


@given(_PLAIN)
def test_plain_data_survives_the_wire(value: object) -> None:
    import json

    assert _same(decode(json.loads(json.dumps(encode(value)))), value)


@given(_PLAIN, _PLAIN)
def test_write_back_changes_in_place_or_not_at_all(old: object, new: object) -> None:
    """``_sync`` makes the test's object equal to the sample's copy, keeping the object itself
    (and its mutable parts where they survive); a change no function could make in its caller's
    object (an immutable value) leaves it untouched.  Reference: a deep copy compared after."""
    import copy

    from budget.verify.harness import _sync, _syncable

    before = copy.deepcopy(old)
    ident = id(old)
    can = _syncable(old, new)
    done = _sync(old, new)
    assert done == can and id(old) == ident
    if done:
        assert _same(old, new)
    else:
        assert _same(old, before)


def test_write_back_keeps_a_list_passed_twice_changed() -> None:
    """``f(a, a)`` that changes its first argument: the second, reported unchanged, does not undo it."""
    from budget.verify.harness import write_back

    shared = [3, 1, 2]
    request = {"args": encode([shared, shared]), "kwargs": encode({"k": [1]})}
    kwargs = {"k": [1]}
    write_back(request, [encode([[1, 2, 3], [3, 1, 2]]), encode({"k": [1, 5]})], (shared, shared), kwargs)
    assert shared == [1, 2, 3] and kwargs == {"k": [1, 5]}
    with pytest.raises(ValueError, match="cannot change"):
        write_back(request, [encode([[1], 7]), encode({"k": [1]})], (shared, shared), kwargs)
    with pytest.raises(ValueError, match="bad argument update"):
        write_back(request, [encode([[1]]), encode({"k": [1]})], (shared, shared), kwargs)


def test_process_settings_see_a_lowered_limit_or_priority() -> None:
    """What the zygote compares after each job changes when a limit or the nice value does."""
    import os
    import resource

    from budget.verify.harness import process_settings

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a child, so the test process keeps its own limits and priority
        try:
            before = process_settings()
            stable = process_settings() == before
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft - 1, hard))
            lowered = process_settings()
            os.nice(1)
            reniced = process_settings()
            os.write(write, b"1" if stable and lowered != before and reniced != lowered else b"0")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    os.close(read)
