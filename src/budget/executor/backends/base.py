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
import time
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from budget.errors import BackendError, RequestRejectedError, TransientBackendError
from budget.executor.records import Generation, GenerationRequest

#: HTTP statuses worth retrying: timeout, conflict, too early, rate limit, server errors.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


@runtime_checkable
class Backend(Protocol):
    name: str
    concurrency: int

    @property
    def max_n(self) -> int: ...

    async def open(self) -> None:
        """Import the client, connect, load the engine: everything before the first request."""

    async def generate(self, request: GenerationRequest) -> Generation: ...

    async def aclose(self) -> None: ...


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date (RFC 9110, 10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def status_error(status: int, headers: Mapping[str, str], body: str, *, where: str) -> BackendError:
    """The budget error for an HTTP error status."""
    snippet = " ".join(body.split())[:200]
    if status in RETRY_STATUSES:
        return TransientBackendError(
            f"{where}: HTTP {status} {snippet}".strip(),
            retry_after_s=parse_retry_after(headers.get("retry-after")),
        )
    if status in (401, 403):
        return BackendError(f"{where}: HTTP {status}: not authorised ({snippet})")
    return RequestRejectedError(f"{where}: HTTP {status} {snippet}".strip())
