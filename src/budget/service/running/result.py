"""The run's totals: samples stored by earlier sessions plus this session's tallies."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from budget.money import from_micro
from budget.service.running.request import ModelResult, RunRequest, RunResult

if TYPE_CHECKING:
    from budget.store import Store


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
                provider_faults=tally.provider_faults,
                extra_choices=tally.extra_choices,
                fault_notes=list(tally.fault_notes),
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


def _failure(outcome: Any) -> str:
    """Why a run that ended on its own terms failed, in words a person can act on; '' if it did not.

    A run fails when the runner stopped on an error (authentication, a server that keeps
    refusing, a store that cannot keep samples), or when it bought nothing although requests
    were made and every one of them failed or was rejected.  A run stopped by its cap after
    buying nothing cannot happen: such a cap is refused before the run starts.
    """
    from budget.executor.runner import StopReason
    from budget.report.text import printable

    if outcome.stop_reason is StopReason.ERROR:
        return printable(str(outcome.error), limit=500) or "the run stopped on an error"
    if outcome.stop_reason is StopReason.INTERRUPTED:
        return ""
    tallies = list(outcome.tallies.values())
    failed = sum(t.failed_samples for t in tallies)
    if failed == 0 or sum(t.samples for t in tallies) > 0:
        return ""
    last = printable(next((t.last_error for t in reversed(tallies) if t.last_error), ""), limit=500)
    if last.startswith("rejected: "):
        return f"every request was rejected ({failed} samples); last: {last.removeprefix('rejected: ')}"
    return f"every request failed ({failed} samples); last: {last}"
