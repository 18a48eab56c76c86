"""The verifier protocol: a problem and a sample in, a :class:`Verdict` out.

A verdict is ``passed`` plus an :class:`Outcome`.  Only ``Outcome.PASS`` may carry
``passed=True``; every other outcome is a rejection with a short ``detail`` saying why.

A ``detail`` quotes what the sample said (an exception message, its output), so it is untrusted
text: :func:`printable` makes it one line of printable text (lone surrogates, NUL, terminal
escapes and other control or format characters become visible backslash escapes) of at most
:data:`MAX_DETAIL_CHARS`, so it can be stored, written as JSON or UTF-8, and shown on a terminal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_DETAIL_CHARS = 500
_CUT = "…[cut]"


def printable(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    r"""``text`` as one line of printable characters, at most ``limit`` long.

    Every character that is not printable (``str.isprintable``: control characters such as NUL,
    ESC and newline, format characters such as U+202E, lone surrogates, unassigned code points)
    becomes its Python escape (``\x1b``, ``\u202e``, ``\ud800``); a longer text is cut and
    ends with ``…[cut]``.
    """
    out: list[str] = []
    size = 0
    for ch in text:
        piece = ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        size += len(piece)
        if size > limit:
            kept = "".join(out)
            return kept[: max(0, limit - len(_CUT))] + _CUT
        out.append(piece)
    return "".join(out)


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

    @field_validator("detail")
    @classmethod
    def _printable(cls, value: str) -> str:
        return printable(value)

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

    def verify(self, problem: Any, completion: str, settings: dict[str, Any]) -> Verdict:
        """Check ``completion`` against ``problem``; a verdict, never an exception for a bad sample."""
