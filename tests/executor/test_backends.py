"""Backends at their edges: litellm against the stub (real HTTP), error translation, vLLM guard."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.stub_server import FaultMix, StubServer

from budget.errors import InputError, RequestRejectedError, TransientBackendError
from budget.executor.backends.base import parse_retry_after, status_error
from budget.executor.backends.openai_server import OpenAIServerBackend, normalise_base_url
from budget.executor.records import ChatMessage, GenerationRequest, Mode, Prompt

CHAT = Prompt(mode=Mode.CHAT, messages=(ChatMessage(role="user", content="Say something."),))


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer()
    server.start_in_thread()
    yield server
    server.stop()


def test_retry_after_and_statuses() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    err = status_error(429, {"retry-after": "2"}, "slow down", where="x")
    assert isinstance(err, TransientBackendError) and err.retry_after_s == 2.0 and not err.maybe_billed
    assert isinstance(status_error(400, {}, "bad", where="x"), RequestRejectedError)
    assert isinstance(status_error(503, {}, "", where="x"), TransientBackendError)


def test_base_url() -> None:
    assert normalise_base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/v1"
    assert normalise_base_url("http://h:1/v1/") == "http://h:1/v1"
    with pytest.raises(InputError):
        normalise_base_url("localhost:8080")


@pytest.mark.parametrize(("fault", "maybe_billed"), [("malformed", True), ("drop", True), ("p500", False)])
def test_server_faults_are_transient(fault: str, maybe_billed: bool) -> None:
    server = StubServer(faults=FaultMix(**{fault: 1.0}))
    server.start_in_thread()
    backend = OpenAIServerBackend(server.url)
    request = GenerationRequest(model="stub", prompt=CHAT, max_tokens=10, timeout_s=5)

    async def go() -> None:
        try:
            await backend.generate(request)
        finally:
            await backend.aclose()

    try:
        with pytest.raises(TransientBackendError) as info:
            asyncio.run(go())
    finally:
        server.stop()
    assert info.value.maybe_billed is maybe_billed


def test_litellm_backend_against_stub(stub: StubServer) -> None:
    from budget.executor.backends.litellm_api import LiteLLMBackend

    backend = LiteLLMBackend("openai/stub", api_base=stub.url, max_n=2, extra={"api_key": "sk-local-test"})
    request = GenerationRequest(model="openai/stub", prompt=CHAT, n=2, max_tokens=50, seed=1, timeout_s=10)
    generation = asyncio.run(backend.generate(request))
    assert [c.text for c in generation.choices] == ["I am a stub model. 42"] * 2
    # the stub counts 12 tokens per choice (6 words/numbers, 1 full stop, 5 spaces); usage is the total
    assert sum(c.output_tokens for c in generation.choices) == stub.stats.billed_completion_tokens == 24
    assert generation.prompt_tokens == stub.stats.billed_prompt_tokens > 0


def test_litellm_rate_limit_is_transient_with_retry_after() -> None:
    from budget.executor.backends.litellm_api import LiteLLMBackend

    server = StubServer(faults=FaultMix(p429=1.0, retry_after="7"))
    server.start_in_thread()
    try:
        backend = LiteLLMBackend(
            "openai/stub", api_base=server.url, max_n=1, extra={"api_key": "sk-local-test"}
        )
        request = GenerationRequest(model="openai/stub", prompt=CHAT, max_tokens=5, timeout_s=10)
        with pytest.raises(TransientBackendError) as info:
            asyncio.run(backend.generate(request))
    finally:
        server.stop()
    assert info.value.retry_after_s == 7.0
    assert server.stats.requests == 1  # litellm's own retries are off: the runner retries


def test_litellm_import_sets_local_cost_map() -> None:
    import os

    from budget.executor.backends.litellm_api import import_litellm

    import_litellm()
    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_backend_needs_the_extra() -> None:
    from budget.executor.backends.vllm_offline import VLLMOfflineBackend

    with pytest.raises(InputError, match=r"budget\[vllm\]"):
        VLLMOfflineBackend("Qwen/Qwen2.5-Coder-0.5B-Instruct")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs the vllm extra and a GPU")
def test_vllm_sampling_params_one_request_per_problem() -> None:
    from budget.executor.backends.vllm_offline import VLLMOfflineBackend

    backend = VLLMOfflineBackend("Qwen/Qwen2.5-Coder-0.5B-Instruct")
    request = GenerationRequest(
        model="m",
        prompt=Prompt(mode=Mode.COMPLETION, text="def f():", stop=("\ndef ",)),
        n=5,
        max_tokens=8,
        seed=3,
    )
    params = backend.sampling_params(request)
    assert (params.n, params.seed, params.max_tokens, params.stop) == (5, 3, 8, ["\ndef "])


@pytest.mark.parametrize(
    ("model", "n"),
    [("gpt-4o", 8), ("anthropic/claude-3-5-sonnet-20240620", 1), ("claude-3-5-sonnet-20240620", 1)],
)
def test_litellm_uses_n_where_the_provider_has_it(model: str, n: int) -> None:
    from budget.executor.backends.litellm_api import LiteLLMBackend

    assert LiteLLMBackend(model).max_n == n  # Anthropic has no n: one request per sample


def test_stub_server_runs_as_a_module() -> None:
    import subprocess
    import sys

    import httpx

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.stub_server",
            "--port",
            "0",
            "--p429",
            "1",
            "--retry-after",
            "3",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        base = line.split("listening on ", 1)[1].strip()
        assert httpx.get(f"{base}/health", timeout=10).json() == {"status": "ok"}
        r = httpx.post(f"{base}/v1/completions", json={"prompt": "x", "max_tokens": 5}, timeout=10)
        assert r.status_code == 429 and r.headers["retry-after"] == "3"
        assert httpx.get(f"{base}/stats", timeout=10).json()["faults"]["429"] == 1
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
