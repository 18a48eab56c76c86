"""Use case: carry out a plan -- sample models on a task under a hard cap, verify, store.

:func:`execute_run` joins the task (``budget.tasks``), prices (``budget.pricing``), the
executor (backends, ledger, runner), verification (``budget.service.verification``) and the
store.  What to sample comes from ``--samples K`` (K per problem for every model), a plan file
(``--plan``), or a plan made on the spot from ``--dollars`` (``budget.service.planning``).

**Durability.**  Samples go to the store from a writer thread as they complete; what has
queued up since the last write (gathered for :data:`WRITE_GATHER_S`) is committed in one
transaction, and verdicts follow their samples.  The run's spend (settled, and reserved by
requests in flight) is written with them, at most every :data:`SPEND_WRITE_INTERVAL_S`
seconds.  A killed process loses at most the requests in flight and the samples not yet
committed.  ``--resume RUN_ID`` reloads the run's
request, skips every stored sample, verifies stored samples that lack a verdict, and starts
its ledger at the spend already recorded -- plus, if the run did not stop cleanly, the
reservations that were in flight when it died (they may have been billed), so the cap holds
across kills too.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from budget import SCHEMA_VERSION
from budget.errors import BudgetError, InputError, PricingError, StoreError, UnknownNameError
from budget.money import USD, from_micro, to_micro, usd

if TYPE_CHECKING:
    from budget.executor.backends.base import Backend
    from budget.executor.costs import CostModel
    from budget.executor.records import SampleRecord
    from budget.executor.runner import ProblemWork, Progress
    from budget.store import Store
    from budget.tasks import Task
    from budget.verify.protocol import Verdict

VerifyTiers = Literal["both", "verifier", "none"]
TIERS_OF: dict[str, tuple[str, ...]] = {
    "both": ("verifier", "ground_truth"),
    "verifier": ("verifier",),
    "none": (),
}


class SamplingOptions(BaseModel):
    """The sampling settings ``budget run`` and ``budget calibrate`` share."""

    model_config = ConfigDict(frozen=True)

    task: str | None = None
    models: list[str] = Field(default_factory=list)
    dollars: Decimal | None = None
    problems: int | None = Field(default=None, gt=0)
    samples: int | None = Field(default=None, gt=0)
    api_base: str | None = None
    prices: list[str] = Field(default_factory=list)
    machine: str | None = None
    mode: Literal["completion", "chat"] = "completion"
    seed: int = 0
    max_tokens: int = Field(default=512, gt=0)
    temperature: float = Field(default=0.8, ge=0)
    concurrency: int = Field(default=8, gt=0, le=1024)
    backend: Literal["auto", "litellm", "server", "vllm"] = "auto"
    verify: VerifyTiers = "both"
    unsafe_no_sandbox: bool = False
    db: str | None = None

    @classmethod
    def parse(cls, dollars: str | None = None, **kw: Any) -> Self:
        """Validate ``kw`` with ``dollars`` (a command-line string) as exact, positive USD."""
        amount = None
        if dollars is not None:
            amount = usd(dollars, what="--dollars")
            if amount <= 0:
                raise InputError(f"--dollars must be positive, got {dollars}")
        return cls.model_validate({"dollars": amount, **kw})

    def sampling(self) -> dict[str, Any]:
        """These shared settings as keyword arguments (to build another request from them)."""
        return self.model_dump(include=set(SamplingOptions.model_fields))


class RunRequest(SamplingOptions):
    """What ``budget run`` asks for (stored with the run, so a resume can repeat it)."""

    policy: Literal["fixed", "until-pass"] | None = None  # None: the plan's, else fixed
    top_p: float = Field(default=0.95, gt=0, le=1)
    n_per_request: int | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=8, gt=0)
    backoff_base_s: float = Field(default=0.5, ge=0)
    verify_workers: int = Field(default=2, gt=0)
    plan_file: Path | None = None
    resume: str | None = None
    store_completions: bool = True


class ModelResult(BaseModel):
    model: str
    samples: int
    problems_solved: int
    spent: USD
    failed_samples: int = 0
    retries: int = 0


class RunResult(BaseModel):
    """The outcome of ``budget run`` (``--json`` prints it)."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    task: str
    status: str
    stop_reason: str
    cap: USD
    spent: USD
    samples: int
    problems: int
    models: list[ModelResult]
    unattributed: USD = Decimal(0)
    lost_in_flight: USD = Decimal(0)
    elapsed_s: float = 0.0
    verified: str = "both"
    db: str = ""
    error: str = ""


