"""Tasks and problems: what a sample is checked against, and by which verifier, on which tier.

A :class:`Task` is a list of :class:`Problem` plus two checks:

- ``verifier``: what you would have in production (for HumanEval, the docstring examples);
- ``ground_truth``: a stronger check (for HumanEval, the full hidden test).

A sample accepted by the verifier but rejected by the ground truth is a false positive.  That
rate bounds what resampling can buy with weak tests: on HumanEval, the share of accepted
samples that are wrong ranges from 7% (GPT-4o) to 28% (weak models) (Stroebl, Kapoor,
Narayanan 2024, "Inference Scaling fLaws", arXiv:2411.17501).  budget records both verdicts so
that it can measure this rate on your own samples.

Verifier plug-ins (``verifiers/*.py``) are tier-agnostic: :meth:`Task.check_for` hands them a
*tier view* of the problem, in which ``tests`` are the tests of the requested tier and
``answer`` the answer of that tier.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from budget.errors import UnknownNameError

Tier = Literal["verifier", "ground_truth", "ground_truth_plus"]
#: The tiers a run checks by default; ``ground_truth_plus`` (stronger generated tests, see
#: :mod:`budget.tasks.humaneval_plus`) exists only where a task built it.
TIERS: tuple[Tier, ...] = ("verifier", "ground_truth")
ALL_TIERS: tuple[Tier, ...] = ("verifier", "ground_truth", "ground_truth_plus")


class VerifierSpec(BaseModel):
    """Which verifier plug-in checks a problem, and its settings (``timeout_s``, ``mode``...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="plug-in name, e.g. python_tests, exact_answer")
    settings: dict[str, Any] = Field(default_factory=dict)


class Problem(BaseModel):
    """One problem.  Which fields matter depends on the verifier.

    - ``prompt``: the text given to the model (for code tasks, also the start of the program).
    - ``tests``: the verifier tier's test code (``python_tests``: defines ``check(candidate)``;
      ``pytest_file``: a pytest module; ``command``: unused).
    - ``hidden_tests``: the ground-truth tier's tests; ``None`` means the same as ``tests``.
    - ``plus_tests``: the ``ground_truth_plus`` tier's tests (stronger generated tests); only
      problems that have them can be checked on that tier.
    - ``answer`` / ``hidden_answer``: the reference answer (``exact_answer``), per tier.
    - ``entry_point``: the function the tests call.
    - ``verifier`` / ``ground_truth``: per-problem overrides of the task's checks.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    prompt: str
    entry_point: str | None = None
    tests: str | None = None
    hidden_tests: str | None = None
    plus_tests: str | None = None
    answer: str | None = None
    hidden_answer: str | None = None
    canonical_solution: str | None = None
    verifier: VerifierSpec | None = None
    ground_truth: VerifierSpec | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def for_tier(self, tier: Tier) -> Problem:
        """This problem as the given tier's verifier must see it (``tests``/``answer`` swapped in)."""
        if tier == "verifier":
            return self
        update: dict[str, Any] = {}
        if tier == "ground_truth_plus":
            from budget.errors import DataError

            if self.plus_tests is None:
                raise DataError(f"problem {self.id} has no ground_truth_plus tests")
            update["tests"] = self.plus_tests
        elif self.hidden_tests is not None:
            update["tests"] = self.hidden_tests
        if self.hidden_answer is not None:
            update["answer"] = self.hidden_answer
        return self.model_copy(update=update) if update else self


class Task(BaseModel):
    """A named set of problems with a production check and a ground-truth check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    source: str = ""
    verifier: VerifierSpec | None = None
    ground_truth: VerifierSpec | None = None
    problems: list[Problem]
    metadata: dict[str, Any] = Field(default_factory=dict)
    _by_id: dict[str, Problem] = PrivateAttr(default_factory=dict)
    _indexed: list[Problem] | None = PrivateAttr(default=None)

    def problem_ids(self) -> list[str]:
        """The ids of the task's problems, in order."""
        return [p.id for p in self.problems]

    def problem(self, problem_id: str) -> Problem:
        """The problem with this id; an :class:`UnknownNameError` (one line) otherwise."""
        index = self._index()
        if problem_id not in index:
            raise UnknownNameError("problem id", problem_id, list(index), context=f"task {self.name}")
        return index[problem_id]

    def has_problem(self, problem_id: str) -> bool:
        """Whether the task has a problem with this id."""
        return problem_id in self._index()

    def check_for(self, problem: Problem, tier: Tier) -> tuple[VerifierSpec, Problem]:
        """The verifier spec and the tier view of ``problem`` for ``tier``.

        The ground-truth tier falls back to the problem's, then the task's verifier spec when no
        ground truth is named (then both tiers can still differ by ``hidden_tests``).
        """
        from budget.errors import DataError

        if tier == "verifier":
            spec = problem.verifier or self.verifier
        else:
            spec = problem.ground_truth or self.ground_truth or problem.verifier or self.verifier
        if spec is None:
            raise DataError(f"task {self.name}: problem {problem.id} names no verifier")
        return spec, problem.for_tier(tier)

    def _index(self) -> dict[str, Problem]:
        # model_copy(update={"problems": ...}) copies the private index too: rebuild it when the
        # list it was built from is not this task's
        if self._indexed is not self.problems:
            self._by_id = {p.id: p for p in self.problems}
            self._indexed = self.problems
        return self._by_id

    @model_validator(mode="after")
    def _unique_ids(self) -> Task:
        seen: set[str] = set()
        for p in self.problems:
            if p.id in seen:
                raise ValueError(f"task {self.name}: duplicate problem id {p.id!r}")
            seen.add(p.id)
        return self
