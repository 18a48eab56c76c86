"""Use case: import results users already have (``budget import``) as a run in the store.

Five formats, each read completely and checked before anything is written (a bad row is one
line naming the file and line; nothing is half-imported: the store writes the run in one
transaction, :mod:`budget.store.imports`):

- ``counts``: the CSV ``budget fit`` reads (``model, problem_id, num_samples, num_correct``),
  read by :func:`budget.service.fitting.read_counts`; each problem becomes ``num_correct``
  passing and ``num_samples - num_correct`` failing samples (order unknown, so indices are
  arbitrary: fine for coverage, which does not depend on order).
- ``monkey-business``: the per-problem rows released with "Large Language Monkeys" (Brown et
  al. 2024): a JSON array or JSON Lines of objects with ``is_corrects`` (one boolean per sample)
  and ``orig_dset_idx`` or a problem id (``problem_id``, ``task_id``, ``instance_id``, ``id``).
- ``evalplus``: EvalPlus's ``eval_results.json`` (``{"eval": {task_id: [{"base_status",
  "plus_status", "solution"...}]}}``): ``base_status`` is the ``verifier`` tier (the original
  tests), ``plus_status`` the ``ground_truth`` tier (EvalPlus's stronger tests).
- ``inspect``: an inspect_ai eval log (``.eval`` or ``.json``) with repeated epochs, read with
  inspect_ai's own :func:`inspect_ai.log.read_eval_log` (optional extra ``budget[inspect]``);
  a sample passes when its first score's value is correct (``value_to_float`` gives 1.0).
- ``samples``: budget's own samples JSONL (what ``budget export --samples`` writes): ``task_id``,
  ``model``, ``passed`` or ``verdicts`` ({tier: bool}), optional ``sample_index``,
  ``completion``, ``prompt_tokens``, ``output_tokens``, ``cost``.

A format with one verdict per sample stores it under the ``verifier`` tier (the store's
single-tier convention).  Model names go through the one model-id rule
(:func:`budget.pricing.PriceBook.canonical`); ``--model`` names a model the file does not.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from budget import SCHEMA_VERSION
from budget.errors import DataError, InputError
from budget.report.text import name_fault, printable
from budget.service.fitting import MAX_NUM_SAMPLES
from budget.service.progress import Step, StepCallback
from budget.store.imports import ImportBlock, SampleExtra

Format = Literal["counts", "monkey-business", "evalplus", "inspect", "samples"]
FORMATS: tuple[str, ...] = ("counts", "monkey-business", "evalplus", "inspect", "samples")
VERIFIER, GROUND_TRUTH = "verifier", "ground_truth"


class ImportRequest(BaseModel):
    """What ``budget import`` asks for: the file, its format and the store."""
    model_config = ConfigDict(frozen=True)

    file: Path
    format: Format
    task: str | None = None
    model: str | None = None
    db: str | None = None
    again: bool = False  # import content this store already holds for the task, as a new run


class ImportedModel(BaseModel):
    """What an import stored for one model."""
    model: str
    problems: int
    samples: int


class ImportResult(BaseModel):
    """What ``budget import --json`` prints."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    task: str
    format: str
    file: str
    db: str = ""
    models: list[ImportedModel]


