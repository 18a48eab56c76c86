"""What ``budget run`` and ``budget calibrate`` ask for, and what a run reports back."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from budget import SCHEMA_VERSION
from budget.errors import InputError
from budget.money import USD, usd

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
    samples: int | None = Field(default=None, gt=0)
    api_base: str | None = None
    prices: list[str] = Field(default_factory=list)
    machine: str | None = None
    mode: Literal["completion", "chat"] = "completion"
    seed: int = 0
    max_tokens: int = Field(default=512, gt=0)
    temperature: float = Field(default=0.8, ge=0)
    concurrency: int = Field(default=8, gt=0, le=1024)
    backend: Literal["auto", "litellm", "server", "vllm"] = "auto"
    verify: VerifyTiers = "both"
    unsafe_no_sandbox: bool = False
    db: str | None = None

    @classmethod
    def parse(cls, dollars: str | None = None, **kw: Any) -> Self:
        """Validate ``kw`` with ``dollars`` (a command-line string) as exact, positive USD."""
        amount = None
        if dollars is not None:
            amount = usd(dollars, what="--dollars")
            if amount <= 0:
                raise InputError(f"--dollars must be positive, got {dollars}")
        return cls.model_validate({"dollars": amount, **kw})

    def sampling(self) -> dict[str, Any]:
        """These shared settings as keyword arguments (to build another request from them)."""
        return self.model_dump(include=set(SamplingOptions.model_fields))


class RunRequest(SamplingOptions):
    """What ``budget run`` asks for (stored with the run, so a resume can repeat it)."""

    policy: Literal["fixed", "until-pass"] | None = None  # None: the plan's, else fixed
    top_p: float = Field(default=0.95, gt=0, le=1)
    n_per_request: int | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=8, gt=0)
    backoff_base_s: float = Field(default=0.5, ge=0)
    verify_workers: int = Field(default=2, gt=0)
    plan_file: Path | None = None
    resume: str | None = None
    store_completions: bool = True


class ModelResult(BaseModel):
    model: str
    samples: int
    problems_solved: int
    spent: USD
    failed_samples: int = 0
    retries: int = 0


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


ProgressCallback = Callable[["Progress"], None]
