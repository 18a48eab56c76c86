"""A lying server (issue 9, items 1 and 4-7): what the provider reports is judged at the edge.

The oracle is the stub server's own bill (the tokens it generated, whatever its ``usage``
says), never budget's record.  At PRICE = $3/$15 per million tokens a prompt token costs 3 and
an output token 15 micro-dollars, so the bill is exact in micro-dollars:
``bill = 3 x billed_prompt_tokens + 15 x billed_completion_tokens``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from tests.fakes.stub_server import BAD_COUNTS, BAD_FIELDS, FaultMix, Stats, StubServer

from budget.errors import TransientBackendError
from budget.executor.backends.base import parse_retry_after, status_error
from budget.executor.backends.openai_server import OpenAIServerBackend
from budget.executor.costs import TokenCost, parse_price
from budget.executor.records import ChatMessage, Generation, GenerationRequest, Mode, Prompt

PRICE = "stub=3,15"
CHAT = Prompt(mode=Mode.CHAT, messages=(ChatMessage(role="user", content="Say something."),))
COST = TokenCost(parse_price(PRICE))


def bill_micro(stats: Stats) -> int:
    return 3 * stats.billed_prompt_tokens + 15 * stats.billed_completion_tokens


def generate(
    server: StubServer, request: GenerationRequest, *, backend: str = "server"
) -> Generation:
    if backend == "server":
        b: Any = OpenAIServerBackend(server.url, max_n=request.n)
    else:
        from budget.executor.backends.litellm_api import LiteLLMBackend

        b = LiteLLMBackend(
            "openai/stub", api_base=server.url, max_n=request.n, extra={"api_key": "sk-local"}
        )

    async def go() -> Generation:
        try:
            return await b.generate(request)
        finally:
            await b.aclose()

    return asyncio.run(go())


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[StubServer] = []

    def start(**kw: Any) -> StubServer:
        server = StubServer(**kw)
        server.start_in_thread()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


def request(n: int = 1, max_tokens: int = 20) -> GenerationRequest:
    return GenerationRequest(model="stub", prompt=CHAT, n=n, max_tokens=max_tokens, seed=1, timeout_s=10)


# --- item 1: missing or implausible usage is unknown usage, charged at the reservation ----------
@pytest.mark.parametrize("backend", ["server", "litellm"])
@pytest.mark.parametrize("n", [1, 3])
def test_missing_usage_is_charged_the_reservation(serve: Any, backend: str, n: int) -> None:
    server = serve(faults=FaultMix(no_usage=1.0))
    req = request(n=n)
    generation = generate(server, req, backend=backend)
    assert generation.fault  # a provider fault, said
    charged = COST.charge(generation).total_micro
    assert charged == COST.worst_case_micro(req)  # unknown usage: the reservation
    assert charged >= bill_micro(server.stats) > 0


@pytest.mark.parametrize("n", [1, 3])
def test_zero_usage_and_empty_tokenize_is_unknown_usage(serve: Any, n: int) -> None:
    server = serve(faults=FaultMix(zero_usage=1.0, empty_tokenize=True))
    req = request(n=n)
    generation = generate(server, req)
    assert generation.fault
    assert COST.charge(generation).total_micro == COST.worst_case_micro(req) >= bill_micro(server.stats)


def test_unknown_usage_of_a_visibly_overlong_reply_charges_its_recount() -> None:
    from budget.executor.backends.usage import judge

    req = request(n=1, max_tokens=20)
    generation = judge(req, ["x " * 500], ["length"], None, None, None, [1000], latency=0.0)
    assert generation.fault and generation.choices[0].output_tokens == 1000
    assert COST.charge(generation).total_micro > COST.worst_case_micro(req)


# --- item 5: output past max_tokens is recorded as reported, and a provider fault --------------
@pytest.mark.parametrize(
    ("backend", "n", "llama"),
    [("server", 1, False), ("server", 3, False), ("server", 3, True), ("litellm", 1, False),
     ("litellm", 3, False)],
)  # fmt: skip
def test_overlong_reply_is_recorded_as_reported(serve: Any, backend: str, n: int, llama: bool) -> None:
    server = serve(faults=FaultMix(overlong=1.0), llama_usage=llama)
    req = request(n=n)
    generation = generate(server, req, backend=backend)
    assert sum(c.output_tokens for c in generation.choices) == server.stats.billed_completion_tokens
    assert server.stats.billed_completion_tokens == 5 * n * req.max_tokens
    assert "max_tokens" in generation.fault
    assert COST.charge(generation).total_micro >= bill_micro(server.stats) > COST.worst_case_micro(req)


# --- item 6: extra choices are billed, so charged, and counted ------------------------------------
@pytest.mark.parametrize("backend", ["server", "litellm"])
@pytest.mark.parametrize("n", [1, 2])
def test_extra_choices_are_charged_and_kept(serve: Any, backend: str, n: int) -> None:
    server = serve(faults=FaultMix(extra_choices=1.0))
    req = request(n=n)
    generation = generate(server, req, backend=backend)
    assert len(generation.choices) == n + 2 and "choices" in generation.fault
    assert COST.charge(generation).total_micro >= bill_micro(server.stats) > 0


def test_extra_choices_without_usage_charge_each_at_max_tokens(serve: Any) -> None:
    server = serve(faults=FaultMix(extra_choices=1.0))
    req = request(n=1)
    generation = generate(server, req)
    # same reply without usage: the bill may be up to max_tokens per returned choice
    from budget.executor.backends.usage import judge

    texts = [c.text for c in generation.choices]
    unknown = judge(req, texts, ["stop"] * 3, None, None, 0, None, latency=0.0, source="usage")
    assert unknown.fault and [c.output_tokens for c in unknown.choices] == [req.max_tokens] * 3
    assert COST.charge(unknown).total_micro > COST.worst_case_micro(req)


@pytest.mark.parametrize(
    ("faults", "billed"),
    [(FaultMix(p500=1.0), False), (FaultMix(malformed=1.0), True), (FaultMix(bad_usage=1.0), True)],
    ids=["500", "malformed", "bad_usage"],
)
def test_litellm_unreadable_reply_counts_as_billed(
    serve: Any, faults: FaultMix, billed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """litellm reports a reply it cannot read as a 500 of its own: that reply was served (and
    billed), unlike the server's own 500."""
    import tests.fakes.stub_server as stub

    monkeypatch.setattr(stub, "BAD_COUNTS", (float("inf"),))  # litellm refuses this reply
    server = serve(faults=faults)
    with pytest.raises(TransientBackendError) as info:
        generate(server, request(), backend="litellm")
    assert info.value.maybe_billed is billed


