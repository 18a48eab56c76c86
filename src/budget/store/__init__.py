"""The results store: runs, samples with their verdicts, prices used, fitted curves.

``Store(url)`` over any SQLAlchemy URL (default: an SQLite file, see
:mod:`budget.store.location`).  Importing this package is cheap: SQLAlchemy and SQLModel
load only when :class:`Store` (or the tables) are first used, so ``budget plan`` can ask
whether a store exists without paying for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from budget.store.location import resolve

#: The module of each public name, imported on first use: the records are pydantic models and
#: the database needs SQLAlchemy, while ``budget plan`` only asks :mod:`budget.store.location`
#: whether a store exists.
_HOME = {
    **dict.fromkeys(
        (
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
        ),
        "records",
    ),
    "Store": "database",
    "text_hash": "database",
    "STORE_SCHEMA_VERSION": "tables",
}

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
    if name not in _HOME:
        raise AttributeError(f"module 'budget.store' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"budget.store.{_HOME[name]}"), name)
