"""Cost models: golden values computed by hand (shown in each test) with exact arithmetic."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from budget.errors import PricingError
from budget.pricing import (
    AttemptPrice,
    MachinePrice,
    Throughput,
    TokenPrice,
    api_sample_cost,
    attempt_sample_cost,
    local_sample_cost,
)

GPT4O = TokenPrice(
    model="gpt-4o",
    input_per_mtok=Decimal("2.5"),
    output_per_mtok=Decimal("10"),
    cached_input_per_mtok=Decimal("1.25"),
    source="test",
    as_of="2026-01",
)
CPU = MachinePrice(name="cpu", usd_per_hour=Decimal("0.08925"), peak_tflops=0.2, source="t", as_of="x")
H100 = MachinePrice(name="h100", usd_per_hour=Decimal("2.99"), peak_tflops=989, source="t", as_of="x")


def test_api_cost_first_and_cached_repeat() -> None:
    c = api_sample_cost(GPT4O, prompt_tokens=1000, output_tokens=500, max_output_tokens=2000)
    # 1000 x $2.5/M + 500 x $10/M = 0.0025 + 0.005
    assert c.first == Decimal("0.0075")
    # cached prompt: 1000 x $1.25/M + 0.005
    assert c.repeat == Decimal("0.00625")
    # worst case: 2000 output tokens
    assert c.worst_first == Decimal("0.0225")
    assert c.worst_repeat == Decimal("0.02125")
    assert c.fixed_cost(0) == 0
    assert c.fixed_cost(3) == Decimal("0.0075") + 2 * Decimal("0.00625")
    assert c.worst_cost(2) == Decimal("0.0225") + Decimal("0.02125")


def test_api_cost_without_cached_price_repeats_full_price() -> None:
    p = GPT4O.model_copy(update={"cached_input_per_mtok": None})
    c = api_sample_cost(p, prompt_tokens=100, output_tokens=10, max_output_tokens=10)
    assert c.first == c.repeat == Decimal("0.00035")


def test_attempt_cost_is_the_published_figure() -> None:
    a = AttemptPrice(model="m", task="t", usd_per_attempt=Decimal("0.0072"), source="s", as_of="2024")
    c = attempt_sample_cost(a)
    assert c.first == c.repeat == c.worst_first == Decimal("0.0072")
    assert c.fixed_cost(6944) == Decimal("49.9968")


def test_local_measured_throughput() -> None:
    tp = Throughput(model="m", machine="cpu", output_tokens_per_second=105, source="t", as_of="x")
    c = local_sample_cost(CPU, prompt_tokens=500, output_tokens=300, max_output_tokens=512, throughput=tp)
    expected = Fraction("0.08925") / 3600 * Fraction(300, 105)
    assert abs(Fraction(c.repeat) - expected) < Fraction(1, 10**20)
    assert c.first == c.repeat  # no prompt rate known: prompt assumed cached
    assert c.worst_repeat > c.repeat


def test_local_flops_estimate() -> None:
    c = local_sample_cost(
        H100,
        prompt_tokens=1000,
        output_tokens=256,
        max_output_tokens=512,
        parameters=1e9,
        utilisation=0.1,
    )
    per_token_s = Fraction(2 * 10**9) / (Fraction(989) * 10**12 * Fraction(1, 10))
    rate = Fraction("2.99") / 3600
    assert abs(Fraction(c.repeat) - 256 * per_token_s * rate) < Fraction(1, 10**18)
    assert abs(Fraction(c.first) - 1256 * per_token_s * rate) < Fraction(1, 10**18)
    assert "FLOPs" in c.formula


def test_local_needs_throughput_or_parameters() -> None:
    with pytest.raises(PricingError):
        local_sample_cost(H100, prompt_tokens=1, output_tokens=1, max_output_tokens=1)



def test_one_formula_prices_tokens_for_the_planner_and_the_meter() -> None:
    """TokenPrice.cost is the one place a price and tokens make a cost: the planner's sample cost
    and the executor's charge for the same tokens agree (reference: exact fractions)."""
    from budget.executor.costs import TokenCost
    from budget.executor.records import Choice, Generation
    from budget.money import to_micro

    got = GPT4O.cost(prompt_tokens=1000, cached_prompt_tokens=300, output_tokens=90)
    per_token = Fraction(1, 10**6)
    assert Fraction(got) == per_token * (700 * Fraction(5, 2) + 300 * Fraction(5, 4) + 90 * 10)
    plan = api_sample_cost(GPT4O, prompt_tokens=1000, output_tokens=90, max_output_tokens=512)
    assert plan.first == GPT4O.cost(prompt_tokens=1000, output_tokens=90)
    assert plan.repeat == GPT4O.cost(prompt_tokens=1000, cached_prompt_tokens=1000, output_tokens=90)
    reply = Generation(choices=(Choice(text="", output_tokens=90),), prompt_tokens=1000, latency_s=0.0)
    assert TokenCost(GPT4O).charge(reply).total_micro == to_micro(plan.first, round_up=True)
    free = GPT4O.model_copy(update={"cached_input_per_mtok": Decimal(0)})  # a listed $0 is free
    assert free.cost(prompt_tokens=1000, cached_prompt_tokens=1000) == 0


def test_a_flat_cost_is_the_same_for_every_sample() -> None:
    from decimal import Decimal

    from budget.pricing import SampleCost

    flat = SampleCost.flat("measured", Decimal("0.25"), "f", sources=["s"])
    assert flat == SampleCost(
        kind="measured",
        first=Decimal("0.25"),
        repeat=Decimal("0.25"),
        worst_first=Decimal("0.25"),
        worst_repeat=Decimal("0.25"),
        formula="f",
        sources=["s"],
    )
    assert flat.fixed_cost(4) == flat.worst_cost(4) == Decimal("1.00")
