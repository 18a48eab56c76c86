"""Use case: verify samples against a task, on the production tier, the ground-truth tier or both.

- :func:`verify_one`: one sample, one tier -> a :class:`~budget.verify.protocol.Verdict`.
- :func:`verify_batch`: many samples on a worker pool; verdicts in input order; never crashes
  mid-batch: a bad row (unknown problem id, a verifier that raises) becomes an ``error`` verdict
  and the other rows keep theirs.  Only a refusal that concerns every row (no working sandbox,
  a task that names an unknown verifier) is raised, before anything runs.
- :func:`verify_samples`: the ``budget verify`` use case: read a samples JSONL file (rows
  ``task_id``, ``completion``, optional ``model`` and ``mode``), verify, and summarise pass@k per
  model and, with both tiers, the false-positive rate of the production check (accepted by the
  verifier, rejected by the ground truth; Stroebl, Kapoor, Narayanan 2024, "Inference Scaling
  fLaws").

Chat replies (``mode = "chat"``) of code tasks are reduced to code first with
:func:`budget.tasks.humaneval.completion_from_reply`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from budget import SCHEMA_VERSION
from budget.errors import BudgetError, DataError, InputError
from budget.executor.prompts import CODE_VERIFIERS
from budget.executor.records import Mode
from budget.service.progress import Step, StepCallback
from budget.tasks import ALL_TIERS, Task, Tier, load_task
from budget.verify.protocol import Outcome, Verdict, Verifier

TierChoice = Literal["verifier", "ground_truth", "both"]
MAX_COMPLETION_CHARS = 1_000_000


class SampleRow(BaseModel):
    """One sample to verify: the problem id, the model's output, who produced it, in which mode."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    task_id: str = Field(min_length=1)
    completion: str
    model: str = ""
    mode: Mode = Mode.COMPLETION

    @field_validator("task_id", "model")
    @classmethod
    def _text(cls, value: str) -> str:
        r"""A name is text: a lone surrogate (JSON ``"\ud800"``) is no character of any encoding."""
        if _SURROGATE.search(value):
            raise ValueError("not text (a lone surrogate, e.g. \\ud800)")
        return value

    @field_validator("completion")
    @classmethod
    def _completion(cls, value: str) -> str:
        """A reply is text: each lone surrogate becomes U+FFFD, as a UTF-8 decoder would read it."""
        return _SURROGATE.sub("\ufffd", value)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _error(detail: str, started: float | None = None) -> Verdict:
    took = 0.0 if started is None else max(0.0, time.monotonic() - started)
    return Verdict(passed=False, outcome=Outcome.ERROR, duration_s=took, detail=detail[:500])


def _resolve_task(task: Task | str | Path) -> Task:
    return task if isinstance(task, Task) else load_task(task)


def _plugin(name: str) -> Verifier:
    """The verifier plug-in called ``name`` (from the top-level ``verifiers/`` folder)."""
    from budget.verify.plugins import load_verifier

    return load_verifier(name)


def _settings(base: dict[str, Any], timeout_s: float | None, unsafe_no_sandbox: bool) -> dict[str, Any]:
    settings = dict(base)
    if timeout_s is not None:
        if not timeout_s > 0:
            raise InputError(f"timeout must be > 0 seconds, not {timeout_s}")
        settings["timeout_s"] = float(timeout_s)
    settings["unsafe_no_sandbox"] = bool(unsafe_no_sandbox)
    return settings


def prepare_completion(task: Task, problem_id: str, completion: str, mode: Mode, verifier: str) -> str:
    """The completion as the verifier must see it: chat replies of code tasks reduced to code."""
    if mode == Mode.CHAT and verifier in CODE_VERIFIERS:
        from budget.tasks.humaneval import completion_from_reply

        return completion_from_reply(completion, task.problem(problem_id).entry_point)
    return completion


