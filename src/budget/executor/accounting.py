"""The runner's state and accounts: tallies, charges for failures, samples and verdicts handed
to the sink, progress, the outcome.

**Charges.**  A failed request is charged nothing when the server answered with an error
status, its reservation when the request may have been processed and billed without a usable
reply (``maybe_billed``: timeout, dropped reply), and its busy time on a machine-time backend.
Such charges are ``unattributed``: they belong to no sample, and
``spent = sum of sample costs + unattributed``.

**Provider faults** (:mod:`budget.executor.backends.usage`): a reply whose usage was unknown or
nonsense, longer than ``max_tokens`` allows, or with more choices than ``n``.  Its charge is
settled like any other (the worst case for unknown usage, what was reported otherwise); each
such reply is counted in ``ModelTally.provider_faults`` (the first messages kept in
``fault_notes``) and its samples carry ``BoughtSample.provider_fault``.  Extra choices are not
samples of the run (their indices belong to other requests): their share of the charge is
unattributed and they are counted in ``extra_choices``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from budget.errors import BackendError
from budget.executor.backends.base import Backend
from budget.executor.costs import CostModel
from budget.executor.ledger import Ledger, Reservation
from budget.executor.records import BoughtSample, Generation, GenerationRequest
from budget.executor.schedule import RunnerSettings, _ModelState, _Problem, _Unit
from budget.planner.models import Policy
from budget.verify.protocol import Verdict

#: The verdict tier that decides acceptance under ``until-pass``.
ACCEPT_TIER = "verifier"


class StopReason(StrEnum):
    """Why a runner stopped: all work done, the money ran out, interrupted, or an error."""
    COMPLETED = "completed"
    BUDGET = "budget exhausted"
    INTERRUPTED = "interrupted"
    ERROR = "error"


#: Verifies one sample: (problem id, completion) -> verdicts by tier.  Runs in a worker thread.
VerifyFn = Callable[[str, str], Mapping[str, Verdict]]


class SampleSink(Protocol):
    """Where finished samples and their verdicts go (the store); must be fast or queue."""

    def samples(self, records: Sequence[BoughtSample]) -> None:
        """Take finished samples (in the order they finished)."""

    def verdicts(self, record: BoughtSample, verdicts: Mapping[str, Verdict]) -> None:
        """Take the verdicts of one sample, by tier."""

    def spend(self, spent_micro: int, reserved_micro: int) -> None:
        """Take the ledger's spend and reservations in flight (micro-dollars)."""


@dataclass
class Progress:
    """A snapshot for progress displays."""

    cap_micro: int
    spent_micro: int
    samples: int
    planned: int
    solved: int
    problems: int
    started: float
    in_flight: int


ProgressFn = Callable[[Progress], None]


@dataclass
class ModelTally:
    """What a run bought, spent, solved and suffered for one model."""
    samples: int = 0
    spent_micro: int = 0
    solved: set[str] = field(default_factory=set)
    failed_samples: int = 0
    retries: int = 0
    unattributed_micro: int = 0
    last_error: str = ""  # why the last failed request failed (for the run's outcome)
    provider_faults: int = 0
    extra_choices: int = 0
    fault_notes: list[str] = field(default_factory=list)


#: How many provider-fault messages a tally keeps (they repeat).
FAULT_NOTES = 5


@dataclass
class RunnerOutcome:
    """How a runner ended: why, each model's tally, the spend and what no sample carries."""
    stop_reason: StopReason
    tallies: dict[str, ModelTally]
    spent_micro: int
    unattributed_micro: int
    error: str = ""


