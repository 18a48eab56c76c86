"""Price records and cost-per-sample models (pure: no I/O).

Three cost models turn prices into the expected and worst-case cost of one sample:

* **API tokens** (``api_sample_cost``): a sample costs
  ``prompt_tokens x input_price + output_tokens x output_price``.  Repeated samples of the
  same prompt pay the provider's cached-input price for the prompt where it has one, so the
  first sample of a problem and each further sample are priced separately.  The worst case
  replaces the mean output length by ``max_output_tokens``.
* **Per attempt** (``attempt_sample_cost``): a published average cost of one whole attempt
  (for example an agent's full trajectory on one SWE-bench issue).
* **Local machine** (``local_sample_cost``): ``machine $/hour x hours per sample``.  Hours per
  sample come from a measured throughput when one is known (output tokens / aggregate tokens
  per second), otherwise from a FLOPs estimate: a forward pass costs about ``2 x N`` FLOPs per
  token for a model of ``N`` parameters (Kaplan et al. 2020, "Scaling Laws for Neural Language
  Models", Sec. 2.1), run at a stated fraction (utilisation) of the machine's peak.  With
  ``n``-sampling or prefix caching the prompt is computed once per problem, so only the first
  sample pays for it.

Amounts are exact ``Decimal`` dollars; the planner converts to floats at its boundary.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from budget.money import USD, fmt_usd

MILLION = Decimal(1_000_000)
SECONDS_PER_HOUR = Decimal(3600)


class TokenPrice(BaseModel):
    """An API model's price in USD per million tokens."""

    model_config = ConfigDict(frozen=True)

    model: str
    provider: str = ""
    input_per_mtok: USD
    output_per_mtok: USD
    cached_input_per_mtok: USD | None = None
    source: str
    as_of: str

    def cost(
        self,
        *,
        prompt_tokens: int | Decimal = 0,
        output_tokens: int | Decimal = 0,
        cached_prompt_tokens: int | Decimal = 0,
    ) -> Decimal:
        """Exact USD for these tokens at this price: the one place a price and tokens make a cost.

        ``(prompt - cached) x input + cached x cached_input + output x output`` per token (prices
        are per million tokens); ``cached_prompt_tokens`` are the part of ``prompt_tokens`` the
        provider bills at its cached price (the input price where it lists none; a listed $0 is
        free, as billed).  The planner (:func:`api_sample_cost`) and the executor's meter
        (:class:`budget.executor.costs.TokenCost`) both price through here.
        """
        cached_price = self.cached_input_per_mtok
        if cached_price is None:
            cached_price = self.input_per_mtok
        prompt = _d(prompt_tokens)
        cached = min(_d(cached_prompt_tokens), prompt)
        return (
            (prompt - cached) * (self.input_per_mtok / MILLION)
            + cached * (cached_price / MILLION)
            + _d(output_tokens) * (self.output_per_mtok / MILLION)
        )


class AttemptPrice(BaseModel):
    """A published average cost of one attempt at one problem of a task."""

    model_config = ConfigDict(frozen=True)

    model: str
    task: str
    usd_per_attempt: USD
    source: str
    as_of: str
    #: A stated upper bound on one attempt's cost (``--hard-cap`` plans on it), and its basis:
    #: a published maximum, or a multiple of the average the user set.  None: no bound known.
    worst_usd_per_attempt: USD | None = None
    worst_source: str = ""


