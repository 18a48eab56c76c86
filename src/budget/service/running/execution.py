"""The run orchestration: open the store, resume or start the run, sample, verify, settle.

See :mod:`budget.service.running` for durability and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from budget.errors import InputError, RunBusyError, StoreError
from budget.money import from_micro, to_micro, usd
from budget.planner.models import Policy
from budget.service.running.backends import (
    DEFAULT_TIMEOUT_S,
    _backends,
    _costs,
    _one_request_fits,
    _sizing,
    _verifier,
)
from budget.service.running.lease import RunLease, cancel_on_stop_signals, stop_signals_interrupt
from budget.service.running.request import TIERS_OF, ProgressCallback, RunRequest, RunResult
from budget.service.running.result import _failure, _result
from budget.service.running.resume import Resumed, resume
from budget.service.running.store_writer import ReservationJournal, StoreWriter
from budget.service.running.worklist import _allocations, _plan_inputs, _work

if TYPE_CHECKING:
    from budget.executor.backends.base import Backend
    from budget.executor.costs import CostModel
    from budget.executor.records import Mode
    from budget.executor.runner import ProblemWork, RunnerOutcome
    from budget.store import SampleRecord as StoredSample
    from budget.store import Store
    from budget.tasks import Task
    from budget.verify.protocol import Verdict


def _open_store(request: RunRequest) -> Store:
    from budget.store import Store

    return Store(request.db)


def execute_run(request: RunRequest, *, progress: ProgressCallback | None = None) -> RunResult:
    """Run (or resume) a sampling run; see the module docstring.

    The steps, each a function of its own: :func:`resume` (a resumed run's request, lease and
    spend), :func:`prepare` (everything checked before anything is bought or created),
    :func:`open_run` (the run's record in the store), :func:`schedule` (the work still to buy),
    :func:`settle` (sample under the hard cap and close the writer) and :func:`store_outcome`
    (the run's final status and result).  SIGTERM and SIGHUP stop it as Ctrl-C does (see
    :mod:`budget.service.running.lease`).
    """
    with stop_signals_interrupt():
        return _execute_run(request, progress)


def _execute_run(request: RunRequest, progress: ProgressCallback | None) -> RunResult:
    from budget.store import text_hash

    store = _open_store(request)
    resumed: Resumed | None = None
    lease: RunLease | None = None
    try:
        if request.resume is not None:
            request, resumed = resume(store, request)
            lease = resumed.lease
        prepared = prepare(store, request, resumed)
        run_id, settings, lease = open_run(store, prepared, resumed, lease)
        existing = store.samples(run_id=run_id, with_verdicts=True)
        work = schedule(
            prepared.task, prepared.problem_ids, prepared.allocations, prepared.request.mode, existing
        )
        prompt_hashes = {(w.model, w.problem_id): text_hash(w.prompt.all_text()) for w in work}
        writer = StoreWriter(
            store, run_id, prepared.task.name, settings, prepared.request.store_completions, prompt_hashes,
            lease_token=lease.token,
        )  # fmt: skip
        started = time.monotonic()
        prior_spent, lost = (resumed.spent_micro, resumed.lost_micro) if resumed is not None else (0, 0)
        outcome, existing = settle(
            store, run_id, prepared, work, existing, writer, lease, prior_spent, progress
        )
        elapsed = time.monotonic() - started
        return store_outcome(store, run_id, lease, prepared, settings, outcome, elapsed, lost, existing)
    finally:
        if lease is not None:
            lease.release()
        store.close()


@dataclass(frozen=True)
class Prepared:
    """What a run is, checked before anything is bought or created.

    ``request`` is sized (concurrency and timeout chosen); ``stored_request`` is the request as
    asked, which is what the run keeps (a resume sizes it anew).
    """

    request: RunRequest
    stored_request: dict[str, Any]
    task: Task
    problem_ids: list[str]
    allocations: list[tuple[str, int, int]]
    models: list[str]
    cap_dollars: Decimal
    plan_doc: dict[str, Any] | None
    costs: dict[str, CostModel]
    snapshots: list[Any]
    concurrency_source: str
    timeout_source: str
    backends: dict[str, Backend]
    verify: Callable[[str, str], Mapping[str, Verdict]] | None


def with_plan_inputs(request: RunRequest, plan_inputs: Mapping[str, Any]) -> RunRequest:
    """``request`` with what it leaves open taken from the plan's inputs (task, problems, policy).

    The policy defaults to the plan's when the plan's is ``until-pass``, else ``fixed``.
    """
    update: dict[str, Any] = {}
    if not request.task and plan_inputs.get("task"):
        update["task"] = str(plan_inputs["task"])
    if request.problems is None and isinstance(plan_inputs.get("problems"), int):
        update["problems"] = plan_inputs["problems"]
    if request.policy is None:
        planned = plan_inputs.get("policy")
        update["policy"] = Policy.UNTIL_PASS if planned == Policy.UNTIL_PASS else Policy.FIXED
    return request.model_copy(update=update) if update else request


def prepare(store: Store, request: RunRequest, resumed: Resumed | None) -> Prepared:
    """Check the request and build what the run needs; nothing is bought or created here.

    Refuses (one-line errors) a missing task or cap, more problems than the task has,
    ``until-pass`` without verification, a plan that buys nothing, a cap below one request's
    worst case, unreachable backends and a verifier that cannot run.
    """
    from budget.tasks import load_task

    # a resume has the run's plan in the store (and its task and problems in its request)
    reads_plan = request.plan_file is not None and resumed is None
    plan_inputs = _plan_inputs(request.plan_file) if reads_plan and request.plan_file else {}
    request = with_plan_inputs(request, plan_inputs)
    if not request.task:
        raise InputError("--task is required")
    task = load_task(request.task)
    problem_ids = task.problem_ids()
    if request.problem_ids is not None:
        unknown = sorted(set(request.problem_ids) - set(problem_ids))
        if unknown or not request.problem_ids:
            raise InputError(f"no problem {unknown[0] if unknown else '(none given)'} in {task.name}")
        wanted = set(request.problem_ids)
        problem_ids = [p for p in problem_ids if p in wanted]
    elif request.problems is not None:
        if request.problems > len(problem_ids):
            raise InputError(
                f"--problems {request.problems} exceeds the {len(problem_ids)} problems of {task.name}"
            )
        problem_ids = problem_ids[: request.problems]
    if request.policy == Policy.UNTIL_PASS and request.verify == "none":
        raise InputError("--policy until-pass needs verification (drop --verify none)")
    if resumed is None:
        allocations, plan_doc = _allocations(request, len(problem_ids))
        if not allocations:
            raise InputError("the plan buys no samples")
    else:
        plan_doc = resumed.run.plan
        allocations = [tuple(a) for a in resumed.run.settings.get("allocations", [])]  # type: ignore[misc]
    models = list(dict.fromkeys(a[0] for a in allocations))
    cap_dollars = request.dollars
    if cap_dollars is None and plan_doc is not None:
        cap_dollars = usd(plan_doc["inputs"]["dollars"])
    if cap_dollars is None:
        raise InputError("--dollars is required (the hard cap)")
    if resumed is not None and cap_dollars != resumed.run.cap and to_micro(cap_dollars) < resumed.spent_micro:
        raise InputError(
            f"--dollars {cap_dollars} is below what run {resumed.run.run_id} has spent "
            f"(${from_micro(resumed.spent_micro)}): a cap cannot be lowered below its spend"
        )
    costs, snapshots = _costs(request, models)
    stored_request = request.model_dump(mode="json")  # as asked (None: sized anew on a resume)
    request, concurrency_source, timeout_source = _sizing(request, models)
    planned = sum(min(a[1], len(problem_ids)) * a[2] for a in allocations)
    prior_spent = resumed.spent_micro if resumed is not None else 0
    if resumed is None or len(store.finished_keys(resumed.run.run_id)) < planned:  # something to buy
        _one_request_fits(
            request, costs, _cheapest_prompts(task, problem_ids, models, request.mode),
            to_micro(cap_dollars), prior_spent,
        )  # fmt: skip
    backends = _backends(request, models)
    verify = _verifier(task, request)
    if verify is not None:  # refuse before paying for anything if verification cannot run
        verify(problem_ids[0], "")
    return Prepared(
        request=request,
        stored_request=stored_request,
        task=task,
        problem_ids=list(problem_ids),
        allocations=allocations,
        models=models,
        cap_dollars=cap_dollars,
        plan_doc=plan_doc,
        costs=costs,
        snapshots=snapshots,
        concurrency_source=concurrency_source,
        timeout_source=timeout_source,
        backends=backends,
        verify=verify,
    )


def open_run(
    store: Store, prepared: Prepared, resumed: Resumed | None, lease: RunLease | None
) -> tuple[str, dict[str, Any], RunLease]:
    """Record the run in the store (a new one, or a resumed one's new settings); mark it running.

    A new run gets its task's problems (once per store), its record, its lease and its price
    snapshots.  Returns the run id, its settings and its lease.
    """
    from budget.store import ProblemRecord, RunStatus

    task, request = prepared.task, prepared.request
    if resumed is None:
        settings: dict[str, Any] = {
            "request": prepared.stored_request,
            "allocations": [list(a) for a in prepared.allocations],
        }
        if store.task_size(task.name) != len(task.problems):  # recorded once per store
            store.add_task(
                task.name,
                [ProblemRecord(problem_id=p.id, prompt=p.prompt) for p in task.problems],
                source=task.source,
            )
        run_record = store.create_run(
            task.name, models=prepared.models, cap=prepared.cap_dollars, plan=prepared.plan_doc,
            settings=settings,
        )  # fmt: skip
        run_id = run_record.run_id
        lease = RunLease(store, run_id).acquire()
        store.record_prices(run_id, prepared.snapshots)
        from budget.service.predictions import store_predictions

        store_predictions(store, run_id, task.name, prepared.allocations, request.policy or Policy.FIXED)
        prior_spent = 0
    else:
        assert lease is not None
        run_id = resumed.run.run_id
        settings = {**resumed.run.settings, "request": prepared.stored_request}
        prior_spent = resumed.spent_micro
    settings["concurrency"] = {"chosen": request.concurrency, "source": prepared.concurrency_source}
    settings["timeout_s"] = {"chosen": request.timeout_s, "source": prepared.timeout_source}
    # the lost reservations are now part of the spend: a later resume must not count them again
    settings["ledger"] = {"spent_micro": prior_spent, "reserved_micro": 0}
    store.update_run(
        run_id, status=RunStatus.RUNNING, spent=from_micro(prior_spent), settings=settings,
        cap=prepared.cap_dollars, lease_token=lease.token,  # a resume's --dollars is the run's cap
    )  # fmt: skip
    return run_id, settings, lease


def _solved(existing: Sequence[StoredSample]) -> set[tuple[str, str]]:
    """(model, problem) pairs with a sample the production verifier accepted."""
    return {(s.model, s.problem_id) for s in existing if (v := s.verdicts.get("verifier")) and v.passed}


def schedule(
    task: Task,
    problem_ids: Sequence[str],
    allocations: Sequence[tuple[str, int, int]],
    mode: Mode,
    existing: Sequence[StoredSample],
) -> list[ProblemWork]:
    """The work still to buy: each problem's planned samples less those stored, solved ones marked."""
    done_keys = {(s.model, s.problem_id, s.sample_index) for s in existing}
    solved = _solved(existing)
    return [
        replace(w, indices=_not_done(w, done_keys), solved=(w.model, w.problem_id) in solved)
        for w in _work(task, problem_ids, allocations, mode)
    ]


def settle(
    store: Store,
    run_id: str,
    prepared: Prepared,
    work: Sequence[ProblemWork],
    existing: list[StoredSample],
    writer: StoreWriter,
    lease: RunLease,
    prior_spent: int,
    progress: ProgressCallback | None,
) -> tuple[RunnerOutcome, list[StoredSample]]:
    """Verify what a killed session left unverified, then sample under the hard cap.

    ``prior_spent`` (micro-dollars) is what the run had spent before this session.  Closes the
    writer.  Returns the runner's outcome and the stored samples as they were before sampling (with the
    verdicts added here).  A run that does not end on its own terms is marked interrupted or
    failed in the store before the exception goes on.
    """
    from budget.executor.ledger import Ledger
    from budget.executor.runner import Runner, RunnerSettings
    from budget.store import RunStatus

    request, verify = prepared.request, prepared.verify
    try:
        if verify is not None:
            _verify_missing(existing, TIERS_OF[request.verify], verify, writer, request.verify_workers)
            existing = store.samples(run_id=run_id, with_verdicts=True) if existing else existing
            solved = _solved(existing)
            work = [replace(w, solved=(w.model, w.problem_id) in solved) for w in work]
        journal = ReservationJournal(store, run_id, lease.token, writer)
        ledger = Ledger(to_micro(prepared.cap_dollars), spent_micro=prior_spent, journal=journal)
        runner = Runner(
            backends=prepared.backends,
            costs=prepared.costs,
            ledger=ledger,
            sink=writer,
            settings=RunnerSettings(
                policy=request.policy or Policy.FIXED,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                top_p=request.top_p,
                timeout_s=request.timeout_s or DEFAULT_TIMEOUT_S,
                seed=request.seed,
                max_attempts=request.max_attempts,
                backoff_base_s=request.backoff_base_s,
                verify_workers=request.verify_workers,
            ),
            verify=verify,
            progress=progress,
        )
        outcome = asyncio.run(_run_and_close(runner, work, prepared.backends))
    except BaseException as exc:  # the run did not end on its own terms: say so in the store
        writer.close_quietly()
        stopped = RunStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
        # a full disk may refuse this too: the open reservations still tell the next resume
        with contextlib.suppress(StoreError, RunBusyError):  # a lost lease: the run is another's
            store.update_run(run_id, status=stopped, lease_token=lease.token)
        raise
    try:
        writer.close()
    except StoreError as exc:  # e.g. a full disk: what was sent is on record as reservations
        with contextlib.suppress(StoreError, RunBusyError):
            store.update_run(run_id, status=RunStatus.FAILED, lease_token=lease.token)
        raise StoreError(f"{exc} (run {run_id} stopped; resume with --resume {run_id})") from exc
    return outcome, existing


def store_outcome(
    store: Store,
    run_id: str,
    lease: RunLease,
    prepared: Prepared,
    settings: dict[str, Any],
    outcome: RunnerOutcome,
    elapsed: float,
    lost: int,
    existing: Sequence[StoredSample],
) -> RunResult:
    """Record the run's final status, spend and outcome; its result, or :class:`RunFailedError` with it."""
    from budget.errors import RunFailedError
    from budget.executor.runner import StopReason
    from budget.store import RunStatus
    from budget.store import location as store_location

    request = prepared.request
    status = {
        StopReason.COMPLETED: RunStatus.FINISHED,
        StopReason.BUDGET: RunStatus.FINISHED,
        StopReason.INTERRUPTED: RunStatus.INTERRUPTED,
        StopReason.ERROR: RunStatus.FAILED,
    }[outcome.stop_reason]
    reason = _failure(outcome)
    if reason:
        status = RunStatus.FAILED
    settings["outcome"] = {"stop_reason": outcome.stop_reason.value, "error": reason}
    store.update_run(
        run_id,
        status=status,
        spent=from_micro(outcome.spent_micro),
        note=reason,
        settings=settings,
        lease_token=lease.token,
    )
    result = _result(
        store, run_id, prepared.task.name, len(prepared.problem_ids), outcome, prepared.cap_dollars,
        request, elapsed, lost, existing,
    )  # fmt: skip
    result = result.model_copy(
        update={
            "db": store_location.display(store.url),
            "error": reason,
            "concurrency": request.concurrency or 0,
            "concurrency_source": prepared.concurrency_source,
            "timeout_s": request.timeout_s or 0.0,
            "timeout_source": prepared.timeout_source,
        }
    )
    if reason:
        raise RunFailedError(f"{reason} (run {run_id} stopped; resume with --resume {run_id})", result)
    return result


def _not_done(w: ProblemWork, done_keys: set[tuple[str, str, int]]) -> Sequence[int]:
    """``w``'s indices less those already stored; still a range when none of them is."""
    done = sorted(i for m, p, i in done_keys if m == w.model and p == w.problem_id)
    if not done:
        return w.indices
    if isinstance(w.indices, range) and w.indices.start == 0 and done == list(range(len(done))):
        return range(len(done), len(w.indices))  # the usual resume: a prefix was bought
    return tuple(i for i in w.indices if (w.model, w.problem_id, i) not in done_keys)


def _cheapest_prompts(
    task: Any, problem_ids: Sequence[str], models: Sequence[str], mode: str
) -> dict[str, Any]:
    """The shortest prompt each model may be sent (its cheapest request's prompt)."""
    from budget.executor.prompts import build_prompt
    from budget.executor.records import Mode

    prompts = [build_prompt(task, task.problem(p), Mode(mode)) for p in problem_ids]
    if not prompts:
        return {}
    shortest = min(prompts, key=lambda p: len(p.all_text()))
    return dict.fromkeys(models, shortest)


async def _run_and_close(runner: Any, work: Sequence[ProblemWork], backends: Mapping[str, Backend]) -> Any:
    task = asyncio.current_task()
    assert task is not None
    undo = cancel_on_stop_signals(task)  # SIGTERM, SIGHUP: stop as Ctrl-C does
    try:
        return await runner.run(work)
    finally:
        undo()
        for b in {id(b): b for b in backends.values()}.values():
            await b.aclose()


def _verify_missing(
    existing: Sequence[Any],
    tiers: Sequence[str],
    verify: Callable[[str, str], Mapping[str, Verdict]],
    writer: StoreWriter,
    workers: int,
) -> None:
    """Verify stored samples that lack a verdict of a requested tier (a resume after a kill)."""
    from concurrent.futures import ThreadPoolExecutor

    from budget.executor.records import BoughtSample

    todo = [s for s in existing if s.completion is not None and any(t not in s.verdicts for t in tiers)]
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(pool.map(lambda s: verify(s.problem_id, s.completion), todo))
    for s, v in zip(todo, verdicts, strict=True):
        record = BoughtSample(
            model=s.model,
            problem_id=s.problem_id,
            index=s.sample_index,
            seed=s.seed,
            completion=s.completion,
            prompt_tokens=s.prompt_tokens,
            output_tokens=s.output_tokens,
            cost_micro=to_micro(s.cost),
            latency_s=s.latency_s,
        )
        writer.verdicts(record, v)
