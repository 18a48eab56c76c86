"""Hosted APIs through litellm (OpenAI, Anthropic, DeepSeek, Gemini, ...).

litellm is imported lazily, on the first request, after setting
``LITELLM_LOCAL_MODEL_COST_MAP=True`` so that importing it fetches nothing from the network.
litellm's own retries are switched off (``num_retries=0``): the runner retries, under the
budget's reservations.  ``n`` samples go in one request where litellm says the provider
takes ``n`` (``get_supported_openai_params``); elsewhere (Anthropic) one request per sample.

Provider errors become budget errors here, at the edge: rate limits, timeouts, connection and
server errors are transient (with ``Retry-After`` when the provider sent one, bounded by the
request timeout; a reply litellm could not read counts as billed: ``maybe_billed``); bad requests,
unknown models, context overflows and content-policy refusals are rejections; authentication
failures are backend errors the user must fix.

Per-choice output tokens: providers report the total over the ``n`` choices; it is split in
proportion to each choice's length in characters (exact for ``n = 1``), never clamped to
``max_tokens``; usage that is missing or impossible is charged as the worst case, and either
is a provider fault (:mod:`budget.executor.backends.usage`).

**Where requests go.**  With ``api_base`` (``--api-base``) every request goes there and nowhere
else: before each request the destination litellm resolves for the model
(``litellm.get_llm_provider``) and every destination-bearing argument (``api_base``,
``base_url``) must name the configured scheme, host and port, else the request is refused
(:class:`~budget.errors.BackendError`) before anything is sent, so no prompt and no key leaves
for a host the user did not configure.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from budget.errors import BackendError, RequestRejectedError, TransientBackendError
from budget.executor.backends.base import parse_retry_after
from budget.executor.backends.usage import judge
from budget.executor.records import Generation, GenerationRequest, Mode

#: Arguments of a litellm call that name where it is sent.
DESTINATION_KEYS = ("api_base", "base_url")


def import_litellm() -> Any:
    """Import litellm without letting it fetch its price map from the network."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def supports_n(model: str) -> bool:
    """Whether litellm passes ``n`` to this model's provider."""
    litellm = import_litellm()
    try:
        params = litellm.get_supported_openai_params(model=model) or []
    except Exception:  # unknown provider mapping: be safe, one sample per request
        return False
    return "n" in params


def _origin(url: str) -> tuple[str, str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _from_server(exc: BaseException) -> bool:
    """Whether the error status came from the server (a response with headers), not from
    litellm itself: litellm reports a reply it could not read (broken JSON, nonsense usage) as
    a 500 of its own making, a response without headers.  Such a reply was served, so billed.
    """
    return bool(getattr(getattr(exc, "response", None), "headers", None))


def translate_error(exc: BaseException, where: str, *, retry_after_limit_s: float = math.inf) -> BackendError:
    """A litellm (or OpenAI SDK) exception as a budget error."""
    litellm = import_litellm()
    message = f"{where}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    transient = (
        litellm.RateLimitError,
        litellm.Timeout,
        litellm.APIConnectionError,
        litellm.ServiceUnavailableError,
        litellm.InternalServerError,
    )
    rejected = (
        litellm.BadRequestError,
        litellm.NotFoundError,
        litellm.ContextWindowExceededError,
        litellm.ContentPolicyViolationError,
        litellm.UnprocessableEntityError,
    )
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return BackendError(message)
    if isinstance(exc, rejected):
        return RequestRejectedError(message)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, transient) or status in (408, 429, 500, 502, 503, 504, 529):
        headers: Any = getattr(getattr(exc, "response", None), "headers", None) or {}
        try:
            retry_after = parse_retry_after(headers.get("retry-after"), limit_s=retry_after_limit_s)
        except AttributeError:
            retry_after = None
        connection = isinstance(exc, litellm.APIConnectionError)
        maybe = (
            isinstance(exc, litellm.Timeout)
            or (connection and "connect" not in str(exc).lower())
            or (not connection and not _from_server(exc))
        )
        return TransientBackendError(message, retry_after_s=retry_after, maybe_billed=maybe)
    if isinstance(exc, litellm.APIError) and isinstance(status, int) and status < 500:
        return RequestRejectedError(message)
    return TransientBackendError(message, maybe_billed=True)