def _check(
    task: Task,
    problem_id: str,
    completion: str,
    tier: Tier,
    timeout_s: float | None,
    unsafe_no_sandbox: bool,
    mode: Mode,
) -> Verdict:
    """One check; every failure of a single row is an ``error`` verdict, never an exception."""
    started = time.monotonic()
    if not task.has_problem(problem_id):
        return _error(f"unknown task id {problem_id!r} for task {task.name}")
    if len(completion) > MAX_COMPLETION_CHARS:
        return _error(f"completion too long ({len(completion)} characters > {MAX_COMPLETION_CHARS})")
    try:
        spec, view = task.check_for(task.problem(problem_id), tier)
        verifier = _plugin(spec.name)
        text = prepare_completion(task, problem_id, completion, mode, spec.name)
        settings = _settings(spec.settings, timeout_s, unsafe_no_sandbox)
        return verifier.verify(view, text, settings)
    except BudgetError as exc:
        # a misconfigured problem, or a sandbox that failed to start for this row (the preflight
        # already refused batches with no sandbox at all)
        return _error(str(exc), started)
    except Exception as exc:  # a verifier must not raise for a sample; if one does, it is this row's error
        return _error(f"verifier failed: {type(exc).__name__}: {exc}", started)


def verify_one(
    task: Task | str,
    problem_id: str,
    completion: str,
    *,
    tier: Tier = "verifier",
    unsafe_no_sandbox: bool = False,
    timeout_s: float | None = None,
    mode: Mode = Mode.COMPLETION,
) -> Verdict:
    """Verify one sample on one tier.

    Raises :class:`~budget.errors.UnknownNameError` for an unknown task or problem id (the caller
    asked for it by name), :class:`~budget.errors.SandboxError` when no sandbox works and
    ``unsafe_no_sandbox`` is not set.  A sample that crashes, hangs or cheats is a verdict.
    """
    resolved = _resolve_task(task)
    if tier not in ALL_TIERS:
        raise InputError(f"unknown tier {tier!r}; use one of {', '.join(ALL_TIERS)}")
    resolved.problem(problem_id)  # raises a one-line UnknownNameError
    _preflight(resolved, [problem_id], tier, unsafe_no_sandbox)
    return _check(resolved, problem_id, completion, tier, timeout_s, unsafe_no_sandbox, mode)


def _preflight(task: Task, problem_ids: Sequence[str], tier: Tier, unsafe_no_sandbox: bool) -> None:
    """Refuse before running anything: unknown verifier plug-ins, no sandbox (unless unsafe)."""
    names = set()
    for pid in dict.fromkeys(problem_ids):
        if task.has_problem(pid):
            names.add(task.check_for(task.problem(pid), tier)[0].name)
    for name in sorted(names):
        _plugin(name)
    if not unsafe_no_sandbox and names - {"exact_answer"}:
        from budget.verify.sandbox import require_sandbox

        require_sandbox()


def verify_batch(
    task: Task | str,
    samples: Sequence[SampleRow | tuple[str, str]],
    *,
    tier: Tier = "verifier",
    unsafe_no_sandbox: bool = False,
    timeout_s: float | None = None,
    workers: int | None = None,
    progress: StepCallback | None = None,
) -> list[Verdict]:
    """Verify many samples on one tier; one verdict per sample, in input order.

    Rows are :class:`SampleRow` or ``(problem_id, completion)`` pairs.  A bad row (unknown
    problem id, a verifier crash) gets an ``error`` verdict; the others are unaffected.
    ``progress`` is called (from the worker threads) with a :class:`Step` as each sample is
    verified, and once before the first.
    """
    resolved = _resolve_task(task)
    if tier not in ALL_TIERS:
        raise InputError(f"unknown tier {tier!r}; use one of {', '.join(ALL_TIERS)}")
    rows = [s if isinstance(s, SampleRow) else SampleRow(task_id=s[0], completion=s[1]) for s in samples]
    if not rows:
        return []
    _preflight(resolved, [r.task_id for r in rows], tier, unsafe_no_sandbox)

    done = 0
    lock = threading.Lock()
    if progress is not None:
        progress(Step(0, len(rows), "samples", tier))

    def one(row: SampleRow) -> Verdict:
        nonlocal done
        verdict = _check(resolved, row.task_id, row.completion, tier, timeout_s, unsafe_no_sandbox, row.mode)
        if progress is not None:
            with lock:
                done += 1
                progress(Step(done, len(rows), "samples", tier))
        return verdict

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers or _default_workers()) as pool:
        return list(pool.map(one, rows))


def _default_workers() -> int:
    import os

    return max(1, len(os.sched_getaffinity(0)))


# --------------------------------------------------------------------------- samples files


class RowError(BaseModel):
    """A samples-file row that could not be read; it still gets an ``error`` verdict."""

    line: int
    message: str


