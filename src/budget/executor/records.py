"""Records that cross the executor's edges: a generation request, its reply, a finished sample.

A *unit of work* asks one backend for ``n`` samples of one problem (sample indices
``first_index .. first_index + n - 1``).  A backend answers with a :class:`Generation`: one
:class:`Choice` per sample plus the token usage.  The runner turns each choice into a
:class:`BoughtSample` with its exact cost in integer micro-dollars.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Mode(StrEnum):
    """How a prompt is sent: raw text completion, or a chat conversation."""

    COMPLETION = "completion"
    CHAT = "chat"


class ChatMessage(BaseModel):
    """One message of a chat prompt."""
    model_config = ConfigDict(frozen=True)

    role: str
    content: str


class Prompt(BaseModel):
    """A problem's prompt in one mode: ``text`` for completion, ``messages`` for chat."""

    model_config = ConfigDict(frozen=True)

    mode: Mode
    text: str = ""
    messages: tuple[ChatMessage, ...] = ()
    stop: tuple[str, ...] = ()

    def all_text(self) -> str:
        """Everything the model reads (for token bounds)."""
        if self.mode is Mode.COMPLETION:
            return self.text
        return "\n".join(m.content for m in self.messages)


class GenerationRequest(BaseModel):
    """One request to a backend for ``n`` samples of one prompt."""

    model_config = ConfigDict(frozen=True)

    model: str
    prompt: Prompt
    n: int = Field(default=1, ge=1)
    max_tokens: int = Field(gt=0)
    temperature: float = Field(default=0.8, ge=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    seed: int | None = None
    timeout_s: float = Field(default=120.0, gt=0)


class Choice(BaseModel):
    """One sample of a reply; ``output_tokens`` counted for this choice alone."""

    model_config = ConfigDict(frozen=True)

    text: str
    output_tokens: int = Field(ge=0)
    finish_reason: str = ""


class Generation(BaseModel):
    """A backend's reply to a :class:`GenerationRequest`.

    ``prompt_tokens`` is what the provider bills for the prompt of the whole request (once for
    ``n`` choices where the provider shares it); ``cached_prompt_tokens`` the part billed at
    the cached price.  ``busy_s`` is the time the backend's machine spent on the request
    (wall-clock latency for remote calls).  ``fault`` says how the provider broke the request's
    terms (usage unknown or nonsense, output past ``max_tokens``, choices beyond ``n``;
    :mod:`budget.executor.backends.usage`), empty when it did not.  ``unbounded``: the reply
    shows that the server ignores the request's bounds (more choices than ``n``, or more output
    than ``max_tokens`` allows by the provider's own count), so reservations no longer bound what
    its requests cost (the runner stops launching).
    """

    model_config = ConfigDict(frozen=True)

    choices: tuple[Choice, ...]
    prompt_tokens: int = Field(ge=0)
    cached_prompt_tokens: int = Field(default=0, ge=0)
    latency_s: float = Field(ge=0)
    token_count_source: str = "usage"
    fault: str = ""
    unbounded: bool = False


class BoughtSample(BaseModel):
    """A sample as the runner bought it: one choice of a reply, with its share of the exact cost.

    The store keeps it as :class:`budget.store.SampleRecord` (with the run, the prompt's hash,
    the cost as exact decimal dollars and the verdicts); :class:`budget.store.SampleKey` is a
    sample's identity.
    """

    model_config = ConfigDict(frozen=True)

    model: str
    problem_id: str
    index: int = Field(ge=0)
    seed: int | None
    completion: str
    prompt_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_micro: int = Field(ge=0)
    latency_s: float = Field(ge=0)
    attempts: int = Field(default=1, ge=1)
    finish_reason: str = ""
    provider_fault: str = ""
