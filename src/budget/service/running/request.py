"""What ``budget run`` and ``budget calibrate`` ask for, and what a run reports back."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from budget import SCHEMA_VERSION
from budget.errors import InputError
from budget.executor.records import Mode
from budget.money import USD, positive_dollars
from budget.planner.models import Policy

if TYPE_CHECKING:
    from budget.executor.runner import Progress


VerifyTiers = Literal["both", "verifier", "none"]
TIERS_OF: dict[str, tuple[str, ...]] = {
    "both": ("verifier", "ground_truth"),
    "verifier": ("verifier",),
    "none": (),
}


class SamplingOptions(BaseModel):
    """The sampling settings ``budget run`` and ``budget calibrate`` share."""

    model_config = ConfigDict(frozen=True)

    task: str | None = None
    models: list[str] = Field(default_factory=list)
    dollars: Decimal | None = None
    problems: int | None = Field(default=None, gt=0)
    #: Exactly these problems of the task (e.g. calibrate's seeded random subset); wins over ``problems``.
    problem_ids: list[str] | None = None
    samples: int | None = Field(default=None, gt=0)
    api_base: str | None = None
    #: A key taken from ``--api-base``'s userinfo: this session only, never dumped or stored.
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    prices: list[str] = Field(default_factory=list)
    machine: str | None = None
    mode: Mode = Mode.COMPLETION
    seed: int = 0
    max_tokens: int = Field(default=512, gt=0)
    temperature: float = Field(default=0.8, ge=0, le=100, allow_inf_nan=False)
    #: Requests in flight per backend; None: sized from the backend (a local server's slots).
    concurrency: int | None = Field(default=None, gt=0, le=1024)
    backend: Literal["auto", "litellm", "server", "vllm"] = "auto"
    verify: VerifyTiers = "both"
    unsafe_no_sandbox: bool = False
    db: str | None = None

    @classmethod
    def parse(cls, dollars: str | None = None, **kw: Any) -> Self:
        """Validate ``kw`` with ``dollars`` (a command-line string) as exact, positive USD."""
        amount = None if dollars is None else positive_dollars(dollars, what="--dollars")
        return cls.model_validate({"dollars": amount, **kw})

    @model_validator(mode="before")
    @classmethod
    def _credentials_out_of_the_url(cls, data: Any) -> Any:
        """``--api-base http://user:KEY@host`` -> ``api_base http://host`` and the key kept apart.

        The request is stored with the run in plain text: the key must never be part of it.  It
        is used for this session only (``api_key``, excluded from every dump); a resume takes it
        from ``--api-base`` again or from ``$BUDGET_API_KEY``.
        """
        if not isinstance(data, dict) or not isinstance(data.get("api_base"), str):
            return data
        from urllib.parse import urlsplit, urlunsplit

        try:
            parts = urlsplit(data["api_base"].strip())
            host = parts.hostname or ""
            port = parts.port
        except ValueError as exc:
            raise InputError(f"--api-base is not a URL ({exc})") from None
        if "@" not in parts.netloc:
            return data
        netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
        out = {**data, "api_base": urlunsplit(parts._replace(netloc=netloc))}
        if parts.password or parts.username:
            out.setdefault("api_key", parts.password or parts.username)
        return out

    def sampling(self) -> dict[str, Any]:
        """These shared settings as keyword arguments (to build another request from them)."""
        return {**self.model_dump(include=set(SamplingOptions.model_fields)), "api_key": self.api_key}


class RunRequest(SamplingOptions):
    """What ``budget run`` asks for (stored with the run, so a resume can repeat it)."""

    policy: Policy | None = None  # None: the plan's, else fixed
    top_p: float = Field(default=0.95, gt=0, le=1)
    n_per_request: int | None = Field(default=None, gt=0)
    #: At most a day: with --machine the timeout is also each request's reservation.  None: sized
    #: from the machine's measured throughput where known, else DEFAULT_TIMEOUT_S.
    timeout_s: float | None = Field(default=None, gt=0, le=86400, allow_inf_nan=False)
    max_attempts: int = Field(default=8, gt=0)
    backoff_base_s: float = Field(default=0.5, ge=0)
    verify_workers: int = Field(default=2, gt=0)
    plan_file: Path | None = None
    resume: str | None = None
    store_completions: bool = True


class ModelResult(BaseModel):
    """What a run bought, spent and solved for one model."""
    model: str
    samples: int
    problems_solved: int
    spent: USD
    failed_samples: int = 0
    retries: int = 0
    #: replies that broke the request's terms (usage unknown or nonsense, output past
    #: max_tokens, choices beyond n): charged as billed or as the worst case (issue 9)
    provider_faults: int = 0
    #: choices a server returned beyond n: billed and charged, not samples of the run
    extra_choices: int = 0
    fault_notes: list[str] = []


class RunResult(BaseModel):
    """The outcome of ``budget run`` (``--json`` prints it)."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    task: str
    status: str
    stop_reason: str
    cap: USD
    spent: USD
    samples: int
    problems: int
    models: list[ModelResult]
    unattributed: USD = Decimal(0)
    lost_in_flight: USD = Decimal(0)
    elapsed_s: float = 0.0
    verified: str = "both"
    db: str = ""
    error: str = ""
    #: requests in flight per backend and each request's timeout, and where they came from
    concurrency: int = 0
    concurrency_source: str = ""
    timeout_s: float = 0.0
    timeout_source: str = ""


ProgressCallback = Callable[["Progress"], None]