# --- item 7: nonsense numbers are a provider fault charged at the reservation; never a crash ----
@pytest.mark.parametrize("field", BAD_FIELDS)
@pytest.mark.parametrize("value", BAD_COUNTS, ids=repr)
@pytest.mark.parametrize("n", [1, 3])
def test_nonsense_usage_is_charged_the_reservation(serve: Any, field: str, value: object, n: int) -> None:
    server = serve()
    req = request(n=n)
    doc = _reply_with(server, req, field, value)
    backend = OpenAIServerBackend(server.url, max_n=n)

    async def go() -> Generation:
        try:
            return await backend._parse(doc, req, 0.1)
        finally:
            await backend.aclose()

    generation = asyncio.run(go())
    charged = COST.charge(generation).total_micro
    assert generation.fault and charged == COST.worst_case_micro(req)
    assert all(c.output_tokens >= 0 for c in generation.choices) and generation.prompt_tokens >= 0


def _reply_with(server: StubServer, req: GenerationRequest, field: str, value: object) -> dict[str, Any]:
    import httpx

    url = server.url + "/chat/completions"
    body = {"model": "stub", "n": req.n, "max_tokens": req.max_tokens, "seed": 1,
            "messages": [{"role": "user", "content": "Say something."}]}  # fmt: skip
    doc: dict[str, Any] = httpx.post(url, json=body, timeout=10).json()
    doc["usage"][field] = value
    return doc


@pytest.mark.parametrize(
    "value", ["1e9", "inf", "Infinity", "nan", "-3", "1e999", "Fri, 31 Dec 9999 23:59:59 GMT"]
)
def test_retry_after_is_bounded_by_the_timeout(value: str) -> None:
    seconds = parse_retry_after(value, limit_s=5.0)
    assert (seconds is None and value == "nan") or (seconds is not None and 0 <= seconds <= 5.0)
    err = status_error(429, {"retry-after": value}, "", where="x", retry_after_limit_s=5.0)
    assert isinstance(err, TransientBackendError) and err.retry_after_s == seconds


@pytest.mark.parametrize("value", ["1e9", "inf"])
@pytest.mark.parametrize("backend", ["server", "litellm"])
def test_backends_bound_retry_after_by_the_request_timeout(serve: Any, value: str, backend: str) -> None:
    server = serve(faults=FaultMix(p429=1.0, retry_after=value))
    with pytest.raises(TransientBackendError) as info:
        generate(server, request(), backend=backend)
    assert info.value.retry_after_s is not None and info.value.retry_after_s <= 10.0  # request timeout


# --- item 4: --backend litellm goes where --api-base points, and nowhere else --------------------
@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host name resolved; any host but the loopback is refused (no internet in tests)."""
    seen: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        seen.append(str(host))
        if str(host) not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(f"test: lookup of {host} refused")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


def test_litellm_backend_honours_api_base(
    serve: Any, lookups: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from budget.service.running.backends import _backends
    from budget.service.running.request import RunRequest

    canary = "sk-canary-7f3e"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    server = serve()
    run = RunRequest.model_construct(
        backend="litellm", api_base=server.url, concurrency=1, n_per_request=1
    )
    backend = _backends(run, ["gpt-4o-mini"])["gpt-4o-mini"]
    generation = asyncio.run(backend.generate(request()))
    assert generation.choices and server.stats.requests == 1
    assert server.stats.authorizations == [f"Bearer {canary}"]  # the key went where it was pointed
    assert set(lookups) <= {"127.0.0.1", "localhost", "::1"}  # and nowhere else


def test_litellm_backend_refuses_a_host_it_was_not_pointed_at(
    serve: Any, lookups: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever litellm's routing does, a request for another host never leaves."""
    from budget.errors import BackendError
    from budget.executor.backends.litellm_api import LiteLLMBackend

    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-7f3e")
    server = serve()
    backend = LiteLLMBackend("gpt-4o-mini", api_base=server.url, max_n=1)
    # litellm told (by an extra argument) to go elsewhere: refused before any lookup
    backend.extra["base_url"] = "https://api.openai.com/v1"
    backend.extra["api_base"] = "https://api.openai.com/v1"
    with pytest.raises(BackendError, match=r"api\.openai\.com"):
        asyncio.run(backend.generate(request()))
    assert "api.openai.com" not in lookups and server.stats.requests == 0
