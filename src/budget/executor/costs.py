"""What a request may cost (its reservation) and what it did cost (its settlement).

Two cost models, both in integer micro-dollars, rounded *up* so that recorded spend never
understates a bill:

* **Per token** (:class:`TokenCost`, APIs): a request costs
  ``P x p_in + C x p_cached + sum_i O_i x p_out`` for ``P`` uncached and ``C`` cached prompt
  tokens and ``O_i`` output tokens of choice ``i`` (priced by
  :meth:`budget.pricing.TokenPrice.cost`, as the planner prices them).  Its worst case replaces ``O_i`` by
  ``max_tokens`` and ``P`` by an upper bound on the prompt's tokens that needs no tokenizer:
  byte-level BPE tokenizers (GPT, Llama 3, Qwen) and SentencePiece with byte fallback never
  emit a token for less than one byte, so ``tokens <= UTF-8 bytes``, plus a margin for the
  special tokens of a chat template (:data:`TEMPLATE_TOKENS` per message and per request).
* **Machine time** (:class:`MachineTimeCost`, local servers and vLLM): the machine costs
  ``$/hour x busy time``, where busy time is the time with at least one request in flight.
  Each instant of busy time is split equally between the requests in flight then
  (:class:`BusyClock`), so per-request shares add up to exactly the busy time:

      share_r = integral over r's flight of dt / inflight(t),   sum_r share_r = busy time

  A share never exceeds the request's own latency, which the runner bounds by the request
  timeout; the worst case is therefore ``$/hour x (timeout + grace)``.

A request of ``n`` samples is split between its choices in proportion to each choice's own
cost (largest remainder, so the parts add up to the whole exactly).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from budget.errors import InputError
from budget.executor.records import Generation, GenerationRequest, Mode
from budget.money import MICRO, to_micro, usd
from budget.pricing import MachinePrice, TokenPrice

#: Special tokens a chat template may add per message and once per request.
TEMPLATE_TOKENS = 16
#: Extra seconds over the request timeout allowed for the event loop to notice it.
TIMEOUT_GRACE_S = 2.0


def prompt_token_bound(request: GenerationRequest) -> int:
    """An upper bound on the prompt tokens of ``request`` (see module docstring)."""
    prompt = request.prompt
    bound = len(prompt.all_text().encode("utf-8")) + TEMPLATE_TOKENS
    if prompt.mode is Mode.CHAT:
        bound += TEMPLATE_TOKENS * len(prompt.messages)
    return bound


def split_micro(total: int, weights: Sequence[Decimal | float]) -> list[int]:
    """Split ``total`` micro-dollars in proportion to ``weights``; the parts sum to ``total``.

    Largest-remainder rounding (Hamilton's method); equal parts when all weights are zero.
    """
    if not weights:
        return []
    w = [Decimal(str(x)) if not isinstance(x, Decimal) else x for x in weights]
    s = sum(w, Decimal(0))
    if s <= 0:
        w, s = [Decimal(1)] * len(w), Decimal(len(w))
    exact = [total * x / s for x in w]
    parts = [int(e) for e in exact]
    left = total - sum(parts)
    order = sorted(range(len(w)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


@dataclass(frozen=True)
class Charge:
    """The cost of one attempt: its total, and per choice when it returned samples."""

    total_micro: int
    per_choice: tuple[int, ...] = ()


class Meter(Protocol):
    """Measures one request from start to stop; its charge."""
    def stop(self, generation: Generation | None) -> Charge:
        """The request's charge (a failed request: ``generation`` None)."""


class CostModel(Protocol):
    """Prices one model's requests."""

    kind: str
    description: str

    def worst_case_micro(self, request: GenerationRequest) -> int:
        """The most ``request`` can cost (its reservation), micro-dollars, rounded up."""

    def start(self) -> Meter:
        """Start measuring one request."""


class _TokenMeter:
    def __init__(self, cost: TokenCost) -> None:
        self.cost = cost

    def stop(self, generation: Generation | None) -> Charge:
        if generation is None:  # a failed request is not billed by token
            return Charge(0)
        return self.cost.charge(generation)


class TokenCost:
    """Per-token API prices (USD per million tokens)."""

    kind = "api_tokens"

    def __init__(self, price: TokenPrice) -> None:
        self.price = price
        self.description = (
            f"{price.model}: ${price.input_per_mtok}/Mtok in, ${price.output_per_mtok}/Mtok out "
            f"({price.source}, {price.as_of})"
        )

    def worst_case_micro(self, request: GenerationRequest) -> int:
        """Prompt-token bound and ``n x max_tokens`` at the price, rounded up."""
        worst = self.price.cost(
            prompt_tokens=prompt_token_bound(request), output_tokens=request.n * request.max_tokens
        )
        return to_micro(worst, round_up=True)

    def charge(self, generation: Generation) -> Charge:
        """The reply's cost by its usage, split between its choices."""
        prompt = self.price.cost(
            prompt_tokens=generation.prompt_tokens, cached_prompt_tokens=generation.cached_prompt_tokens
        )
        n = max(1, len(generation.choices))
        parts = [prompt / n + self.price.cost(output_tokens=c.output_tokens) for c in generation.choices]
        total = to_micro(sum(parts, Decimal(0)) if parts else prompt, round_up=True)
        return Charge(total, tuple(split_micro(total, parts)))

    def start(self) -> Meter:
        """Start measuring one request (per-token: nothing to time)."""
        return _TokenMeter(self)


class BusyClock:
    """Splits a machine's busy time between the requests in flight (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._shares: dict[int, float] = {}
        self._last = 0.0
        self._next = 0
        self.busy_s = 0.0
        self._lock = threading.Lock()

    def _advance(self) -> None:
        now = self._clock()
        if self._shares:
            dt = max(0.0, now - self._last)
            self.busy_s += dt
            each = dt / len(self._shares)
            for k in self._shares:
                self._shares[k] += each
        self._last = now

    def enter(self) -> int:
        """A request starts: its id for :meth:`leave`."""
        with self._lock:
            self._advance()
            self._next += 1
            self._shares[self._next] = 0.0
            return self._next

    def leave(self, ident: int) -> float:
        """Seconds of busy time charged to the request ``ident``."""
        with self._lock:
            self._advance()
            return self._shares.pop(ident)


class _MachineMeter:
    def __init__(self, cost: MachineTimeCost) -> None:
        self.cost = cost
        self.ident = cost.clock.enter()
        self.stopped = False

    def stop(self, generation: Generation | None) -> Charge:
        if self.stopped:
            raise RuntimeError("meter stopped twice")
        self.stopped = True
        seconds = Decimal(repr(self.cost.clock.leave(self.ident)))
        total = to_micro(seconds * self.cost.per_second, round_up=True)
        if generation is None or not generation.choices:
            return Charge(total)
        weights = [Decimal(max(1, c.output_tokens)) for c in generation.choices]
        return Charge(total, tuple(split_micro(total, weights)))


class MachineTimeCost:
    """A machine's $/hour times the busy time of the requests sent to it."""

    kind = "local_machine"

    def __init__(self, machine: MachinePrice, clock: BusyClock | None = None) -> None:
        self.machine = machine
        self.per_second = machine.usd_per_hour / Decimal(3600)
        self.clock = clock or BusyClock()
        self.description = (
            f"{machine.name} at ${machine.usd_per_hour}/h x measured busy time "
            f"({machine.source}, {machine.as_of})"
        )

    def worst_case_micro(self, request: GenerationRequest) -> int:
        """The machine's price for the request's timeout plus grace, rounded up."""
        return to_micro(Decimal(repr(request.timeout_s + TIMEOUT_GRACE_S)) * self.per_second, round_up=True)

    def start(self) -> Meter:
        """Start timing one request on the busy clock."""
        return _MachineMeter(self)


def parse_price(spec: str) -> TokenPrice:
    """``MODEL=IN,OUT`` (USD per million input and output tokens) from ``--price``."""
    model, sep, rest = spec.partition("=")
    parts = rest.split(",")
    if not sep or not model.strip() or len(parts) != 2:
        raise InputError(f"--price expects MODEL=IN,OUT (USD per million tokens), got {spec!r}")
    inp = usd(parts[0], what="--price input")
    out = usd(parts[1], what="--price output")
    if inp < 0 or out < 0:
        raise InputError(f"--price must not be negative, got {spec!r}")
    return TokenPrice(
        model=model.strip(),
        input_per_mtok=inp,
        output_per_mtok=out,
        source="--price on the command line",
        as_of=time.strftime("%Y-%m-%d"),
    )


__all__ = [
    "MICRO",
    "BusyClock",
    "Charge",
    "CostModel",
    "MachineTimeCost",
    "Meter",
    "TokenCost",
    "parse_price",
    "prompt_token_bound",
    "split_micro",
]