class LiteLLMBackend:
    """A hosted model through litellm."""

    def __init__(
        self,
        model: str,
        *,
        concurrency: int = 8,
        max_n: int | None = None,
        api_base: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.name = f"litellm:{model}"
        self.concurrency = max(1, concurrency)
        self.api_base = api_base
        self.extra = dict(extra or {})
        self._max_n = max_n

    @property
    def max_n(self) -> int:
        """Samples per request: 8 where litellm says the provider takes ``n``, else 1."""
        if self._max_n is None:
            self._max_n = 8 if supports_n(self.model) else 1
        return self._max_n

    async def open(self) -> None:
        """Import litellm (with its local price table) and settle ``max_n``."""
        import_litellm()
        _ = self.max_n

    async def aclose(self) -> None:
        """Nothing to release (litellm keeps no client per backend)."""
        return None

    def kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        """The arguments of litellm's completion call for ``request``."""
        kw: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "timeout": request.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            **self.extra,
        }
        if request.n > 1:
            kw["n"] = request.n
        if request.seed is not None:
            kw["seed"] = request.seed
        if request.prompt.stop:
            kw["stop"] = list(request.prompt.stop)
        if self.api_base:
            kw["api_base"] = self.api_base
        return kw

    def check_destination(self, kw: dict[str, Any]) -> None:
        """Refuse a call that would go anywhere but ``api_base`` (see module docstring)."""
        if not self.api_base:
            return
        want = _origin(self.api_base)
        where = [str(kw[k]) for k in DESTINATION_KEYS if kw.get(k)]
        litellm = import_litellm()
        try:
            resolved = litellm.get_llm_provider(model=self.model, api_base=kw.get("api_base"))
        except Exception as exc:
            raise BackendError(f"{self.name}: litellm cannot route {self.model!r}: {exc}") from exc
        if resolved[3]:
            where.append(str(resolved[3]))
        for url in where:
            if _origin(url) != want:
                raise BackendError(
                    f"{self.name}: refused to send a request to {url} (only --api-base {self.api_base} "
                    "is allowed)"
                )

    async def generate(self, request: GenerationRequest) -> Generation:
        """Send ``request`` through litellm; its reply, or a budget error (billed or not)."""
        litellm = import_litellm()
        kw = self.kwargs(request)
        self.check_destination(kw)
        started = time.monotonic()
        try:
            if request.prompt.mode is Mode.COMPLETION:
                response = await litellm.atext_completion(prompt=request.prompt.text, **kw)
            else:
                messages = [{"role": m.role, "content": m.content} for m in request.prompt.messages]
                response = await litellm.acompletion(messages=messages, **kw)
        except BackendError:
            raise
        except Exception as exc:
            raise translate_error(exc, self.name, retry_after_limit_s=request.timeout_s) from exc
        latency = time.monotonic() - started
        return self.parse(response, request, latency)

    def parse(self, response: Any, request: GenerationRequest, latency: float) -> Generation:
        """The response from litellm as a :class:`Generation`, usage judged at the edge."""
        try:
            texts: list[str] = []
            reasons: list[str] = []
            for c in response.choices:
                text = c.text if request.prompt.mode is Mode.COMPLETION else c.message.content
                texts.append(text or "")
                reasons.append(str(getattr(c, "finish_reason", "") or ""))
            usage = getattr(response, "usage", None)
            details = getattr(usage, "prompt_tokens_details", None)
            cached = getattr(details, "cached_tokens", None) if details is not None else None
        except (AttributeError, TypeError, ValueError) as exc:
            raise TransientBackendError(
                f"{self.name}: reply without choices/usage ({exc})", maybe_billed=True
            ) from exc
        if len(texts) < request.n:
            raise TransientBackendError(
                f"{self.name}: asked for {request.n} choices, got {len(texts)}", maybe_billed=True
            )
        return judge(
            request,
            texts,
            reasons,
            getattr(usage, "prompt_tokens", None),
            getattr(usage, "completion_tokens", None),
            cached,
            None,
            latency=latency,
        )
