"""What goes into and comes out of the store: pydantic records, no SQL.

The executor builds :class:`SampleRecord` and :class:`PriceSnapshot`; the store turns them
into rows.  These models import nothing heavy, so any layer may use them.

Money is exact: costs are ``Decimal`` dollars here and both an exact decimal string and
integer micro-dollars (rounded half-even, for SQL sums) in the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from budget.pricing.model import MachinePrice

from budget.curves import CoverageCurve
from budget.verify.protocol import Verdict

#: The tier name a sample's verdict gets when the verifier has only one tier.
DEFAULT_TIER = "verifier"


def utcnow() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(UTC)


class RunStatus(StrEnum):
    """Where a run stands: created, running, interrupted, finished or failed."""
    CREATED = "created"
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    FINISHED = "finished"
    FAILED = "failed"


class SampleKey(NamedTuple):
    """What identifies a sample: writes keyed on it are idempotent."""

    run_id: str
    model: str
    problem_id: str
    sample_index: int


class ProblemRecord(BaseModel):
    """A problem of a task as the store keeps it (its prompt, or only the prompt's hash)."""

    model_config = ConfigDict(frozen=True)

    problem_id: str
    prompt_hash: str = ""
    prompt: str | None = None


class RunRecord(BaseModel):
    """A run: what was asked (plan, settings), its cap, what it spent and where it stands."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    task: str
    models: list[str] = Field(default_factory=list)
    status: RunStatus = RunStatus.CREATED
    cap: Decimal | None = None
    spent: Decimal = Decimal(0)
    plan: dict[str, Any] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    budget_version: str = ""
    note: str = ""


class SampleRecord(BaseModel):
    """One completed sample with its cost and its verdicts (tier name -> verdict).

    Keep ``completion`` (the text) or only ``completion_hash`` (for private data); the
    store computes the hash when it is missing.
    """

    model_config = ConfigDict(frozen=True)

    run_id: str
    model: str
    problem_id: str
    sample_index: int = Field(ge=0)
    task: str = ""
    seed: int | None = Field(default=None, ge=-(2**63), lt=2**63)  # a 64-bit signed column
    prompt_hash: str = ""
    completion: str | None = None
    completion_hash: str = ""
    prompt_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cost: Decimal = Decimal(0)
    latency_s: float = Field(default=0.0, ge=0.0)
    finish_reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    verdicts: dict[str, Verdict] = Field(default_factory=dict)

    @property
    def key(self) -> SampleKey:
        """The sample's identity: writes keyed on it are idempotent."""
        return SampleKey(self.run_id, self.model, self.problem_id, self.sample_index)


class PriceSnapshot(BaseModel):
    """The price of a model a run used, with where it came from."""

    model_config = ConfigDict(frozen=True)

    model: str
    kind: str = "api_tokens"
    input_per_mtok: Decimal | None = None
    output_per_mtok: Decimal | None = None
    cached_input_per_mtok: Decimal | None = None
    usd_per_hour: Decimal | None = None
    machine: str | None = None
    source: str = ""
    as_of: str = ""
    litellm_version: str | None = None

    @classmethod
    def for_machine(cls, model: str, machine: MachinePrice) -> PriceSnapshot:
        """A model served on a local machine, priced by the machine's $/hour x busy time."""
        return cls(
            model=model,
            kind="local_machine",
            usd_per_hour=machine.usd_per_hour,
            machine=machine.name,
            source=machine.source,
            as_of=machine.as_of,
        )


class StoredCurve(BaseModel):
    """A coverage curve fitted from the user's own samples, as stored."""

    model_config = ConfigDict(frozen=True)

    curve_id: int | None = None
    model: str
    task: str
    curve: CoverageCurve
    fitted_at: datetime = Field(default_factory=utcnow)
    problems: int = 0
    samples: int = 0
    correct: int = 0
    run_ids: list[str] = Field(default_factory=list)
    tier: str | None = None


class ProblemCounts(BaseModel):
    """Verified samples ``n`` and accepted ones ``c`` of one (model, task, problem)."""

    model_config = ConfigDict(frozen=True)

    model: str
    task: str
    problem_id: str
    n: int = Field(ge=0)
    c: int = Field(ge=0)


class CostStats(BaseModel):
    """Measured cost of one model's samples on a task."""

    model_config = ConfigDict(frozen=True)

    model: str
    task: str
    samples: int
    total: Decimal
    mean: Decimal
    max: Decimal
    mean_prompt_tokens: float
    mean_output_tokens: float
    max_output_tokens: int

    @property
    def known(self) -> bool:
        """False when the samples carry neither a cost nor tokens (imported counts or pass/fail
        records): their cost is unknown, and $0 would read as free.
        """
        return self.total > 0 or self.mean_output_tokens > 0
