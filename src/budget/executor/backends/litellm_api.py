"""Hosted APIs through litellm (OpenAI, Anthropic, DeepSeek, Gemini, ...).

litellm is imported lazily, on the first request, after setting
``LITELLM_LOCAL_MODEL_COST_MAP=True`` so that importing it fetches nothing from the network.
litellm's own retries are switched off (``num_retries=0``): the runner retries, under the
budget's reservations.  ``n`` samples go in one request where litellm says the provider
takes ``n`` (``get_supported_openai_params``); elsewhere (Anthropic) one request per sample.

Provider errors become budget errors here, at the edge: rate limits, timeouts, connection and
server errors are transient (with ``Retry-After`` when the provider sent one); bad requests,
unknown models, context overflows and content-policy refusals are rejections; authentication
failures are backend errors the user must fix.

Per-choice output tokens: providers report the total over the ``n`` choices; it is split in
proportion to each choice's length in characters (exact for ``n = 1``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from budget.errors import BackendError, RequestRejectedError, TransientBackendError
from budget.executor.backends.base import parse_retry_after
from budget.executor.costs import split_micro
from budget.executor.records import Choice, Generation, GenerationRequest, Mode


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


def translate_error(exc: BaseException, where: str) -> BackendError:
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
            retry_after = parse_retry_after(headers.get("retry-after"))
        except AttributeError:
            retry_after = None
        maybe = isinstance(exc, litellm.Timeout) or (
            isinstance(exc, litellm.APIConnectionError) and "connect" not in str(exc).lower()
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
        if self._max_n is None:
            self._max_n = 8 if supports_n(self.model) else 1
        return self._max_n

    async def open(self) -> None:
        import_litellm()
        _ = self.max_n

    async def aclose(self) -> None:
        return None

    def kwargs(self, request: GenerationRequest) -> dict[str, Any]:
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

    async def generate(self, request: GenerationRequest) -> Generation:
        litellm = import_litellm()
        kw = self.kwargs(request)
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
            raise translate_error(exc, self.name) from exc
        latency = time.monotonic() - started
        return self.parse(response, request, latency)

    def parse(self, response: Any, request: GenerationRequest, latency: float) -> Generation:
        try:
            texts: list[str] = []
            reasons: list[str] = []
            for c in response.choices:
                text = c.text if request.prompt.mode is Mode.COMPLETION else c.message.content
                texts.append(text or "")
                reasons.append(str(getattr(c, "finish_reason", "") or ""))
            usage = response.usage
            prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
            details = getattr(usage, "prompt_tokens_details", None)
            cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
        except (AttributeError, TypeError, ValueError) as exc:
            raise TransientBackendError(
                f"{self.name}: reply without choices/usage ({exc})", maybe_billed=True
            ) from exc
        if len(texts) != request.n:
            raise TransientBackendError(f"{self.name}: asked for {request.n} choices, got {len(texts)}")
        counts = split_micro(completion_tokens, [max(1, len(t)) for t in texts])
        counts = [min(c, request.max_tokens) for c in counts]
        return Generation(
            choices=tuple(
                Choice(text=t, output_tokens=c, finish_reason=r)
                for t, c, r in zip(texts, counts, reasons, strict=True)
            ),
            prompt_tokens=prompt_tokens,
            cached_prompt_tokens=cached,
            latency_s=latency,
            token_count_source="usage split by length" if len(texts) > 1 else "usage",
        )
