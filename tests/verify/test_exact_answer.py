"""exact_answer: extraction (GSM8K, nested \\boxed), normalisation, math-verify equivalence, bounds."""

from __future__ import annotations

import sys
from types import ModuleType, SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget.errors import InputError
from budget.verify.plugins import load_verifier
from budget.verify.protocol import Outcome, Verifier

VERIFIER: Verifier = load_verifier("exact_answer")
MOD: ModuleType = sys.modules["budget_verifiers.exact_answer"]


def check(answer: str, completion: str, **settings: object) -> SimpleNamespace:
    verdict = VERIFIER.verify(SimpleNamespace(id="p", answer=answer), completion, dict(settings))
    return SimpleNamespace(passed=verdict.passed, outcome=verdict.outcome, detail=verdict.detail)


# ------------------------------------------------------------------ extraction


def _balanced_reference(text: str, start: int) -> str | None:
    """Reference for the content of the brace group opening at ``start`` (recursive descent)."""

    def group(i: int) -> int | None:  # index just past the group opening at i
        assert text[i] == "{"
        i += 1
        while i < len(text):
            if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
                i += 2
            elif text[i] == "{":
                end = group(i)
                if end is None:
                    return None
                i = end
            elif text[i] == "}":
                return i + 1
            else:
                i += 1
        return None

    end = group(start)
    return None if end is None else text[start + 1 : end - 1]


@st.composite
def brace_text(draw: st.DrawFn, depth: int = 0) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                st.text(alphabet="x1+-^ \\fracsqt()", max_size=6).map(lambda s: s.replace("\\", "")),
                st.just("\\{"),
                st.just("\\}"),
                brace_text(depth + 1).map(lambda s: "{" + s + "}") if depth < 3 else st.just("y"),
            ),
            max_size=5,
        )
    )
    return "".join(parts)


@given(inner=brace_text(), before=st.text(alphabet="ab \n$", max_size=10))
@settings(max_examples=200)
def test_last_boxed_matches_a_recursive_reference(inner: str, before: str) -> None:
    text = before + r"\boxed{" + inner + "} done"
    assert MOD.last_boxed(text) == inner == _balanced_reference(text, len(before) + len(r"\boxed"))


def test_extraction_rules() -> None:
    assert MOD.last_boxed(r"first \boxed{1} then \boxed{\frac{1}{\sqrt{2}}}.") == r"\frac{1}{\sqrt{2}}"
    assert MOD.last_boxed(r"\fbox{7}") == "7"
    assert MOD.last_boxed(r"so $\boxed 5$") == "5"
    assert MOD.last_boxed(r"\boxed{12} and an unclosed \boxed{3") == "12"
    assert MOD.last_boxed("no box") is None
    assert MOD.gsm8k_answer("step 1\n#### 1,234\n") == "1,234"
    assert MOD.extract_answer("The answer is 17. Also 3.") == "17"
    assert MOD.extract_answer("So the answer is $3.5$.\nDone") == "$3.5$"
    assert MOD.extract_answer("it was 3, then 4.5") == "4.5"
    assert MOD.extract_answer(r"#### 3 but \boxed{4}") == "4"  # boxed wins in auto
    assert MOD.extract_answer("#### 3\nbut \\boxed{4}", "gsm8k") == "3"
    assert MOD.extract_answer("  words  ", "whole") == "words"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        (r"$\dfrac{1}{2}$", r"\frac{1}{2}"),
        (r"\text{5 apples}.", "5 apples"),
        ("1,000,000", "1000000"),
        (r"\left(1, 2\right)", "(1, 2)"),
        (r"\$42", "42"),
        ("(1,2)", "(1,2)"),  # a pair, not a thousands separator
    ],
)
def test_normalise(raw: str, normal: str) -> None:
    assert MOD.normalise(raw) == normal


# ------------------------------------------------------------------ verdicts


@given(n=st.integers(min_value=-(10**12), max_value=10**12), wrong=st.integers(min_value=1, max_value=10**6))
@settings(max_examples=100)
def test_gsm8k_integers_with_separators(n: int, wrong: int) -> None:
    assert check(f"#### {n}", f"so the total is\n#### {n:,}").passed
    assert check(str(n), f"The answer is {n:,}.").passed
    assert not check(str(n), f"#### {n + wrong}").passed


@pytest.mark.parametrize(
    ("answer", "completion"),
    [
        (r"\frac{1}{2}", r"so $\boxed{0.5}$"),
        (r"\boxed{\frac{\sqrt{2}}{2}}", r"\boxed{\dfrac{\sqrt2}{2}}"),
        ("x^2+2x+1", r"\boxed{(x+1)^2}"),
        (r"\{1,2\}", r"\boxed{\{2,1\}}"),
        ("42", r"\boxed{42.0}"),
    ],
)
def test_symbolic_equivalence_through_math_verify(answer: str, completion: str) -> None:
    verdict = check(answer, completion)
    assert verdict.passed, verdict.detail


@pytest.mark.parametrize(
    ("answer", "completion"),
    [
        (r"\frac{1}{2}", r"\boxed{0.51}"),
        ("x^2+1", r"\boxed{(x+1)^2}"),
        ("3", r"\boxed{3 \text{ or } 4}"),  # hedging inside one box
        ("4", r"\boxed{3 \text{ or } 4}"),
        ("3", r"\boxed{3, 4, 5}"),
        ("7", ""),
        ("7", r"\boxed{}"),
    ],
)
def test_wrong_or_missing_answers_fail(answer: str, completion: str) -> None:
    verdict = check(answer, completion)
    assert verdict.outcome is Outcome.FAIL, verdict.detail


def test_hostile_strings_are_bounded() -> None:
    slow = check("1", r"\boxed{9^{9^{9^{9}}}}", timeout_s=1)
    assert slow.outcome is Outcome.TIMEOUT and not slow.passed
    code = check("2", r"\boxed{__import__('os').system('touch /tmp/budget-pwned')}")
    assert not code.passed
    huge = check("1", r"\boxed{" + "1+" * 5000 + "1}")
    assert huge.outcome is Outcome.FAIL and "too long" in huge.detail
    # a long sample is searched only near its end; the work stays bounded
    assert check("5", "x" * 1_000_000 + "#### 5").passed
    # the pool survives a timeout: a normal comparison still works afterwards
    assert check(r"\frac{1}{3}", r"\boxed{\dfrac{1}{3}}").passed


def test_misconfiguration_is_an_input_error() -> None:
    with pytest.raises(InputError, match="extract rule"):
        check("1", "1", extract="magic")
    with pytest.raises(InputError, match="no answer"):
        VERIFIER.verify(SimpleNamespace(id="p", answer=None), "1", {})