ProgressCallback = Callable[["Progress"], None]

#: The run's spend (settled and in flight) is written at most this often, and at the end.
SPEND_WRITE_INTERVAL_S = 0.2
#: The store writer waits this long after a first item for more to write in the same transaction.
WRITE_GATHER_S = 0.05


# --- the store writer ---------------------------------------------------------------------------
class StoreWriter:
    """Writes samples, verdicts and the run's spend from one thread, in arrival order."""

    def __init__(
        self, store: Store, run_id: str, task: str, settings: dict[str, Any], keep_text: bool
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.task = task
        self.settings = settings
        self.keep_text = keep_text
        self.error: BaseException | None = None
        self._pending_spend: tuple[int, int] | None = None
        self._spend_written = 0.0
        self._closing = threading.Event()
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="budget-store-writer", daemon=True)
        self._thread.start()

    def _check(self) -> None:
        if self.error is not None:
            raise StoreError(f"writing to the store failed: {self.error}")

    def samples(self, records: Sequence[SampleRecord]) -> None:
        self._check()
        self._queue.put(("samples", list(records)))

    def verdicts(self, record: SampleRecord, verdicts: Mapping[str, Verdict]) -> None:
        self._check()
        self._queue.put(("verdicts", (record, dict(verdicts))))

    def spend(self, spent_micro: int, reserved_micro: int) -> None:
        self._queue.put(("spend", (spent_micro, reserved_micro)))

    def close_quietly(self) -> None:
        """Flush and stop, keeping the first error for :meth:`close` to raise."""
        if self._thread.is_alive():
            self._closing.set()
            self._queue.put(None)
            self._thread.join()

    def close(self) -> None:
        self.close_quietly()
        self._check()

    def _loop(self) -> None:
        from budget.store import SampleKey

        while True:
            item = self._queue.get()
            if item is None:
                if self._pending_spend is not None and self.error is None:
                    try:
                        self._write_spend(*self._pending_spend)
                    except BaseException as exc:
                        self.error = exc
                return
            batch = [item]
            self._closing.wait(WRITE_GATHER_S)  # let a few more arrive: one transaction, fewer GIL hand-offs
            while True:  # drain what is queued: the spend needs writing once per batch only
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            spend: tuple[int, int] | None = None
            try:
                queued: list[Any] = []  # samples of this batch, written in one transaction
                for kind, payload in batch:
                    if kind == "samples":
                        queued.extend(self._stored(r) for r in payload)
                        continue
                    if queued:  # a verdict's sample must be stored before the verdict
                        self.store.add_samples(queued)
                        queued = []
                    if kind == "verdicts":
                        record, verdicts = payload
                        key = SampleKey(self.run_id, record.model, record.problem_id, record.index)
                        for tier, verdict in verdicts.items():
                            self.store.set_verdict(key, tier, verdict)
                    else:
                        spend = payload
                if queued:
                    self.store.add_samples(queued)
                if spend is not None:
                    self._pending_spend = spend
                now = time.monotonic()
                if self._pending_spend is not None and now - self._spend_written >= SPEND_WRITE_INTERVAL_S:
                    self._write_spend(*self._pending_spend)
                    self._pending_spend, self._spend_written = None, now
            except BaseException as exc:
                self.error = exc
                return

    def _write_spend(self, spent_micro: int, reserved_micro: int) -> None:
        self.settings["ledger"] = {"spent_micro": spent_micro, "reserved_micro": reserved_micro}
        self.store.update_run(self.run_id, spent=from_micro(spent_micro), settings=self.settings)

    def _stored(self, r: SampleRecord) -> Any:
        from budget.store import SampleRecord as StoredSample
        from budget.store.records import utcnow

        return StoredSample.model_construct(
            run_id=self.run_id,
            model=r.model,
            problem_id=r.problem_id,
            sample_index=r.index,
            task=self.task,
            seed=r.seed,
            completion=r.completion if self.keep_text else None,
            completion_hash="" if self.keep_text else _hash(r.completion),
            prompt_tokens=r.prompt_tokens,
            output_tokens=r.output_tokens,
            cost=from_micro(r.cost_micro),
            latency_s=r.latency_s,
            finish_reason=r.finish_reason[:40],
            prompt_hash="",
            created_at=utcnow(),
            verdicts={},
        )


