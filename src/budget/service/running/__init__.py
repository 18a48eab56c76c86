"""Use case: carry out a plan -- sample models on a task under a hard cap, verify, store.

:func:`execute_run` joins the task (``budget.tasks``), prices (``budget.pricing``), the
executor (backends, ledger, runner), verification (``budget.service.verification``) and the
store.  What to sample comes from ``--samples K`` (K per problem for every model), a plan file
(``--plan``), or a plan made on the spot from ``--dollars`` (``budget.service.planning``).

**Durability.**  Samples go to the store from a writer thread as they complete; what has
queued up since the last write (gathered for :data:`WRITE_GATHER_S`) is committed in one
transaction, and verdicts follow their samples.  The run's spend (settled, and reserved by
requests in flight) is written with them, at most every :data:`SPEND_WRITE_INTERVAL_S`
seconds.  Every request's reservation is written to the store before the request is sent
(:mod:`budget.store.ledger`), and closed with its actual cost when it settles; a killed process
loses at most the samples not yet committed, never the record of what it sent.  SIGTERM and
SIGHUP stop a run as Ctrl-C does.  ``--resume RUN_ID`` takes the run's lease (one process runs
a run at a time: a second one is refused with :class:`~budget.errors.RunBusyError`; the lease of
a dead process is taken over), reloads the run's request, skips every stored sample, verifies
stored samples that lack a verdict, and starts its ledger at the run's recorded spend: its
settled reservations, plus the reservations still open, charged whole (they were in flight when
its process died and may have been billed: ``lost_in_flight``), so the cap holds across kills,
full disks and concurrent resumes.

The parts: :mod:`~budget.service.running.request` (request and result models),
:mod:`~budget.service.running.worklist` (what to sample: the run's work list),
:mod:`~budget.service.running.resume` (a stopped run's request, lease and spend),
:mod:`~budget.service.running.backends` (backends, cost models, verifier),
:mod:`~budget.service.running.store_writer` (the writer thread, the ledger's journal),
:mod:`~budget.service.running.lease` (the run's lease, stop signals),
:mod:`~budget.service.running.result` (the totals) and
:mod:`~budget.service.running.execution` (:func:`execute_run`).
"""

from budget.errors import BudgetError
from budget.service.running.execution import execute_run
from budget.service.running.request import (
    TIERS_OF,
    ModelResult,
    ProgressCallback,
    RunRequest,
    RunResult,
    SamplingOptions,
    VerifyTiers,
)
from budget.service.running.store_writer import SPEND_WRITE_INTERVAL_S, WRITE_GATHER_S, StoreWriter

__all__ = [
    "SPEND_WRITE_INTERVAL_S",
    "TIERS_OF",
    "WRITE_GATHER_S",
    "BudgetError",
    "ModelResult",
    "ProgressCallback",
    "RunRequest",
    "RunResult",
    "SamplingOptions",
    "StoreWriter",
    "VerifyTiers",
    "execute_run",
]