class Parsed(BaseModel):
    """A file read and checked: its task and its per-(model, problem) samples."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    task: str
    blocks: list[Any]  # ImportBlock
    origins: list[str] = []  # runs the rows say they came from (budget's samples JSONL)


def import_file(request: ImportRequest, *, progress: StepCallback | None = None) -> ImportResult:
    """Read, check and store ``request.file`` as one imported run.

    ``progress`` hears a :class:`~budget.service.progress.Step` of samples stored (``detail``:
    the file's name) as the store writes them, once the file is read and checked.
    """
    from budget.store import Store, location

    parsed = read_file(request)
    if not parsed.blocks:
        raise DataError(f"{request.file.name} holds no samples")
    fingerprint = _fingerprint(request)
    stored: Callable[[int], None] | None = None
    if progress is not None:
        report, total, name = progress, sum(b.samples for b in parsed.blocks), request.file.name

        def stored(done: int) -> None:
            report(Step(done, total, "samples", name))

        stored(0)
    settings = {
        "imported": {"format": request.format, "file": str(request.file), "fingerprint": fingerprint},
        "request": {"policy": "fixed"},
    }
    with Store(request.db) as store:
        summary = store.import_run(
            parsed.task,
            parsed.blocks,
            settings=settings,
            note=f"imported from {request.file.name} ({request.format})",
            source=f"imported from {request.file.name}",
            progress=stored,
            fingerprint=None if request.again else fingerprint,
            origins=() if request.again else parsed.origins,
        )
        where = location.display(store.url)
    return ImportResult(
        run_id=summary.run.run_id,
        task=parsed.task,
        format=request.format,
        file=str(request.file),
        db=where,
        models=[ImportedModel(model=m, problems=p, samples=n) for m, (p, n) in summary.per_model.items()],
    )


def _fingerprint(request: ImportRequest) -> str:
    """What makes two imports the same: the file's bytes, its format and ``--model`` (SHA-256).
    The store refuses a second run of a task with the same fingerprint (:mod:`budget.store.imports`).
    """
    digest = hashlib.sha256(f"{request.format}\0{request.model or ''}\0".encode())
    try:
        with request.file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {request.file}: {exc.strerror or exc}") from None
    return digest.hexdigest()


def read_file(request: ImportRequest) -> Parsed:
    """Parse ``request.file`` in its format (no store involved)."""
    path = request.file
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if not path.is_file():
        raise InputError(f"not a file: {path}")
    reader = {
        "counts": _counts,
        "monkey-business": _monkey_business,
        "evalplus": _evalplus,
        "inspect": _inspect,
        "samples": _samples,
    }[request.format]
    origins: set[str] = set()
    task, blocks = _samples(request, origins) if request.format == "samples" else reader(request)
    _check_names(path, task, blocks)
    return Parsed(task=task, blocks=_canonical(blocks), origins=sorted(origins))


def _check_names(path: Path, task: str, blocks: list[ImportBlock]) -> None:
    """Every name that reaches the store is one a terminal, a page and a file can show (the
    row-by-row readers check theirs with the line; this catches ``--task``, ``--model``, file
    stems and names taken from an inspect log).
    """
    names = {("task", task)}
    for b in blocks:
        names.add(("model", b.model))
        names.add(("problem id", b.problem_id))
    for what, name in sorted(names):
        if not name.strip():
            raise DataError(f"{path.name}: a {what} is blank")
        fault = name_fault(name)
        if fault is not None:
            raise DataError(f"{path.name}: a {what} holds a {fault}")


def _canonical(blocks: list[ImportBlock]) -> list[ImportBlock]:
    from budget.pricing import default_price_book

    book = default_price_book()
    names = {b.model: book.canonical(b.model) for b in blocks}
    seen: set[tuple[str, str]] = set()
    for b in blocks:
        b.model = names[b.model]
        key = (b.model, b.problem_id)
        if key in seen:  # two spellings of one model in one file
            raise DataError(
                f"problem {b.problem_id} of {b.model} appears twice (under two names of the model)"
            )
        seen.add(key)
    return blocks


def _need_model(request: ImportRequest, what: str) -> str:
    if not request.model:
        raise InputError(f"--model is required: {what} does not name the model")
    return request.model


# --- counts CSV ------------------------------------------------------------------------------
def _counts(request: ImportRequest) -> tuple[str, list[ImportBlock]]:
    from budget.service.fitting import read_counts

    models = read_counts(request.file, request.task)
    blocks = []
    for m in models:
        for pid, n, c in zip(m.problem_ids, m.num_samples, m.num_correct, strict=True):
            blocks.append(
                ImportBlock(
                    model=request.model or m.model,
                    problem_id=pid,
                    tiers={VERIFIER: [True] * c + [False] * (n - c)},
                )
            )
    return models[0].task, blocks


# --- JSON helpers ----------------------------------------------------------------------------
def _text(path: Path) -> str:
    from budget.service.fitting import read_text

    return read_text(path)


class _DuplicateKeyError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object with a key given twice is refused: parsers keep the last, so an EvalPlus
    task id given twice silently lost the first one's samples.
    """
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(f"key {json.dumps(key)[:60]} appears twice in one object")
            seen.add(key)
    return out


def _loads(text: str, where: str) -> Any:
    """One JSON document; a syntax error or nesting deeper than Python's parser goes (a
    ``RecursionError`` in :func:`json.loads`) is one line naming ``where``.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise DataError(f"{where}: JSON nested too deeply") from None
    except _DuplicateKeyError as exc:
        raise DataError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise DataError(f"{where}: not valid JSON ({exc.args[0] if exc.args else exc})") from None


def _json_rows(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, row) for a JSON array or JSON Lines file; ``where`` is "line N" or "row N"."""
    text = _text(path)
    if text.lstrip().startswith("["):
        rows = _loads(text, path.name)
        for i, row in enumerate(rows, start=1):
            yield f"row {i}", row
        return
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        yield f"line {i}", _loads(line, f"{path.name} line {i}")


def _bool(value: Any, where: str, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise DataError(f"{where}: {what} must be true or false, got {json.dumps(value)[:40]}")


def _name(value: Any, where: str, what: str) -> str:
    """A model, task or problem id from a row: text or a whole number (not a bool, not an
    object), not empty, and nothing :func:`~budget.report.text.name_fault` refuses.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DataError(f"{where}: {what} must be text or a whole number, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise DataError(f"{where}: empty {what}")
    fault = name_fault(text)
    if fault is not None:
        raise DataError(f"{where}: {what} holds a {fault}")
    return text


# --- Large Language Monkeys ------------------------------------------------------------------
_ID_KEYS = ("problem_id", "task_id", "instance_id", "id", "orig_dset_idx")


def _monkey_business(request: ImportRequest) -> tuple[str, list[ImportBlock]]:
    path = request.file
    blocks: dict[tuple[str, str], ImportBlock] = {}
    for where, row in _json_rows(path):
        at = f"{path.name} {where}"
        if not isinstance(row, dict):
            raise DataError(f"{at}: expected an object with is_corrects")
        if "is_corrects" not in row:
            raise DataError(f"{at}: no is_corrects")
        marks = row["is_corrects"]
        if not isinstance(marks, list) or not marks:
            raise DataError(f"{at}: is_corrects must be a non-empty list of booleans")
        outcomes = [_bool(v, at, "each of is_corrects") for v in marks]
        key = next((k for k in _ID_KEYS if row.get(k) is not None), None)
        if key is None:
            raise DataError(f"{at}: no problem id ({', '.join(_ID_KEYS)})")
        pid = _name(row[key], at, key)
        model = request.model or (_name(row["model"], at, "model") if row.get("model") else None)
        if model is None:
            raise InputError("--model is required: the rows do not name the model")
        if (model, pid) in blocks:
            raise DataError(f"{at}: problem {pid} of {model} appears twice")
        blocks[(model, pid)] = ImportBlock(model=model, problem_id=pid, tiers={VERIFIER: outcomes})
    return request.task or path.stem, list(blocks.values())


# --- EvalPlus --------------------------------------------------------------------------------
def _evalplus(request: ImportRequest) -> tuple[str, list[ImportBlock]]:
    path = request.file
    model = _need_model(request, "eval_results.json")
    doc = _loads(_text(path), path.name)
    results = doc.get("eval") if isinstance(doc, dict) else None
    if not isinstance(results, dict) or not results:
        raise DataError(f'{path.name}: no "eval" object of task ids (not an EvalPlus eval_results.json)')
    blocks = []
    for task_id, samples in results.items():
        at = f"{path.name} task {printable(task_id, limit=60)}"
        task_id = _name(task_id, at, "task id")
        if not isinstance(samples, list) or not samples:
            raise DataError(f"{at}: expected a non-empty list of samples")
        base, plus, extras = [], [], []
        for i, s in enumerate(samples):
            if not isinstance(s, dict) or "base_status" not in s:
                raise DataError(f"{at} sample {i}: no base_status")
            base.append(_status(s["base_status"], f"{at} sample {i}", "base_status"))
            if s.get("plus_status") is not None:
                plus.append(_status(s["plus_status"], f"{at} sample {i}", "plus_status"))
            sol = s.get("solution")
            extras.append(SampleExtra(completion=sol if isinstance(sol, str) else None))
        if plus and len(plus) != len(base):
            raise DataError(f"{at}: plus_status is missing on some samples")
        tiers = {VERIFIER: base, **({GROUND_TRUTH: plus} if plus else {})}
        blocks.append(ImportBlock(model=model, problem_id=task_id, tiers=tiers, extras=extras))
    first = str(next(iter(results)))
    default = (
        "humaneval" if first.startswith("HumanEval/") else "mbpp" if first.startswith("Mbpp/") else path.stem
    )
    return request.task or default, blocks


def _status(value: Any, where: str, what: str) -> bool:
    if value in ("pass", "fail", "timeout"):
        return bool(value == "pass")
    raise DataError(f"{where}: {what} must be pass, fail or timeout, got {json.dumps(value)[:40]}")


# --- inspect_ai logs -------------------------------------------------------------------------
def _inspect(request: ImportRequest) -> tuple[str, list[ImportBlock]]:
    try:
        from inspect_ai.log import read_eval_log
        from inspect_ai.scorer import value_to_float
    except ImportError:
        raise InputError("reading inspect_ai logs needs inspect_ai: pip install 'budget[inspect]'") from None
    path = request.file
    try:
        log = read_eval_log(str(path))
    except Exception as exc:  # inspect_ai raises many kinds for a file that is not a log
        raise DataError(
            f"{path.name}: not an inspect_ai eval log ({type(exc).__name__}: {exc})".splitlines()[0]
        ) from None
    if log.status != "success" and not log.samples:
        raise DataError(f"{path.name}: the eval did not finish ({log.status}) and holds no samples")
    to_float = value_to_float()
    model = request.model or log.eval.model
    per: dict[str, ImportBlock] = {}
    for s in log.samples or []:
        at = f"{path.name} sample {s.id} epoch {s.epoch}"
        if not s.scores:
            raise DataError(f"{at}: not scored")
        score = next(iter(s.scores.values()))
        try:
            value = to_float(score.value)
        except Exception as exc:
            raise DataError(f"{at}: score {score.value!r} is not a correctness value ({exc})") from None
        usage = next(iter((s.model_usage or {}).values()), None)
        extra = SampleExtra(
            completion=s.output.completion if s.output is not None else None,
            prompt_tokens=int(getattr(usage, "input_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
            sample_index=int(s.epoch) - 1,
        )
        pid = str(s.id)
        block = per.setdefault(pid, ImportBlock(model=model, problem_id=pid, tiers={VERIFIER: []}, extras=[]))
        block.tiers[VERIFIER].append(value >= 1.0)
        assert block.extras is not None
        block.extras.append(extra)
    return request.task or log.eval.task, list(per.values())


# --- budget's own samples JSONL --------------------------------------------------------------
def _samples(request: ImportRequest, origins: set[str] | None = None) -> tuple[str, list[ImportBlock]]:
    """Budget's samples JSONL; the ``run_id`` each row names (``budget export`` writes it) is
    collected into ``origins``, so that a store refuses its own samples back.
    """
    path = request.file
    per: dict[tuple[str, str], ImportBlock] = {}
    indices: dict[tuple[str, str], set[int]] = {}
    task: str | None = request.task
    for where, row in _json_rows(path):
        at = f"{path.name} {where}"
        if not isinstance(row, dict):
            raise DataError(f"{at}: expected a JSON object")
        pid = row.get("task_id") if row.get("task_id") is not None else row.get("problem_id")
        if pid is None:
            raise DataError(f"{at}: no task_id")
        pid = _name(pid, at, "task_id")
        model = request.model or row.get("model")
        if not isinstance(model, str) or not model.strip():
            raise DataError(f"{at}: no model (add one, or pass --model)")
        model = _name(model, at, "model")
        if task is None and isinstance(row.get("task"), str):
            task = _name(row["task"], at, "task")
        tiers = _row_verdicts(row, at)
        if origins is not None and isinstance(row.get("run_id"), str):
            origins.add(row["run_id"])
        key = (model, str(pid))
        block = per.get(key)
        if block is None:
            block = per[key] = ImportBlock(
                model=model, problem_id=str(pid), tiers={t: [] for t in tiers}, extras=[]
            )
        if set(block.tiers) != set(tiers):
            raise DataError(
                f"{at}: verdict tiers {sorted(tiers)} differ from earlier rows "
                f"of {pid} ({sorted(block.tiers)})"
            )
        assert block.extras is not None
        index = row.get("sample_index", len(block.extras))
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= MAX_NUM_SAMPLES:
            raise DataError(f"{at}: sample_index must be a whole number from 0 to {MAX_NUM_SAMPLES:,}")
        if index in indices.setdefault(key, set()):
            raise DataError(f"{at}: sample {index} of {pid} ({model}) appears twice")
        indices[key].add(index)
        for t, ok in tiers.items():
            block.tiers[t].append(ok)
        block.extras.append(
            SampleExtra(
                completion=row["completion"] if isinstance(row.get("completion"), str) else None,
                prompt_tokens=_count(row, "prompt_tokens", at),
                output_tokens=_count(row, "output_tokens", at),
                cost=_cost(row, at),
                latency_s=_seconds(row, "latency_s", at),
                finish_reason=str(row.get("finish_reason") or ""),
                sample_index=index,
            )
        )
    return task or path.stem, list(per.values())


def _row_verdicts(row: dict[str, Any], at: str) -> dict[str, bool]:
    verdicts = row.get("verdicts")
    if isinstance(verdicts, dict) and verdicts:
        out = {}
        for tier, v in verdicts.items():
            out[str(tier)] = _bool(v.get("passed") if isinstance(v, dict) else v, at, f"verdicts.{tier}")
        return out
    if "passed" in row:
        return {VERIFIER: _bool(row["passed"], at, "passed")}
    raise DataError(f"{at}: no passed or verdicts")


#: Bounds of what one imported sample may carry: a token count, and a cost in dollars.  Far
#: above any real sample, far below what the store's 64-bit integers hold (micro-dollars).
MAX_TOKENS = 10**12
MAX_COST = Decimal(10**9)


def _count(row: dict[str, Any], key: str, at: str) -> int:
    v = row.get(key, 0) or 0
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_TOKENS:
        raise DataError(f"{at}: {key} must be a whole number from 0 to {MAX_TOKENS:,}")
    return v


def _seconds(row: dict[str, Any], key: str, at: str) -> float:
    v = row.get(key, 0.0)
    if v is None:
        return 0.0
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise DataError(f"{at}: {key} must be a finite number of seconds >= 0, got {json.dumps(v)[:40]}")
    return float(v)


def _cost(row: dict[str, Any], at: str) -> Decimal:
    v = row.get("cost", 0) or 0
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        raise DataError(f"{at}: cost {v!r} is not a number") from None
    if not d.is_finite() or not 0 <= d <= MAX_COST:
        raise DataError(f"{at}: cost must be a finite amount from 0 to {MAX_COST:,} dollars")
    return d


def counts_from_samples(path: Path, task: str | None = None) -> list[Any]:
    """Per-sample JSONL (``task_id, model, passed``, or ``verdicts``) as per-problem counts for
    ``budget fit``: a sample counts as correct when every tier it carries passed it.
    """
    from budget.service.fitting import ModelCounts

    task_name, blocks = _samples(ImportRequest(file=path, format="samples", task=task))
    out: dict[str, ModelCounts] = {}
    for b in _canonical(blocks):
        n = b.samples
        c = sum(all(v[i] for v in b.tiers.values()) for i in range(n))
        m = out.setdefault(
            b.model, ModelCounts(model=b.model, task=task_name, num_samples=[], num_correct=[])
        )
        m.num_samples.append(n)
        m.num_correct.append(c)
        m.problem_ids.append(b.problem_id)
    if not out:
        raise DataError(f"{path.name} holds no samples")
    return list(out.values())