class MachinePrice(BaseModel):
    """A machine for local inference: its hourly price and peak throughput."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    usd_per_hour: USD
    peak_tflops: float = Field(gt=0)
    source: str
    as_of: str


class Throughput(BaseModel):
    """A measured aggregate generation rate of a model on a machine."""

    model_config = ConfigDict(frozen=True)

    model: str
    machine: str
    output_tokens_per_second: float = Field(gt=0)
    prompt_tokens_per_second: float | None = Field(default=None, gt=0)
    concurrency: int = 1
    source: str
    as_of: str


class SampleCost(BaseModel):
    """The cost of sampling one problem: the first sample and each further one.

    ``first``/``repeat`` are expected costs; ``worst_first``/``worst_repeat`` bound the
    cost of a single sample (used by hard-cap planning and by the executor's reservations).
    ``formula`` states the cost model with its numbers, for reports.  ``kind``: priced from
    API tokens, a published per-attempt average, a machine's $/hour, or ``measured`` (the mean
    of the user's own stored samples).
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["api_tokens", "per_attempt", "local_machine", "measured"]
    first: USD
    repeat: USD
    worst_first: USD
    worst_repeat: USD
    formula: str
    sources: list[str] = Field(default_factory=list)
    #: Whether ``worst_*`` is a stated upper bound (False: only the average is known, so a
    #: hard cap cannot promise anything), and where the bound comes from.
    worst_stated: bool = True
    worst_basis: str = ""

    @classmethod
    def flat(
        cls,
        kind: Literal["api_tokens", "per_attempt", "local_machine", "measured"],
        usd: Decimal,
        formula: str,
        **rest: Any,
    ) -> SampleCost:
        """Every sample, first or further, expected or worst, costs ``usd``."""
        same = {"first": usd, "repeat": usd, "worst_first": usd, "worst_repeat": usd}
        return cls(kind=kind, formula=formula, **same, **rest)

    def fixed_cost(self, k: int) -> Decimal:
        """Exact cost of ``k`` samples of one problem (``k`` >= 0), expected."""
        return Decimal(0) if k <= 0 else self.first + (k - 1) * self.repeat

    def worst_cost(self, k: int) -> Decimal:
        """Exact worst-case cost of ``k`` samples of one problem."""
        return Decimal(0) if k <= 0 else self.worst_first + (k - 1) * self.worst_repeat


def _d(x: float | int | Decimal) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


def api_sample_cost(
    price: TokenPrice, *, prompt_tokens: int, output_tokens: float, max_output_tokens: int
) -> SampleCost:
    """Cost of a sample through a per-token API (see module docstring)."""
    p, o, m = _d(prompt_tokens), _d(output_tokens), _d(max_output_tokens)
    formula = (
        f"API tokens: {prompt_tokens:,} prompt x {fmt_usd(price.input_per_mtok)}/Mtok"
        + (
            f" (repeats {fmt_usd(price.cached_input_per_mtok)}/Mtok cached)"
            if price.cached_input_per_mtok is not None
            else ""
        )
        + f" + {output_tokens:,g} output x {fmt_usd(price.output_per_mtok)}/Mtok"
        + f"; worst case {max_output_tokens} output tokens"
    )
    return SampleCost(
        kind="api_tokens",
        first=price.cost(prompt_tokens=p, output_tokens=o),
        repeat=price.cost(prompt_tokens=p, cached_prompt_tokens=p, output_tokens=o),
        worst_first=price.cost(prompt_tokens=p, output_tokens=m),
        worst_repeat=price.cost(prompt_tokens=p, cached_prompt_tokens=p, output_tokens=m),
        formula=formula,
        sources=[f"{price.source} ({price.as_of})"],
    )


def attempt_sample_cost(price: AttemptPrice) -> SampleCost:
    """Cost of a sample priced as an average per attempt (published, or given by the user).

    The worst case is the price's stated upper bound when it has one; without one it is not
    known (``worst_stated=False``): the average stands in for planning, but a hard cap
    refuses to promise anything on it.
    """
    c = price.usd_per_attempt
    w = price.worst_usd_per_attempt
    what = "user-given" if price.source.startswith("user-given") else "published"
    bound = (
        f"worst case {fmt_usd(w)} per attempt ({price.worst_source})"
        if w is not None
        else "no stated worst case per attempt"
    )
    return SampleCost(
        kind="per_attempt",
        first=c,
        repeat=c,
        worst_first=w if w is not None else c,
        worst_repeat=w if w is not None else c,
        formula=f"{what} average {fmt_usd(c)} per attempt on {price.task}; {bound}",
        sources=[f"{price.source} ({price.as_of})"],
        worst_stated=w is not None,
        worst_basis=price.worst_source if w is not None else "none stated: only the average is known",
    )


def local_sample_cost(
    machine: MachinePrice,
    *,
    prompt_tokens: int,
    output_tokens: float,
    max_output_tokens: int,
    throughput: Throughput | None = None,
    parameters: float | None = None,
    utilisation: float = 0.1,
) -> SampleCost:
    """Cost of a sample generated on a local machine (see module docstring).

    Measured: seconds = output_tokens / output_tokens_per_second (+ prompt_tokens /
    prompt_tokens_per_second for the first sample when known).  Estimated:
    seconds = 2 x parameters x tokens / (peak_tflops x 1e12 x utilisation).
    """
    rate = machine.usd_per_hour / SECONDS_PER_HOUR
    if throughput is not None:
        tps = _d(throughput.output_tokens_per_second)
        out_s = _d(output_tokens) / tps
        worst_s = _d(max_output_tokens) / tps
        pre_s = (
            _d(prompt_tokens) / _d(throughput.prompt_tokens_per_second)
            if throughput.prompt_tokens_per_second
            else Decimal(0)
        )
        formula = (
            f"local {machine.name} at {fmt_usd(machine.usd_per_hour)}/h; measured "
            f"{throughput.output_tokens_per_second:g} output tok/s "
            f"(concurrency {throughput.concurrency}) x {output_tokens:g} tokens/sample"
        )
        sources = [
            f"{machine.source} ({machine.as_of})",
            f"{throughput.source} ({throughput.as_of})",
        ]
    elif parameters is not None and parameters > 0:
        if not 0 < utilisation <= 1:
            from budget.errors import InputError

            raise InputError(f"utilisation must be in (0, 1], got {utilisation}")
        flops_per_s = _d(machine.peak_tflops) * Decimal(10) ** 12 * _d(utilisation)
        per_token_s = 2 * _d(parameters) / flops_per_s
        out_s = _d(output_tokens) * per_token_s
        worst_s = _d(max_output_tokens) * per_token_s
        pre_s = _d(prompt_tokens) * per_token_s
        formula = (
            f"local {machine.name} at {fmt_usd(machine.usd_per_hour)}/h; FLOPs estimate 2 x "
            f"{parameters:.3g} params x ({prompt_tokens} prompt once + {output_tokens:g} output) "
            f"tokens at {utilisation:.0%} of {machine.peak_tflops:g} TFLOP/s"
        )
        sources = [f"{machine.source} ({machine.as_of})", "2N FLOPs/token: Kaplan et al. 2020"]
    else:
        from budget.errors import PricingError

        raise PricingError(f"no measured throughput and no parameter count for a model on {machine.name}")
    return SampleCost(
        kind="local_machine",
        first=(pre_s + out_s) * rate,
        repeat=out_s * rate,
        worst_first=(pre_s + worst_s) * rate,
        worst_repeat=worst_s * rate,
        formula=formula,
        sources=sources,
    )
