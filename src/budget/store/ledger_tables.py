"""The tables of a run's durable ledger: its reservations and its lease (see :mod:`budget.store.ledger`).

Added in store schema version 2, additively: a version-1 store gains them when it is opened.
Times are integer milliseconds since the Unix epoch (UTC), so that SQLite and PostgreSQL compare
them the same way.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel


class ReservationRow(SQLModel, table=True):
    """One reservation of the run's ledger, written before its request is sent.

    ``state``: ``open`` (in flight, or its process died), ``settled`` (``charged_micro`` is the
    actual cost), ``lost`` (found open by a resume: charged its whole amount), ``carried`` (the
    spend of a run recorded before reservations were kept).
    """

    __tablename__ = "ledger_reservations"
    __table_args__ = (Index("ix_ledger_reservations_run_state", "run_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", max_length=64)
    lease_token: str = Field(default="", max_length=64)
    model: str = Field(default="", max_length=300)
    amount_micro: int = Field(sa_column=Column(BigInteger, nullable=False))
    charged_micro: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    state: str = Field(default="open", max_length=20)
    opened_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    closed_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class LeaseRow(SQLModel, table=True):
    """Which process runs a run now: one row per run, taken and renewed by conditional updates."""

    __tablename__ = "run_leases"

    run_id: str = Field(primary_key=True, foreign_key="runs.id", max_length=64)
    token: str = Field(max_length=64)
    host: str = Field(default="", max_length=255)
    pid: int = 0
    acquired_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


LEDGER_TABLES = [ReservationRow, LeaseRow]
