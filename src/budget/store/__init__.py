"""The results store: runs, samples with their verdicts, prices used, fitted curves.

``Store(url)`` over any SQLAlchemy URL (default: an SQLite file, see
:mod:`budget.store.location`).  Importing this package is cheap: SQLAlchemy and SQLModel
load only when :class:`Store` (or the tables) are first used, so ``budget plan`` can ask
whether a store exists without paying for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from budget.store.location import resolve

#: Public names of :mod:`budget.store.records`, imported on first use (pydantic models:
#: ``budget plan`` asks :mod:`budget.store.location` whether a store exists without them).
_RECORDS = (
    "DEFAULT_TIER",
    "CostStats",
    "PriceSnapshot",
    "ProblemCounts",
    "ProblemRecord",
    "RunRecord",
    "RunStatus",
    "SampleKey",
    "SampleRecord",
    "StoredCurve",
)

if TYPE_CHECKING:
    from budget.store.database import Store, text_hash
    from budget.store.records import (
        DEFAULT_TIER,
        CostStats,
        PriceSnapshot,
        ProblemCounts,
        ProblemRecord,
        RunRecord,
        RunStatus,
        SampleKey,
        SampleRecord,
        StoredCurve,
    )
    from budget.store.tables import STORE_SCHEMA_VERSION

__all__ = [
    "DEFAULT_TIER",
    "STORE_SCHEMA_VERSION",
    "CostStats",
    "PriceSnapshot",
    "ProblemCounts",
    "ProblemRecord",
    "RunRecord",
    "RunStatus",
    "SampleKey",
    "SampleRecord",
    "Store",
    "StoredCurve",
    "resolve",
    "text_hash",
]


def __getattr__(name: str) -> Any:
    if name in _RECORDS:
        from budget.store import records

        return getattr(records, name)
    if name in ("Store", "text_hash"):
        from budget.store import database

        return getattr(database, name)
    if name == "STORE_SCHEMA_VERSION":
        from budget.store import tables

        return tables.STORE_SCHEMA_VERSION
    raise AttributeError(f"module 'budget.store' has no attribute {name!r}")
