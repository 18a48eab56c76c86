"""The results store: one class, :class:`Store`, over any SQLAlchemy URL.

SQLite (the default, one file) and PostgreSQL are tested.  Every write is idempotent on
its natural key, so a resumed run can write the same sample again without counting it
twice: a sample is keyed on ``(run, model, problem, sample index)``, a verdict on
``(sample, tier)``, a price snapshot on ``(run, model)``.

Thread safety: each method opens its own session, so one ``Store`` may be shared by the
executor's worker threads (SQLite runs in WAL mode with a busy timeout).

The class is assembled from parts: :mod:`budget.store.engine` (opening, schema version,
sessions), :mod:`budget.store.runs` (tasks, problems, runs, prices), :mod:`budget.store.samples`
(samples and verdicts), :mod:`budget.store.aggregates` (counts, costs, fitted curves),
:mod:`budget.store.ledger` (a run's reservations and its one-process lease),
:mod:`budget.store.predictions` (what each run was predicted to do), :mod:`budget.store.imports`
(a whole run written at once) and :mod:`budget.store.inspection` (per-run figures).
"""

from __future__ import annotations

from budget.store.aggregates import AggregateStore
from budget.store.engine import NoStoreError, StoreBase, new_run_id, text_hash
from budget.store.imports import ImportStore
from budget.store.inspection import InspectionStore
from budget.store.ledger import LedgerStore
from budget.store.predictions import PredictionStore
from budget.store.runs import RunStore
from budget.store.samples import SampleStore

__all__ = ["NoStoreError", "Store", "StoreBase", "new_run_id", "text_hash"]


class Store(
    RunStore, SampleStore, AggregateStore, LedgerStore, PredictionStore, ImportStore, InspectionStore
):
    """The results store at ``url`` (an SQLAlchemy URL; see :func:`budget.store.location.resolve`).

    Opening checks the schema version: a database written by another store version raises
    :class:`~budget.errors.StoreError` with a one-line message; an empty one is created.
    """
