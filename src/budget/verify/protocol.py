"""The verifier protocol: a problem and a sample in, a :class:`Verdict` out.

A verdict is ``passed`` plus an :class:`Outcome`.  Only ``Outcome.PASS`` may carry
``passed=True``; every other outcome is a rejection with a short ``detail`` saying why.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Outcome(StrEnum):
    """Why a verifier accepted or rejected a sample."""

    PASS = "pass"
    FAIL = "fail"
    TIMEOUT = "timeout"
    ERROR = "error"
    SANDBOX_VIOLATION = "sandbox_violation"


class Verdict(BaseModel):
    """The result of checking one sample against one problem with one verifier."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    outcome: Outcome
    duration_s: float = Field(ge=0.0)
    detail: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Verdict:
        if self.passed != (self.outcome is Outcome.PASS):
            raise ValueError(f"passed={self.passed} contradicts outcome {self.outcome.value}")
        return self


@runtime_checkable
class Verifier(Protocol):
    """A check of one sample.  ``settings`` come from the task's verifier configuration.

    Implementations must be safe to call from several worker threads at once and must never
    raise for a bad sample: a crash of the checked code is a verdict (``error``), not an
    exception.  They may raise :class:`budget.errors.BudgetError` for a misconfigured task.
    """

    name: str

    def verify(self, problem: Any, completion: str, settings: dict[str, Any]) -> Verdict: ...
