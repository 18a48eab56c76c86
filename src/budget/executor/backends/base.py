"""The backend interface, and how HTTP failures map onto budget's errors.

A backend turns a :class:`~budget.executor.records.GenerationRequest` into a
:class:`~budget.executor.records.Generation` and raises only budget errors:

* :class:`~budget.errors.TransientBackendError` -- retry after a while (rate limit with its
  ``Retry-After``, server error, timeout, dropped connection, garbled reply);
* :class:`~budget.errors.RequestRejectedError` -- the request itself is refused; no retry;
* :class:`~budget.errors.BackendError` -- anything else the user must fix.

``max_n`` is the most samples one request may ask for (1 where a provider has no ``n``);
``concurrency`` how many requests may be in flight at once.  A backend that batches several
problems (vLLM data parallel, say) fits the same interface: the runner only sees requests.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from budget.errors import BackendError, RequestRejectedError, TransientBackendError
from budget.executor.records import Generation, GenerationRequest

#: HTTP statuses worth retrying: timeout, conflict, too early, rate limit, server errors.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


@runtime_checkable
class Backend(Protocol):
    """A model backend: turns a request into a generation, raising only budget errors."""
    name: str
    concurrency: int

    @property
    def max_n(self) -> int:
        """The most samples one request may ask for (``n``)."""

    async def open(self) -> None:
        """Import the client, connect, load the engine: everything before the first request."""

    async def generate(self, request: GenerationRequest) -> Generation:
        """Send one request; its reply with usage and latency."""

    async def aclose(self) -> None:
        """Release clients and engines (idempotent)."""


def parse_retry_after(
    value: str | None, *, now: float | None = None, limit_s: float = math.inf
) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date (RFC 9110, 10.2.3).

    A server's answer is bounded: at most ``limit_s`` (the request timeout: a server that
    asks for ``1e9`` s or ``inf`` is retried after the timeout, within the runner's attempts),
    at least 0; a value that is no number (NaN) is ignored.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, OverflowError, OSError):
            return None
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), limit_s)


def status_error(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    where: str,
    retry_after_limit_s: float = math.inf,
) -> BackendError:
    """The budget error for an HTTP error status (``Retry-After`` at most ``retry_after_limit_s``)."""
    snippet = " ".join(body.split())[:200]
    if status in RETRY_STATUSES:
        return TransientBackendError(
            f"{where}: HTTP {status} {snippet}".strip(),
            retry_after_s=parse_retry_after(headers.get("retry-after"), limit_s=retry_after_limit_s),
        )
    if status in (401, 403):
        return BackendError(f"{where}: HTTP {status}: not authorised ({snippet})")
    return RequestRejectedError(f"{where}: HTTP {status} {snippet}".strip())
