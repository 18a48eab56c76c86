"""The store's tables (SQLModel).  Only :mod:`budget.store` touches these.

Money columns keep both the exact decimal string (``*_usd``) and integer micro-dollars
(``*_micro``, for sums in SQL).  JSON documents (plans, settings, curves) are text, so
every SQLAlchemy backend stores them the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

#: Bump when a table changes; a database from another version is refused with a message, except
#: an older one whose difference is only additive tables (:data:`ADDITIVE_TABLES`): it is upgraded
#: in place when opened.  Version 2 added the run's durable ledger (reservations and lease,
#: :mod:`budget.store.ledger_tables`): a budget that reads version 1 would ignore the lease.
STORE_SCHEMA_VERSION = 2

#: The oldest store schema version that opening upgrades in place (by adding tables).
OLDEST_UPGRADABLE_VERSION = 1

#: The tables of this module share this metadata (and nothing else does).
metadata = SQLModel.metadata


class SchemaRow(SQLModel, table=True):
    """The store's schema version (one row)."""
    __tablename__ = "budget_schema"

    id: int = Field(default=1, primary_key=True)
    version: int
    created_by: str = ""
    created_at: datetime


class TaskRow(SQLModel, table=True):
    """A task recorded in the store (name, size, source)."""
    __tablename__ = "tasks"

    name: str = Field(primary_key=True, max_length=200)
    problems: int = 0
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    added_at: datetime


class ProblemRow(SQLModel, table=True):
    """A problem of a task: its prompt, or only the prompt's hash."""
    __tablename__ = "problems"

    task: str = Field(primary_key=True, foreign_key="tasks.name", max_length=200)
    problem_id: str = Field(primary_key=True, max_length=300)
    prompt_hash: str = Field(default="", max_length=64)
    prompt: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RunRow(SQLModel, table=True):
    """A run: what was asked, its cap, its spend and where it stands."""
    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=64)
    task: str = Field(index=True, max_length=200)
    models_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    status: str = Field(default="created", max_length=20)
    cap_usd: str | None = Field(default=None, max_length=40)
    spent_usd: str = Field(default="0", max_length=40)
    spent_micro: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    plan_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    settings_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime
    updated_at: datetime
    budget_version: str = Field(default="", max_length=40)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class SampleRow(SQLModel, table=True):
    """A sample of a run: tokens, exact cost (decimal text and micro-dollars), latency, text or hash."""
    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("run_id", "model", "problem_id", "sample_index", name="uq_sample_key"),
        Index("ix_samples_task_model", "task", "model"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", max_length=64)
    model: str = Field(max_length=300)
    task: str = Field(max_length=200)
    problem_id: str = Field(max_length=300)
    sample_index: int
    seed: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    prompt_hash: str = Field(default="", max_length=64)
    completion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completion_hash: str = Field(default="", max_length=64)
    prompt_tokens: int = 0
    output_tokens: int = 0
    cost_usd: str = Field(default="0", max_length=40)
    cost_micro: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    latency_s: float = 0.0
    finish_reason: str = Field(default="", max_length=40)
    created_at: datetime


class VerdictRow(SQLModel, table=True):
    """A sample's verdict on one tier."""
    __tablename__ = "verdicts"

    sample_id: int = Field(primary_key=True, foreign_key="samples.id")
    tier: str = Field(primary_key=True, max_length=100)
    passed: bool
    outcome: str = Field(max_length=40)
    duration_s: float = 0.0
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class PriceRow(SQLModel, table=True):
    """The price of a model a run used, with its source."""
    __tablename__ = "price_snapshots"
    __table_args__ = (UniqueConstraint("run_id", "model", name="uq_price_run_model"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", max_length=64)
    model: str = Field(max_length=300)
    kind: str = Field(default="api_tokens", max_length=40)
    input_per_mtok: str | None = Field(default=None, max_length=40)
    output_per_mtok: str | None = Field(default=None, max_length=40)
    cached_input_per_mtok: str | None = Field(default=None, max_length=40)
    usd_per_hour: str | None = Field(default=None, max_length=40)
    machine: str | None = Field(default=None, max_length=200)
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    as_of: str = Field(default="", max_length=40)
    litellm_version: str | None = Field(default=None, max_length=40)


class CurveRow(SQLModel, table=True):
    """A coverage curve fitted to the user's own samples."""
    __tablename__ = "curves"
    __table_args__ = (Index("ix_curves_task_model", "task", "model"),)

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(max_length=300)
    task: str = Field(max_length=200)
    fitted_at: datetime
    problems: int = 0
    samples: int = 0
    correct: int = 0
    tier: str | None = Field(default=None, max_length=100)
    run_ids_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    curve_json: str = Field(sa_column=Column(Text, nullable=False))


class CurveCountRow(SQLModel, table=True):
    """The per-problem counts a stored curve was fitted to."""

    __tablename__ = "curve_counts"

    curve_id: int = Field(primary_key=True, foreign_key="curves.id")
    problem_id: str = Field(primary_key=True, max_length=300)
    n: int
    c: int


class PredictionRow(SQLModel, table=True):
    """What a run was predicted to do, per model, stored when the run starts (``budget check``)."""

    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("run_id", "model", name="uq_prediction_run_model"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", max_length=64)
    model: str = Field(max_length=300)
    created_at: datetime
    has_curve: bool = False
    prediction_json: str = Field(sa_column=Column(Text, nullable=False))


from budget.store.ledger_tables import LEDGER_TABLES  # noqa: E402 (they share this metadata)

TABLES = [
    SchemaRow, TaskRow, ProblemRow, RunRow, SampleRow, VerdictRow, PriceRow, CurveRow, CurveCountRow,
    PredictionRow, *LEDGER_TABLES,
]  # fmt: skip

#: Tables added later: created when a store lacks them (see :data:`STORE_SCHEMA_VERSION`).
ADDITIVE_TABLES = frozenset({"curve_counts", "ledger_reservations", "run_leases", "predictions"})