class SamplesFile(BaseModel):
    """The rows of a samples file, in order; ``rows[i]`` is ``None`` where line ``lines[i]`` is bad."""

    path: str
    lines: list[int]
    rows: list[SampleRow | None]
    errors: list[RowError]


def read_samples(path: Path, default_mode: Mode = Mode.COMPLETION) -> SamplesFile:
    """Read a samples JSONL file without giving up on bad rows.

    A line that is not UTF-8, not JSON, not an object or misses ``task_id`` / ``completion`` is
    recorded as a :class:`RowError` (one line each); a file that cannot be read or has no rows at
    all is a :class:`~budget.errors.DataError`.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read samples file {path}: {exc.strerror or exc}") from exc
    lines: list[int] = []
    rows: list[SampleRow | None] = []
    errors: list[RowError] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        lines.append(number)
        try:
            text = raw.decode("utf-8")
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
            obj.setdefault("mode", default_mode)
            if obj.get("model") is None:
                obj["model"] = ""
            rows.append(SampleRow.model_validate(obj))
        except UnicodeDecodeError as exc:
            rows.append(None)
            errors.append(RowError(line=number, message=f"not UTF-8 (byte {exc.start})"))
        except json.JSONDecodeError as exc:
            rows.append(None)
            errors.append(RowError(line=number, message=f"not JSON ({exc.msg})"))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "row"
            rows.append(None)
            errors.append(RowError(line=number, message=f"{where}: {first.get('msg', 'invalid')}"))
        except ValueError as exc:
            rows.append(None)
            errors.append(RowError(line=number, message=str(exc)))
    if not lines:
        raise DataError(f"samples file {path} has no rows")
    return SamplesFile(path=str(path), lines=lines, rows=rows, errors=errors)


class VerifyRequest(BaseModel):
    """What ``budget verify`` asks for."""

    task: str
    samples: Path
    tier: TierChoice = "verifier"
    unsafe_no_sandbox: bool = False
    timeout_s: float | None = Field(default=None, gt=0)
    mode: Mode = Mode.COMPLETION
    workers: int | None = Field(default=None, ge=1)


class TierVerdict(BaseModel):
    """A sample's verdict on one tier."""
    passed: bool
    outcome: Outcome
    duration_s: float
    detail: str


class VerdictRow(BaseModel):
    """One sample's verdict as exported: the requested tier (the verifier tier for ``both``)."""

    line: int
    task_id: str | None
    model: str
    mode: Mode = Mode.COMPLETION
    passed: bool
    outcome: Outcome
    duration_s: float
    detail: str
    ground_truth: TierVerdict | None = None


class ModelSummary(BaseModel):
    """pass@k of one (model, mode): unbiased estimator of Chen et al. 2021, Eq. 1, over problems."""

    model: str
    mode: Mode
    samples: int
    problems: int
    min_samples_per_problem: int
    passed: int
    pass_at_k: dict[int, float]
    solved: int
    ground_truth_passed: int | None = None
    ground_truth_pass_at_k: dict[int, float] | None = None
    accepted_but_wrong: int | None = None
    false_positive_rate: float | None = None


class VerifySummary(BaseModel):
    """The batch in numbers: outcomes, pass@k per model, bad rows."""
    samples: int
    bad_rows: int
    outcomes: dict[str, int]
    models: list[ModelSummary]
    errors: list[RowError]


class VerifyReport(BaseModel):
    """The outcome of ``budget verify`` (``--json`` prints it)."""
    schema_version: int = SCHEMA_VERSION
    task: str
    tier: TierChoice
    sandbox: bool = Field(description="whether generated code ran isolated (bubblewrap worked)")
    verdicts: list[VerdictRow]
    summary: VerifySummary


def _ks(n_min: int) -> list[int]:
    ks = [1]
    while ks[-1] * 10 <= n_min:
        ks.append(ks[-1] * 10)
    if n_min > 1 and n_min not in ks:
        ks.append(n_min)
    return ks