def _hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- what to sample -------------------------------------------------------------------------------
def _allocations(
    request: RunRequest, n_problems: int
) -> tuple[list[tuple[str, int, int]], dict[str, Any] | None]:
    """(model, problems, samples per problem) per model, and the plan document if any."""
    if request.samples is not None:
        if not request.models:
            raise InputError("--models is required with --samples")
        return [(m, n_problems, request.samples) for m in request.models], None
    if request.plan_file is not None:
        import json

        try:
            doc = json.loads(request.plan_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the plan {request.plan_file}: {exc}") from exc
    else:
        if request.dollars is None:
            raise InputError("give --dollars (with --samples K, or to plan first), --plan FILE or --resume")
        from budget.service.planning import PlanRequest, make_plan
        from budget.service.store_link import user_candidates

        try:
            result = make_plan(
                PlanRequest(
                    dollars=request.dollars,
                    task=request.task,
                    problems=n_problems,
                    models=request.models or None,
                    policy=request.policy or "fixed",  # type: ignore[arg-type]
                    hard_cap=True,
                    seed=request.seed,
                ),
                user_candidates=user_candidates(request.db),
            )
        except UnknownNameError as exc:
            raise InputError(
                f"cannot plan: {exc}; pass --samples K (samples per problem) or --plan FILE, "
                "or run budget calibrate first"
            ) from exc
        doc = result.model_dump(mode="json")
    try:
        allocs = doc["recommendation"]["allocations"]
        out = [(str(a["model"]), int(a["problems"]), int(a["samples_per_problem"])) for a in allocs]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the plan has no recommendation with allocations ({exc})") from exc
    return [a for a in out if a[1] > 0 and a[2] > 0], doc


def _plan_inputs(path: Path) -> dict[str, Any]:
    """The ``inputs`` of a plan file (task, policy, ...); empty when unreadable."""
    import json

    try:
        inputs = json.loads(path.read_text(encoding="utf-8"))["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return inputs if isinstance(inputs, dict) else {}


def _work(
    task: Task, problem_ids: Sequence[str], allocations: Sequence[tuple[str, int, int]], mode: str
) -> list[ProblemWork]:
    """Problems are dealt to allocations in order: the first gets the first problems, and so on."""
    from budget.executor.prompts import build_prompt
    from budget.executor.records import Mode
    from budget.executor.runner import ProblemWork

    out, start = [], 0
    for model, problems, k in allocations:
        chosen = problem_ids[start : start + problems]
        if len(allocations) > 1 and sum(a[1] for a in allocations) <= len(problem_ids):
            start += problems
        for pid in chosen:
            prompt = build_prompt(task, task.problem(pid), Mode(mode))
            out.append(ProblemWork(model=model, problem_id=pid, prompt=prompt, indices=tuple(range(k))))
    return out


# --- backends and costs -------------------------------------------------------------------------
def _costs(request: RunRequest, models: Sequence[str]) -> tuple[dict[str, CostModel], list[Any]]:
    from budget.executor.costs import BusyClock, MachineTimeCost, TokenCost, parse_price
    from budget.pricing import default_price_book
    from budget.store import PriceSnapshot

    book = default_price_book()
    overrides = {p.model: p for p in (parse_price(s) for s in request.prices)}
    costs: dict[str, CostModel] = {}
    snaps = []
    machine = book.machine(request.machine) if request.machine else None
    clock = BusyClock()
    for m in models:
        if m in overrides:
            price = overrides[m]
            costs[m] = TokenCost(price)
        elif machine is not None:
            costs[m] = MachineTimeCost(machine, clock)
            snaps.append(
                PriceSnapshot(
                    model=m,
                    kind="local_machine",
                    usd_per_hour=machine.usd_per_hour,
                    machine=machine.name,
                    source=machine.source,
                    as_of=machine.as_of,
                )
            )
            continue
        else:
            try:
                price = book.token_price(m)
            except (UnknownNameError, PricingError) as exc:
                raise PricingError(
                    f"no price for model {m!r}: pass --price {m}=IN,OUT (USD per million tokens) "
                    "or --machine NAME for a local server"
                ) from exc
            costs[m] = TokenCost(price)
        snaps.append(
            PriceSnapshot(
                model=m,
                input_per_mtok=price.input_per_mtok,
                output_per_mtok=price.output_per_mtok,
                cached_input_per_mtok=price.cached_input_per_mtok,
                source=price.source,
                as_of=price.as_of,
                litellm_version=book.litellm_version,
            )
        )
    return costs, snaps


def _backends(request: RunRequest, models: Sequence[str]) -> dict[str, Backend]:
    kind = request.backend
    if kind == "auto":
        kind = "server" if request.api_base else "litellm"
    out: dict[str, Backend] = {}
    if kind == "server":
        from budget.executor.backends.openai_server import OpenAIServerBackend

        if not request.api_base:
            raise InputError("--backend server needs --api-base URL")
        shared = OpenAIServerBackend(
            request.api_base, concurrency=request.concurrency, max_n=request.n_per_request or 1
        )
        return dict.fromkeys(models, shared)
    if kind == "vllm":
        from budget.executor.backends.vllm_offline import VLLMOfflineBackend

        if request.machine is None:
            raise InputError("the vLLM backend is priced by GPU time: pass --machine (e.g. h100-80gb)")
        for m in models:
            out[m] = VLLMOfflineBackend(m, max_n=request.n_per_request or 1024)
        return out
    from budget.executor.backends.litellm_api import LiteLLMBackend

    for m in models:
        out[m] = LiteLLMBackend(m, concurrency=request.concurrency, max_n=request.n_per_request)
    return out


def _verifier(task: Task, request: RunRequest) -> Callable[[str, str], Mapping[str, Verdict]] | None:
    tiers = TIERS_OF[request.verify]
    if not tiers:
        return None
    from budget.service.verification import verify_one

    def verify(problem_id: str, completion: str) -> Mapping[str, Verdict]:
        return {
            tier: verify_one(
                task,
                problem_id,
                completion,
                tier=tier,  # type: ignore[arg-type]
                unsafe_no_sandbox=request.unsafe_no_sandbox,
                mode=request.mode,
            )
            for tier in tiers
        }

    return verify


# --- the use case -------------------------------------------------------------------------------
def _open_store(request: RunRequest) -> Store:
    from budget.store import Store

    return Store(request.db)


def _resume_request(store: Store, request: RunRequest) -> tuple[RunRequest, Any]:
    assert request.resume is not None
    run = store.get_run(request.resume)
    stored = run.settings.get("request")
    if not isinstance(stored, dict):
        raise StoreError(f"run {run.run_id} was not started by budget run (no stored request)")
    session = {k: v for k, v in request.model_dump().items() if k in _SESSION_FIELDS and v is not None}
    if request.dollars is not None:
        session["dollars"] = request.dollars
    merged = RunRequest.model_validate({**stored, **session, "resume": run.run_id, "db": request.db})
    return merged, run


#: Options a resumed run may change (where the server is, how hard to push it).
_SESSION_FIELDS = frozenset({"api_base", "concurrency", "timeout_s", "unsafe_no_sandbox", "verify_workers"})


def execute_run(request: RunRequest, *, progress: ProgressCallback | None = None) -> RunResult:
    """Run (or resume) a sampling run; see the module docstring."""
    from budget.executor.ledger import Ledger
    from budget.executor.runner import Runner, RunnerSettings, RunPolicy, StopReason
    from budget.store import ProblemRecord, RunStatus
    from budget.store import location as store_location
    from budget.tasks import load_task

    store = _open_store(request)
    try:
        prior_spent = 0
        lost = 0
        if request.resume is not None:
            request, run = _resume_request(store, request)
            ledger_doc = run.settings.get("ledger") or {}
            prior_spent = max(to_micro(run.spent), to_micro(store.sample_spend(run.run_id)))
            if run.status in (RunStatus.RUNNING, RunStatus.CREATED):  # died without settling
                lost = int(ledger_doc.get("reserved_micro", 0))
            prior_spent += lost
            plan_doc = run.plan
            run_id = run.run_id
            settings = dict(run.settings)
        else:
            run_id, plan_doc, settings = "", None, {}
        plan_inputs = _plan_inputs(request.plan_file) if request.plan_file is not None else {}
        if not request.task and plan_inputs.get("task"):
            request = request.model_copy(update={"task": str(plan_inputs["task"])})
        if request.policy is None:  # the plan's policy, else fixed
            planned = plan_inputs.get("policy")
            request = request.model_copy(update={"policy": planned if planned == "until-pass" else "fixed"})
        if not request.task:
            raise InputError("--task is required")
        task = load_task(request.task)
        problem_ids = task.problem_ids()
        if request.problems is not None:
            if request.problems > len(problem_ids):
                raise InputError(
                    f"--problems {request.problems} exceeds the {len(problem_ids)} problems of {task.name}"
                )
            problem_ids = problem_ids[: request.problems]
        if request.policy == "until-pass" and request.verify == "none":
            raise InputError("--policy until-pass needs verification (drop --verify none)")
        if request.resume is None:
            allocations, plan_doc = _allocations(request, len(problem_ids))
            if not allocations:
                raise InputError("the plan buys no samples")
        else:
            allocations = [tuple(a) for a in settings.get("allocations", [])]  # type: ignore[misc]
        models = list(dict.fromkeys(a[0] for a in allocations))
        cap_dollars = request.dollars
        if cap_dollars is None and plan_doc is not None:
            cap_dollars = usd(plan_doc["inputs"]["dollars"])
        if cap_dollars is None:
            raise InputError("--dollars is required (the hard cap)")
        costs, snapshots = _costs(request, models)
        backends = _backends(request, models)
        verify = _verifier(task, request)
        if verify is not None:  # refuse before paying for anything if verification cannot run
            verify(problem_ids[0], "")
        if request.resume is None:
            settings = {
                "request": request.model_dump(mode="json"),
                "allocations": [list(a) for a in allocations],
            }
            if store.task_size(task.name) != len(task.problems):  # recorded once per store
                store.add_task(
                    task.name,
                    [ProblemRecord(problem_id=p.id, prompt=p.prompt) for p in task.problems],
                    source=task.source,
                )
            run_record = store.create_run(
                task.name, models=models, cap=cap_dollars, plan=plan_doc, settings=settings
            )
            run_id = run_record.run_id
            store.record_prices(run_id, snapshots)
        else:
            settings["request"] = request.model_dump(mode="json")
        # the lost reservations are now part of the spend: a later resume must not count them again
        settings["ledger"] = {"spent_micro": prior_spent, "reserved_micro": 0}
        store.update_run(run_id, status=RunStatus.RUNNING, spent=from_micro(prior_spent), settings=settings)

        existing = store.samples(run_id=run_id, with_verdicts=True)
        done_keys = {(s.model, s.problem_id, s.sample_index) for s in existing}
        tiers = TIERS_OF[request.verify]
        solved = {(s.model, s.problem_id) for s in existing if (v := s.verdicts.get("verifier")) and v.passed}
        work = [
            w.__class__(
                model=w.model,
                problem_id=w.problem_id,
                prompt=w.prompt,
                indices=tuple(i for i in w.indices if (w.model, w.problem_id, i) not in done_keys),
                solved=(w.model, w.problem_id) in solved,
            )
            for w in _work(task, problem_ids, allocations, request.mode)
        ]
        writer = StoreWriter(store, run_id, task.name, settings, request.store_completions)
        started = time.monotonic()
        try:
            if verify is not None:
                _verify_missing(existing, tiers, verify, writer, request.verify_workers)
                existing = store.samples(run_id=run_id, with_verdicts=True) if existing else existing
                solved = {
                    (s.model, s.problem_id)
                    for s in existing
                    if (v := s.verdicts.get("verifier")) and v.passed
                }
                work = [
                    w.__class__(**{**w.__dict__, "solved": (w.model, w.problem_id) in solved}) for w in work
                ]
            ledger = Ledger(to_micro(cap_dollars), spent_micro=prior_spent)
            runner = Runner(
                backends=backends,
                costs=costs,
                ledger=ledger,
                sink=writer,
                settings=RunnerSettings(
                    policy=RunPolicy(request.policy or "fixed"),
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    top_p=request.top_p,
                    timeout_s=request.timeout_s,
                    seed=request.seed,
                    max_attempts=request.max_attempts,
                    backoff_base_s=request.backoff_base_s,
                    verify_workers=request.verify_workers,
                ),
                verify=verify,
                progress=progress,
            )
            outcome = asyncio.run(_run_and_close(runner, work, backends))
        except BaseException as exc:  # the run did not end on its own terms: say so in the store
            writer.close_quietly()
            stopped = RunStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
            store.update_run(run_id, status=stopped)
            raise
        writer.close()
        elapsed = time.monotonic() - started
        status = {
            StopReason.COMPLETED: RunStatus.FINISHED,
            StopReason.BUDGET: RunStatus.FINISHED,
            StopReason.INTERRUPTED: RunStatus.INTERRUPTED,
            StopReason.ERROR: RunStatus.FAILED,
        }[outcome.stop_reason]
        store.update_run(run_id, status=status, spent=from_micro(outcome.spent_micro))
        result = _result(
            store, run_id, task.name, len(problem_ids), outcome, cap_dollars, request, elapsed, lost, existing
        )
        result = result.model_copy(update={"db": store_location.display(store.url)})
        if outcome.stop_reason is StopReason.ERROR:
            from budget.errors import BackendError

            raise BackendError(f"{outcome.error} (run {run_id} stopped; resume with --resume {run_id})")
        return result
    finally:
        store.close()


async def _run_and_close(runner: Any, work: Sequence[ProblemWork], backends: Mapping[str, Backend]) -> Any:
    try:
        return await runner.run(work)
    finally:
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

    from budget.executor.records import SampleRecord

    todo = [s for s in existing if s.completion is not None and any(t not in s.verdicts for t in tiers)]
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(pool.map(lambda s: verify(s.problem_id, s.completion), todo))
    for s, v in zip(todo, verdicts, strict=True):
        record = SampleRecord(
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


def _result(
    store: Store,
    run_id: str,
    task: str,
    problems: int,
    outcome: Any,
    cap: Decimal,
    request: RunRequest,
    elapsed: float,
    lost: int,
    earlier: Sequence[Any],
) -> RunResult:
    """The run's totals: samples stored by earlier sessions plus this session's tallies.

    (This session's samples are all in the store: the writer raises if one could not be kept.)
    """
    per: dict[str, dict[str, Any]] = {}
    for s in earlier:
        row = per.setdefault(s.model, {"samples": 0, "spent": Decimal(0), "solved": set()})
        row["samples"] += 1
        row["spent"] += s.cost
        v = s.verdicts.get("verifier")
        if v is not None and v.passed:
            row["solved"].add(s.problem_id)
    models = []
    for m, tally in outcome.tallies.items():
        row = per.get(m, {"samples": 0, "spent": Decimal(0), "solved": set()})
        models.append(
            ModelResult(
                model=m,
                samples=row["samples"] + tally.samples,
                problems_solved=len(row["solved"] | tally.solved),
                spent=row["spent"] + from_micro(tally.spent_micro),
                failed_samples=tally.failed_samples,
                retries=tally.retries,
            )
        )
    run = store.get_run(run_id)
    return RunResult(
        run_id=run_id,
        task=task,
        status=run.status.value,
        stop_reason=outcome.stop_reason.value,
        cap=cap,
        spent=from_micro(outcome.spent_micro),
        samples=sum(m.samples for m in models),
        problems=problems,
        models=models,
        unattributed=from_micro(outcome.unattributed_micro),
        lost_in_flight=from_micro(lost),
        elapsed_s=round(elapsed, 3),
        verified=request.verify,
    )


__all__ = ["BudgetError", "ModelResult", "RunRequest", "RunResult", "StoreWriter", "execute_run"]
