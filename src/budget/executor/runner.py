"""The sampling loop: policies, per-backend concurrency, retries, the cap, verification.

The order of the work and the policies are in :mod:`budget.executor.schedule`; the runner's
state, tallies, charges and outcome in :mod:`budget.executor.accounting`; both are re-exported here.

**Concurrency.**  Each model gets as many workers as its backend's ``concurrency``; a worker
picks a unit, reserves, sends, records, and picks again.  A backend shared by several models
(one server) bounds their requests in flight together with one semaphore.

**The cap** (:mod:`budget.executor.ledger`).  A request is launched only after its worst
case is reserved (with a journal: and on record, so a kill cannot lose it); a worker that
cannot reserve waits for a settlement while other requests are in flight, and stops when
nothing is in flight (it then first retries a round of ``n`` samples as single samples, which
need less).  A retry is a new reservation.  A reservation bounds a request's cost only while
the server honours ``max_tokens`` and ``n``: the first reply billed past its reservation, with
more choices than ``n``, or counted by the provider past ``max_tokens``, stops the launching
with a provider fault (only the requests already in flight can still overspend).

**Failures.**  Transient errors (429 with ``Retry-After``, 5xx, timeouts, dropped
connections, garbled replies) are retried with exponential backoff and full jitter: attempt
``a`` waits ``U(0, min(cap, base x 2^(a-1)))`` seconds, or the server's ``Retry-After`` plus
``U(0, base)`` (Brooker 2015, "Exponential Backoff And Jitter", AWS Architecture Blog); a
``Retry-After`` also holds back every other request to the same backend until it has passed.  A
rejected request fails its samples; an error the user must fix (authentication, a server
that keeps refusing connections) stops the run.  How failures are charged:
:mod:`budget.executor.accounting`.

**Cancellation** (Ctrl-C): launching stops, requests in flight are cancelled and settled
(reservation charged: the request may have been billed), finished samples stay written.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from budget.errors import BackendError, RequestRejectedError, TransientBackendError
from budget.executor.accounting import (
    ACCEPT_TIER,
    ModelTally,
    Progress,
    ProgressFn,
    RunnerAccounts,
    RunnerOutcome,
    SampleSink,
    StopReason,
    VerifyFn,
)
from budget.executor.backends.base import Backend
from budget.executor.ledger import Reservation
from budget.executor.prompts import request_seed
from budget.executor.records import BoughtSample, Generation, GenerationRequest
from budget.executor.schedule import ProblemWork, RunnerSettings, _ModelState, _Unit

__all__ = [
    "ACCEPT_TIER",
    "ModelTally",
    "ProblemWork",
    "Progress",
    "ProgressFn",
    "Runner",
    "RunnerOutcome",
    "RunnerSettings",
    "SampleSink",
    "StopReason",
    "VerifyFn",
]


class Runner(RunnerAccounts):
    """Runs sampling work for several models under one ledger."""

    # --- public -------------------------------------------------------------------------
    async def run(self, work: Sequence[ProblemWork]) -> RunnerOutcome:
        """Buy the work under the ledger, verify as samples arrive; how the run ended."""
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
                reservation = await self._reserve(model, cost.worst_case_micro(request))
                if self._stop:
                    if reservation is not None:  # not sent: nothing to charge
                        self.ledger.release(reservation)
                    return None
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
                reservation = await self._reserve(model, amount)
                if reservation is not None:
                    return reservation
                if self.ledger.open_reservations == 0:
                    return None
                await self._cond.wait()
        return None

    async def _reserve(self, model: str, amount: int) -> Reservation | None:
        """A reservation, durable in the ledger's journal (if any) before it is returned.

        A journal that cannot be written (a full disk, a lost lease) stops the run: nothing is
        sent without its reservation on record.
        """
        if self.ledger.journal is None:
            return self.ledger.try_reserve(amount, label=model)
        # a database write: off the event loop.  A stop (SIGTERM, Ctrl-C) that cancels this
        # wait does not stop the thread: its reservation lands on record all the same, and
        # nothing was sent for it, so it is given back here rather than left open for ever.
        # The stop can cancel this worker more than once (the run's gather returns at the
        # first cancelled worker, and the run then cancels every worker again): the wait for
        # the write outlasts every cancellation.
        write = asyncio.ensure_future(asyncio.to_thread(self.ledger.try_reserve, amount, label=model))
        try:
            return await asyncio.shield(write)
        except asyncio.CancelledError:
            while not write.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(write)
            granted = None if write.cancelled() or write.exception() is not None else write.result()
            if granted is not None:
                with contextlib.suppress(Exception):  # unwritten: stays open, a resume charges it
                    self.ledger.release(granted)
            raise
        except Exception as exc:
            self._fatal(exc)
            return None

    def _provider_broke_the_bound(
        self, model: str, generation: Generation, charged: int, reserved: int
    ) -> None:
        """A reply billed past its reservation, with more choices than ``n``, or longer than
        ``max_tokens`` allows by the provider's own count: reservations no longer bound what this
        server's requests cost, so nothing more is launched (those in flight may overspend too).
        """
        from budget.money import fmt_usd, from_micro

        why = generation.fault or "billed more than its worst case"
        self._fatal(
            BackendError(
                f"{model}: provider fault: a reply broke the request's bounds ({why}); charged "
                f"{fmt_usd(from_micro(charged))} against a reservation of {fmt_usd(from_micro(reserved))}; "
                "stopped launching: a server that ignores max_tokens or n cannot be held to the cap"
            )
        )

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
        records: list[BoughtSample] = []
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
                reserved = reservation.amount_micro
                self.ledger.settle(reservation, charge.total_micro)
                reservation = None
                if charge.total_micro > reserved or generation.unbounded:
                    self._provider_broke_the_bound(model, generation, charge.total_micro, reserved)
                records = self._records(model, unit, request, generation, charge.per_choice, attempts)
                tally.spent_micro += charge.total_micro
            if not records:  # a retry could not be afforded: back to the workers, which
                # retries it as single samples or stops when even those do not fit
                unit.problem.pending -= len(unit.indices)
                unit.problem.remaining.give_back(unit.indices)
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
