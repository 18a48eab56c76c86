"""The sampling loop: policies, per-backend concurrency, retries, the cap, verification.

**Concurrency.**  Each model gets as many workers as its backend's ``concurrency``; a worker
picks a unit, reserves, sends, records, and picks again.  A backend shared by several models
(one server) bounds their requests in flight together with one semaphore.

**Order.**  Work is launched round by round: sample (round) 0 of every problem, then round 1,
... (a round is one request of up to ``max_n`` samples of a problem).  If the money runs out
early, every problem has had its share of the rounds paid so far.

**Policies** (``budget.planner.Policy``).  ``fixed``: every planned sample is bought.
``until-pass``: one sample of a problem at a time (n = 1), verified as it arrives; once the
production verifier accepts one, the problem gets no more samples.  A problem with a sample
in flight or awaiting its verdict is skipped until the verdict is in, so no sample is bought
that the policy would not have bought sequentially.

**The cap** (:mod:`budget.executor.ledger`).  A request is launched only after its worst
case is reserved; a worker that cannot reserve waits for a settlement while other requests
are in flight, and stops when nothing is in flight (it then first retries a round of ``n``
samples as single samples, which need less).  A retry is a new reservation.

**Failures.**  Transient errors (429 with ``Retry-After``, 5xx, timeouts, dropped
connections, garbled replies) are retried with exponential backoff and full jitter: attempt
``a`` waits ``U(0, min(cap, base x 2^(a-1)))`` seconds, or the server's ``Retry-After`` plus
``U(0, base)`` (Brooker 2015, "Exponential Backoff And Jitter", AWS Architecture Blog); a
``Retry-After`` also holds back every other request to the same backend until it has passed.  A
rejected request fails its samples; an error the user must fix (authentication, a server
that keeps refusing connections) stops the run.  A failed request is charged nothing when the
server answered with an error status, its reservation when the request may have been
processed and billed without a usable reply (``maybe_billed``: timeout, dropped reply), and
its busy time on a machine-time backend.  Such charges are ``unattributed``: they belong to no
sample, and ``spent = sum of sample costs + unattributed``.

**Cancellation** (Ctrl-C): launching stops, requests in flight are cancelled and settled
(reservation charged: the request may have been billed), finished samples stay written.
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

from budget.errors import BackendError, RequestRejectedError, TransientBackendError
from budget.executor.backends.base import Backend
from budget.executor.costs import CostModel
from budget.executor.ledger import Ledger, Reservation
from budget.executor.prompts import request_seed
from budget.executor.records import Generation, GenerationRequest, Prompt, SampleRecord
from budget.verify.protocol import Verdict

#: The verdict tier that decides acceptance under ``until-pass``.
ACCEPT_TIER = "verifier"


class RunPolicy(StrEnum):
    FIXED = "fixed"
    UNTIL_PASS = "until-pass"


class StopReason(StrEnum):
    COMPLETED = "completed"
    BUDGET = "budget exhausted"
    INTERRUPTED = "interrupted"
    ERROR = "error"


@dataclass(frozen=True)
class ProblemWork:
    """Samples still to buy of one problem for one model."""

    model: str
    problem_id: str
    prompt: Prompt
    indices: tuple[int, ...]
    solved: bool = False  # accepted in an earlier session (until-pass skips it)
    done: int = 0  # samples already bought in earlier sessions


@dataclass(frozen=True)
class RunnerSettings:
    policy: RunPolicy = RunPolicy.FIXED
    max_tokens: int = 512
    temperature: float = 0.8
    top_p: float = 0.95
    timeout_s: float = 120.0
    seed: int = 0
    max_attempts: int = 8
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    verify_workers: int = 2
    max_consecutive_failures: int = 5


#: Verifies one sample: (problem id, completion) -> verdicts by tier.  Runs in a worker thread.
VerifyFn = Callable[[str, str], Mapping[str, Verdict]]


class SampleSink(Protocol):
    """Where finished samples and their verdicts go (the store); must be fast or queue."""

    def samples(self, records: Sequence[SampleRecord]) -> None: ...

    def verdicts(self, record: SampleRecord, verdicts: Mapping[str, Verdict]) -> None: ...

    def spend(self, spent_micro: int, reserved_micro: int) -> None: ...


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
    samples: int = 0
    spent_micro: int = 0
    solved: set[str] = field(default_factory=set)
    failed_samples: int = 0
    retries: int = 0
    unattributed_micro: int = 0


@dataclass
class RunnerOutcome:
    stop_reason: StopReason
    tallies: dict[str, ModelTally]
    spent_micro: int
    unattributed_micro: int
    error: str = ""


@dataclass
class _Problem:
    work: ProblemWork
    remaining: list[int]
    solved: bool
    pending: int = 0  # samples in flight or awaiting a verdict


@dataclass
class _Unit:
    problem: _Problem
    indices: list[int]


class _ModelState:
    def __init__(self, model: str, work: Sequence[ProblemWork], max_n: int, policy: RunPolicy) -> None:
        self.model = model
        self.problems = [_Problem(w, list(w.indices), w.solved) for w in work]
        self.max_n = 1 if policy is RunPolicy.UNTIL_PASS else max(1, max_n)
        self.policy = policy
        self.cursor = 0
        self.exhausted = False
        self.consecutive_failures = 0

    def planned(self) -> int:
        return sum(len(p.remaining) for p in self.problems if not p.solved)

    def pick(self) -> _Unit | bool | None:
        """The next unit; ``None`` when nothing is left, ``False`` to wait for a verdict.

        Round robin from a cursor: with equal samples per problem this is round by round, and
        a pick costs O(1) until problems run out.
        """
        if self.exhausted:
            return None
        until_pass = self.policy is RunPolicy.UNTIL_PASS
        waiting = False
        count = len(self.problems)
        for step in range(count):
            at = (self.cursor + step) % count
            p = self.problems[at]
            if until_pass and p.solved:
                continue
            if not p.remaining or (until_pass and p.pending):
                # samples in flight may come back unbought (a retry the budget cannot cover)
                # or, under until-pass, be rejected: wait for them
                waiting = waiting or p.pending > 0
                continue
            self.cursor = (at + 1) % count
            return _Unit(p, p.remaining[: self.max_n])
        return False if waiting else None


class Runner:
    """Runs sampling work for several models under one ledger."""

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
        if settings.policy is RunPolicy.UNTIL_PASS and verify is None:
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

    # --- public -------------------------------------------------------------------------
    async def run(self, work: Sequence[ProblemWork]) -> RunnerOutcome:
        by_model: dict[str, list[ProblemWork]] = {m: [] for m in self.backends}
        for w in work:
            by_model[w.model].append(w)
        for model, items in by_model.items():
            state = _ModelState(model, items, self.backends[model].max_n, self.settings.policy)
            self._states[model] = state
            self.tallies[model].solved.update(p.work.problem_id for p in state.problems if p.solved)
        self._planned = sum(s.planned() for s in self._states.values())
        self._started = time.monotonic()
        for backend in {id(b): b for b in self.backends.values()}.values():
            await backend.open()
        if self.verify is not None:
            self._pool = ThreadPoolExecutor(max_workers=max(1, self.settings.verify_workers))
        workers = [
            asyncio.create_task(self._worker(m))
            for m in self._states
            for _ in range(max(1, self.backends[m].concurrency))
        ]
        interrupted = False
        try:
            await asyncio.gather(*workers)
            while self._tasks or self._verifications:
                await asyncio.gather(*list(self._tasks), *list(self._verifications))
        except asyncio.CancelledError:
            interrupted = True
            self._stop = True
            for t in [*workers, *self._tasks]:
                t.cancel()
            await asyncio.gather(*workers, *self._tasks, return_exceptions=True)
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except Exception:  # a bug or a broken backend: settle what is in flight, then report it
            self._stop = True
            for t in [*workers, *self._tasks]:
                t.cancel()
            await asyncio.gather(*workers, *self._tasks, return_exceptions=True)
            raise
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
            self.sink.spend(self.ledger.spent_micro, self.ledger.reserved_micro)
            self._report()
        return self._outcome(interrupted)

    # --- launching ------------------------------------------------------------------------
    def _semaphore(self, backend: Backend) -> asyncio.Semaphore:
        key = id(backend)
        if key not in self._semaphores:
            self._semaphores[key] = asyncio.Semaphore(max(1, backend.concurrency))
        return self._semaphores[key]

    def _request(self, model: str, unit: _Unit) -> GenerationRequest:
        p = unit.problem.work
        return GenerationRequest.model_construct(
            model=model,
            prompt=p.prompt,
            n=len(unit.indices),
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            top_p=self.settings.top_p,
            seed=request_seed(self.settings.seed, model, p.problem_id, unit.indices[0]),
            timeout_s=self.settings.timeout_s,
        )

    async def _worker(self, model: str) -> None:
        """One of ``concurrency`` workers of a model: pick, reserve, send, record; repeat.

        The backend's semaphore bounds the requests in flight when several models share it.
        """
        state = self._states[model]
        sem = self._semaphore(self.backends[model])
        while not self._stop:
            async with sem:
                got = await self._next_affordable(model, state)
                if got is None:
                    return
                unit, request, reservation = got
                await self._execute(model, unit, request, reservation)

    async def _next_affordable(
        self, model: str, state: _ModelState
    ) -> tuple[_Unit, GenerationRequest, Reservation] | None:
        cost = self.costs[model]
        async with self._cond:
            while not self._stop:
                unit = state.pick()
                if unit is None:
                    return None
                if unit is False:
                    await self._cond.wait()
                    continue
                assert isinstance(unit, _Unit)
                request = self._request(model, unit)
                reservation = self.ledger.try_reserve(cost.worst_case_micro(request))
                if reservation is not None:
                    for i in unit.indices:
                        unit.problem.remaining.remove(i)
                    unit.problem.pending += len(unit.indices)
                    return unit, request, reservation
                if self.ledger.open_reservations == 0:
                    if state.max_n > 1:  # a round of n samples no longer fits: try single samples
                        state.max_n = 1
                        continue
                    state.exhausted = True
                    return None
                await self._cond.wait()
        return None

    async def _reserve_retry(self, model: str, request: GenerationRequest) -> Reservation | None:
        amount = self.costs[model].worst_case_micro(request)
        async with self._cond:
            while not self._stop:
                reservation = self.ledger.try_reserve(amount)
                if reservation is not None:
                    return reservation
                if self.ledger.open_reservations == 0:
                    return None
                await self._cond.wait()
        return None

    # --- one unit -----------------------------------------------------------------------------
    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        base = self.settings.backoff_base_s
        if retry_after is not None:
            return retry_after + self.rng.uniform(0, base)
        return self.rng.uniform(0, min(self.settings.backoff_cap_s, base * 2 ** (attempt - 1)))

    async def _pause(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(seconds)

    async def _execute(
        self,
        model: str,
        unit: _Unit,
        request: GenerationRequest,
        reservation: Reservation | None,
    ) -> None:
        tally = self.tallies[model]
        state = self._states[model]
        backend = self.backends[model]
        cost = self.costs[model]
        attempts = 0
        records: list[SampleRecord] = []
        try:
            while reservation is not None:
                attempts += 1
                wait = self._not_before.get(id(backend), 0.0) - time.monotonic()
                if wait > 0:  # the backend asked everyone to wait (429 with Retry-After)
                    await self._pause(wait)
                meter = cost.start()
                try:
                    async with asyncio.timeout(request.timeout_s):
                        generation: Generation = await backend.generate(request)
                except (TransientBackendError, TimeoutError) as exc:
                    maybe = isinstance(exc, TimeoutError) or exc.maybe_billed
                    self._charge_failure(model, reservation, meter.stop(None).total_micro, maybe)
                    reservation = None
                    if attempts >= self.settings.max_attempts:
                        raise
                    tally.retries += 1
                    retry_after = exc.retry_after_s if isinstance(exc, TransientBackendError) else None
                    if retry_after is not None:
                        key = id(backend)
                        self._not_before[key] = max(
                            self._not_before.get(key, 0.0), time.monotonic() + retry_after
                        )
                    await self._pause(self._backoff(attempts, retry_after))
                    reservation = await self._reserve_retry(model, request)
                    continue
                except asyncio.CancelledError:
                    self._charge_failure(model, reservation, meter.stop(None).total_micro, True)
                    reservation = None
                    raise
                except BaseException:
                    self._charge_failure(model, reservation, meter.stop(None).total_micro, False)
                    reservation = None
                    raise
                charge = meter.stop(generation)
                self.ledger.settle(reservation, charge.total_micro)
                reservation = None
                records = self._records(model, unit, request, generation, charge.per_choice, attempts)
                tally.spent_micro += charge.total_micro
            if not records:  # a retry could not be afforded: back to the workers, which
                # retries it as single samples or stops when even those do not fit
                unit.problem.pending -= len(unit.indices)
                unit.problem.remaining = sorted([*unit.problem.remaining, *unit.indices])
        except RequestRejectedError as exc:
            self._fail(model, unit, f"rejected: {exc}")
        except (TransientBackendError, TimeoutError) as exc:
            self._fail(model, unit, f"gave up after {attempts} attempts: {exc or 'timeout'}")
        except BackendError as exc:
            self._fail(model, unit, str(exc))
            self._fatal(exc)
        except asyncio.CancelledError:
            unit.problem.pending -= len(unit.indices)
            raise
        finally:
            async with self._cond:
                self._cond.notify_all()
        if records:
            state.consecutive_failures = 0
            self._accept(model, unit, records)

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
    ) -> list[SampleRecord]:
        n = max(1, len(generation.choices))
        latency = generation.latency_s
        out = []
        for index, choice, micro in zip(unit.indices, generation.choices, per_choice, strict=True):
            out.append(
                SampleRecord.model_construct(
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
                )
            )
        return out

    def _accept(self, model: str, unit: _Unit, records: list[SampleRecord]) -> None:
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
        self, model: str, problem: _Problem, record: SampleRecord, fut: asyncio.Future[Mapping[str, Verdict]]
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
