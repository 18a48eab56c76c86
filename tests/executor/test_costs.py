"""Cost models: exact micro-dollar charges, worst cases that bound them, busy-time shares."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.errors import InputError
from budget.executor.costs import (
    BusyClock,
    MachineTimeCost,
    TokenCost,
    parse_price,
    prompt_token_bound,
    split_micro,
)
from budget.executor.records import ChatMessage, Choice, Generation, GenerationRequest, Mode, Prompt
from budget.pricing import MachinePrice


def _request(text: str, n: int = 1, max_tokens: int = 100, mode: Mode = Mode.COMPLETION) -> GenerationRequest:
    if mode is Mode.CHAT:
        prompt = Prompt(mode=mode, messages=(ChatMessage(role="user", content=text),))
    else:
        prompt = Prompt(mode=mode, text=text)
    return GenerationRequest(model="m", prompt=prompt, n=n, max_tokens=max_tokens, timeout_s=10)


@given(total=st.integers(0, 10**9), weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_split_adds_up(total: int, weights: list[int]) -> None:
    parts = split_micro(total, [Decimal(w) for w in weights])
    assert sum(parts) == total and all(p >= 0 for p in parts)
    if sum(weights) > 0:  # each part within one micro-dollar of its exact share
        for p, w in zip(parts, weights, strict=True):
            assert abs(p - Decimal(total) * w / sum(weights)) < 1


def test_token_charge_golden() -> None:
    # gpt-4o-mini-like prices: $0.15 / $0.60 per million tokens.
    cost = TokenCost(parse_price("m=0.15,0.60"))
    gen = Generation(
        choices=(Choice(text="a", output_tokens=100), Choice(text="b", output_tokens=300)),
        prompt_tokens=1000,
        latency_s=0.1,
    )
    charge = cost.charge(gen)
    # 1000 x 0.15e-6 + 400 x 0.60e-6 = 0.00015 + 0.00024 = $0.00039 = 390 micro-dollars
    assert charge.total_micro == 390
    # shares: 75 + 60 = 135 and 75 + 180 = 255 micro-dollars
    assert charge.per_choice == (135, 255)


@given(
    text=st.text(max_size=300),
    n=st.integers(1, 8),
    outs=st.lists(st.integers(0, 64), min_size=8, max_size=8),
    chat=st.booleans(),
)
def test_worst_case_bounds_actual(text: str, n: int, outs: list[int], chat: bool) -> None:
    cost = TokenCost(parse_price("m=3,15"))
    req = _request(text, n=n, max_tokens=64, mode=Mode.CHAT if chat else Mode.COMPLETION)
    # any real tokenizer emits at most one token per byte (plus template tokens)
    gen = Generation(
        choices=tuple(Choice(text="x", output_tokens=o) for o in outs[:n]),
        prompt_tokens=len(text.encode()),
        latency_s=0,
    )
    assert cost.charge(gen).total_micro <= cost.worst_case_micro(req)
    assert prompt_token_bound(req) >= len(text.encode())


def test_busy_clock_splits_busy_time() -> None:
    now = [0.0]
    clock = BusyClock(lambda: now[0])
    a = clock.enter()  # t=0: a alone
    now[0] = 2.0
    b = clock.enter()  # t=2..6: a and b share
    now[0] = 6.0
    sa = clock.leave(a)
    now[0] = 7.0  # b alone
    sb = clock.leave(b)
    now[0] = 10.0  # idle: not charged
    c = clock.enter()
    now[0] = 11.0
    sc = clock.leave(c)
    assert (sa, sb, sc) == (4.0, 3.0, 1.0)
    assert clock.busy_s == 8.0 == sa + sb + sc


def test_machine_cost() -> None:
    machine = MachinePrice(name="box", usd_per_hour=Decimal("3.6"), peak_tflops=1, source="s", as_of="x")
    now = [0.0]
    cost = MachineTimeCost(machine, BusyClock(lambda: now[0]))
    meter = cost.start()
    now[0] = 10.0
    gen = Generation(
        choices=(Choice(text="a", output_tokens=10), Choice(text="b", output_tokens=30)),
        prompt_tokens=5,
        latency_s=10,
    )
    charge = meter.stop(gen)
    # $3.6/h = $0.001/s; 10 s = $0.01 = 10,000 micro, split 1:3 by output tokens
    assert charge.total_micro == 10_000 and charge.per_choice == (2_500, 7_500)
    # worst case: the request timeout (10 s) plus the grace, at $0.001/s
    assert cost.worst_case_micro(_request("x")) == 12_000


@pytest.mark.parametrize("spec", ["m", "m=1", "=1,2", "m=a,b", "m=1,-2", "m=1,2,3", "m=nan,1"])
def test_bad_price(spec: str) -> None:
    with pytest.raises(InputError):
        parse_price(spec)