def _summarise(rows: list[VerdictRow], samples: SamplesFile, both: bool) -> VerifySummary:
    from budget.curves.passk import pass_at_k

    outcomes: dict[str, int] = {}
    for r in rows:
        outcomes[r.outcome.value] = outcomes.get(r.outcome.value, 0) + 1
    by_model: dict[tuple[str, Mode], list[VerdictRow]] = {}
    for r in rows:
        if r.task_id is not None and not (
            r.outcome is Outcome.ERROR and r.detail.startswith("unknown task id")
        ):
            by_model.setdefault((r.model, r.mode), []).append(r)
    models: list[ModelSummary] = []
    for (model, mode), group in by_model.items():
        per: dict[str, list[VerdictRow]] = {}
        for r in group:
            per.setdefault(r.task_id or "", []).append(r)
        n = [len(v) for v in per.values()]
        c = [sum(x.passed for x in v) for v in per.values()]
        ks = _ks(min(n))
        summary = ModelSummary(
            model=model,
            mode=mode,
            samples=len(group),
            problems=len(per),
            min_samples_per_problem=min(n),
            passed=sum(c),
            pass_at_k={k: float(v) for k, v in zip(ks, pass_at_k(n, c, ks), strict=True)},
            solved=sum(1 for x in c if x > 0),
        )
        if both:
            g = [sum(bool(x.ground_truth and x.ground_truth.passed) for x in v) for v in per.values()]
            wrong = sum(1 for x in group if x.passed and not (x.ground_truth and x.ground_truth.passed))
            accepted = sum(c)
            summary.ground_truth_passed = sum(g)
            summary.ground_truth_pass_at_k = {
                k: float(v) for k, v in zip(ks, pass_at_k(n, g, ks), strict=True)
            }
            summary.accepted_but_wrong = wrong
            summary.false_positive_rate = wrong / accepted if accepted else None
        models.append(summary)
    return VerifySummary(
        samples=len(rows),
        bad_rows=len(samples.errors),
        outcomes=outcomes,
        models=models,
        errors=samples.errors,
    )


def _offset(progress: StepCallback | None, before: int, total: int) -> StepCallback | None:
    """``progress`` for one batch of several: its counts shifted by the checks ``before`` it."""
    if progress is None:
        return None
    report = progress

    def shifted(step: Step) -> None:
        report(Step(before + step.done, total, step.unit, step.detail))

    return shifted


def verify_samples(request: VerifyRequest, *, progress: StepCallback | None = None) -> VerifyReport:
    """``budget verify``: every row of the samples file gets a verdict, in input order.

    ``progress`` counts the checks of every tier together (``both``: twice the good rows).
    """
    task = load_task(request.task)
    samples = read_samples(request.samples, request.mode)
    good = [(i, r) for i, r in enumerate(samples.rows) if r is not None]
    tiers: list[Tier] = ["verifier", "ground_truth"] if request.tier == "both" else [request.tier]
    results: dict[Tier, list[Verdict]] = {}
    for n, tier in enumerate(tiers):
        results[tier] = verify_batch(
            task,
            [r for _, r in good],
            tier=tier,
            unsafe_no_sandbox=request.unsafe_no_sandbox,
            timeout_s=request.timeout_s,
            workers=request.workers,
            progress=_offset(progress, n * len(good), len(tiers) * len(good)),
        )
    errors = {e.line: e.message for e in samples.errors}
    verdicts: list[VerdictRow] = []
    position = {i: j for j, (i, _) in enumerate(good)}
    for i, (line, row) in enumerate(zip(samples.lines, samples.rows, strict=True)):
        if row is None:
            bad = _error(f"line {line}: {errors[line]}")
            verdicts.append(VerdictRow(line=line, task_id=None, model="", **bad.model_dump()))
            continue
        first = results[tiers[0]][position[i]]
        gt = None
        if request.tier == "both":
            gt = TierVerdict(**results["ground_truth"][position[i]].model_dump())
        verdicts.append(
            VerdictRow(
                line=line,
                task_id=row.task_id,
                model=row.model,
                mode=row.mode,
                ground_truth=gt,
                **first.model_dump(),
            )
        )
    for v in verdicts:
        if v.task_id is not None and v.outcome is Outcome.ERROR and v.detail.startswith("unknown task id"):
            samples.errors.append(RowError(line=v.line, message=v.detail))
    samples.errors.sort(key=lambda e: e.line)
    from budget.verify.sandbox import probe

    return VerifyReport(
        task=task.name,
        tier=request.tier,
        sandbox=probe().available,
        verdicts=verdicts,
        summary=_summarise(verdicts, samples, request.tier == "both"),
    )