class RunnerAccounts:
    """The state of a :class:`~budget.executor.runner.Runner` and its bookkeeping."""

    def __init__(
        self,
        *,
        backends: Mapping[str, Backend],
        costs: Mapping[str, CostModel],
        ledger: Ledger,
        sink: SampleSink,
        settings: RunnerSettings,
        verify: VerifyFn | None = None,
        progress: ProgressFn | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if settings.policy is Policy.UNTIL_PASS and verify is None:
            raise ValueError("until-pass needs a verifier")
        self.backends = backends
        self.costs = costs
        self.ledger = ledger
        self.sink = sink
        self.settings = settings
        self.verify = verify
        self.progress = progress
        self.rng = rng or random.Random(settings.seed)
        self._sleep = sleep
        self.tallies: dict[str, ModelTally] = {m: ModelTally() for m in backends}
        self._cond = asyncio.Condition()
        self._states: dict[str, _ModelState] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._verifications: set[asyncio.Future[None]] = set()
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        self._not_before: dict[int, float] = {}  # per backend: no request before this time
        self._stop = False
        self._error: BaseException | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._started = time.monotonic()
        self._planned = 0
        self._done = 0

    def _charge_failure(
        self, model: str, reservation: Reservation | None, metered: int, maybe_billed: bool
    ) -> None:
        if reservation is None:
            return
        cost = self.costs[model]
        charge = metered
        if maybe_billed and cost.kind == "api_tokens":
            charge = reservation.amount_micro
        self.ledger.settle(reservation, charge)
        tally = self.tallies[model]
        tally.spent_micro += charge
        tally.unattributed_micro += charge

    def _fail(self, model: str, unit: _Unit, why: str) -> None:
        state = self._states[model]
        unit.problem.pending -= len(unit.indices)
        self.tallies[model].failed_samples += len(unit.indices)
        self.tallies[model].last_error = why
        state.consecutive_failures += 1
        if state.consecutive_failures >= self.settings.max_consecutive_failures:
            self._fatal(
                BackendError(f"{model}: {state.consecutive_failures} requests in a row failed; last: {why}")
            )

    def _fatal(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self._stop = True
        task = asyncio.get_running_loop().create_task(self._wake())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wake(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    def _records(
        self,
        model: str,
        unit: _Unit,
        request: GenerationRequest,
        generation: Generation,
        per_choice: Sequence[int],
        attempts: int,
    ) -> list[BoughtSample]:
        n = max(1, len(generation.choices))
        latency = generation.latency_s
        kept = len(unit.indices)
        tally = self.tallies[model]
        if generation.fault:
            tally.provider_faults += 1
            if len(tally.fault_notes) < FAULT_NOTES:
                tally.fault_notes.append(generation.fault)
        if len(generation.choices) > kept:  # a server that ignored n: billed, kept out, counted
            tally.extra_choices += len(generation.choices) - kept
            tally.unattributed_micro += sum(per_choice[kept:])
        out = []
        for index, choice, micro in zip(
            unit.indices, generation.choices[:kept], per_choice[:kept], strict=True
        ):
            out.append(
                BoughtSample.model_construct(
                    model=model,
                    problem_id=unit.problem.work.problem_id,
                    index=index,
                    seed=request.seed,
                    completion=choice.text,
                    prompt_tokens=generation.prompt_tokens // n if n > 1 else generation.prompt_tokens,
                    output_tokens=choice.output_tokens,
                    cost_micro=micro,
                    latency_s=latency,
                    attempts=attempts,
                    finish_reason=choice.finish_reason,
                    provider_fault=generation.fault,
                )
            )
        return out

    def _accept(self, model: str, unit: _Unit, records: list[BoughtSample]) -> None:
        tally = self.tallies[model]
        tally.samples += len(records)
        self._done += len(records)
        try:
            self.sink.samples(records)
            self.sink.spend(self.ledger.spent_micro, self.ledger.reserved_micro)
        except Exception as exc:  # the store failed: stop buying what could not be kept
            unit.problem.pending -= len(records)
            self._fatal(exc)
            return
        if self.verify is None or self._pool is None:
            unit.problem.pending -= len(records)
            self._report()
            return
        loop = asyncio.get_running_loop()
        for record in records:
            fut = loop.run_in_executor(self._pool, self.verify, record.problem_id, record.completion)
            wrapped = asyncio.ensure_future(self._verdict(model, unit.problem, record, fut))
            self._verifications.add(wrapped)
            wrapped.add_done_callback(self._verifications.discard)
        self._report()

    async def _verdict(
        self, model: str, problem: _Problem, record: BoughtSample, fut: asyncio.Future[Mapping[str, Verdict]]
    ) -> None:
        try:
            verdicts = await fut
        except asyncio.CancelledError:
            problem.pending -= 1
            raise
        except Exception as exc:  # a broken verifier stops the run: verdicts would be missing
            problem.pending -= 1
            self._fatal(exc)
        else:
            problem.pending -= 1
            accepted = verdicts.get(ACCEPT_TIER)
            if accepted is not None and accepted.passed:
                problem.solved = True
                self.tallies[model].solved.add(record.problem_id)
            try:
                self.sink.verdicts(record, verdicts)
            except Exception as exc:  # the store failed: stop buying what could not be kept
                self._fatal(exc)
        async with self._cond:  # workers wait on verdicts (until-pass) and on a stop
            self._cond.notify_all()
        self._report()

    # --- reporting ----------------------------------------------------------------------------
    def _report(self) -> None:
        if self.progress is None:
            return
        self.progress(
            Progress(
                cap_micro=self.ledger.cap_micro,
                spent_micro=self.ledger.spent_micro,
                samples=self._done,
                planned=self._planned,
                solved=sum(len(t.solved) for t in self.tallies.values()),
                problems=sum(len(s.problems) for s in self._states.values()),
                started=self._started,
                in_flight=self.ledger.open_reservations,
            )
        )

    def _outcome(self, interrupted: bool) -> RunnerOutcome:
        if interrupted:
            reason = StopReason.INTERRUPTED
        elif self._error is not None:
            reason = StopReason.ERROR
        elif any(s.exhausted and s.planned() > 0 for s in self._states.values()):
            reason = StopReason.BUDGET
        else:
            reason = StopReason.COMPLETED
        return RunnerOutcome(
            stop_reason=reason,
            tallies=self.tallies,
            spent_micro=self.ledger.spent_micro,
            unattributed_micro=sum(t.unattributed_micro for t in self.tallies.values()),
            error=str(self._error) if self._error is not None else "",
        )
