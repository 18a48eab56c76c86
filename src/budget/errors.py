"""The one error tree of budget.

Every error a user can cause (bad input, unknown names, unusable data, a missing
sandbox) is a ``BudgetError``.  The CLI prints ``str(error)`` on one line to stderr and
exits with ``error.exit_code``; it never shows a traceback for these.
"""

from __future__ import annotations

from collections.abc import Sequence


class BudgetError(Exception):
    """Base class: a failure the user can understand and act on."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class InputError(BudgetError):
    """A value given on the command line or in a request is invalid."""

    exit_code = 2


class UnknownNameError(InputError):
    """A model, task, machine or verifier name that budget does not know."""

    def __init__(self, kind: str, name: str, known: Sequence[str], context: str = "") -> None:
        import difflib

        names = list(dict.fromkeys(known))
        needle = name.lower()
        close = [k for k in names if needle and needle in k.lower()][:3]
        close += [k for k in difflib.get_close_matches(name, names, n=3, cutoff=0.5) if k not in close]
        close = close[:3]
        where = f" ({context})" if context else ""
        if close:
            hint = f"; did you mean {', '.join(close)}?"
        elif names and len(names) <= 12:
            hint = f"; known: {', '.join(sorted(names))}"
        else:
            hint = ""
        super().__init__(f"unknown {kind} {name!r}{where}{hint}")
        self.kind = kind
        self.name = name
        self.close_matches = close


class DataError(BudgetError):
    """A data file (counts, samples, price table, catalog) is malformed or empty."""

    exit_code = 3


class PricingError(BudgetError):
    """No usable price for a model, or an inconsistent price table."""

    exit_code = 3


class PlanningError(BudgetError):
    """The planner cannot produce a plan (for example, the budget buys nothing)."""

    exit_code = 4


class SandboxError(BudgetError):
    """Generated code cannot be executed safely."""

    exit_code = 5


class StoreError(BudgetError):
    """The results store cannot be opened or is from another schema version."""

    exit_code = 6


class BackendError(BudgetError):
    """A model backend (API, local server, vLLM) failed in a way budget reports."""

    exit_code = 7


class TransientBackendError(BackendError):
    """A failure worth retrying (rate limit, 5xx, timeout, dropped connection, garbled reply).

    ``retry_after_s`` is the server's ``Retry-After`` when it sent one; ``maybe_billed`` says
    the request may have been processed (and billed) although no usable reply came back (a
    timeout, a connection dropped mid-reply, a garbled reply).
    """

    def __init__(
        self, message: str, *, retry_after_s: float | None = None, maybe_billed: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.maybe_billed = maybe_billed


class RequestRejectedError(BackendError):
    """The backend refused the request itself (bad request, unknown model, auth): no retry."""


class BudgetExhaustedError(BudgetError):
    """The hard spending cap leaves no room for another request."""

    exit_code = 8


class LocalModelError(BackendError):
    """The local model server cannot be installed, started or stopped (``budget local``)."""


class RunFailedError(BackendError):
    """A run that ended without buying anything it could use.

    Every request failed or was rejected, or the backend stopped it.  ``result`` is its summary
    (status ``failed``, with the reason in ``error``), already recorded in the store, for the CLI
    to show before the error.
    """

    def __init__(self, message: str, result: object) -> None:
        super().__init__(message)
        self.result = result


class RunBusyError(BudgetError):
    """Another budget process holds the run (its lease in the store): one run has one ledger."""

    exit_code = 9
