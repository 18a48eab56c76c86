"""The run's work list: what to sample, and the per-problem work it makes.

What to sample comes from ``--samples K``, a plan file or a plan made on the spot.  (The
planner's own allocation -- the optimum over candidates -- is :mod:`budget.planner.allocation`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budget.errors import InputError, UnknownNameError
from budget.planner.models import Policy
from budget.service.running.request import RunRequest

if TYPE_CHECKING:
    from budget.executor.runner import ProblemWork
    from budget.tasks import Task


def _allocations(
    request: RunRequest, n_problems: int
) -> tuple[list[tuple[str, int, int]], dict[str, Any] | None]:
    """(model, problems, samples per problem) per model, and the plan document if any."""
    if request.samples is not None and request.plan_file is not None:
        raise InputError("give --plan FILE or --samples K, not both (the plan says how many samples)")
    if request.samples is not None:
        if not request.models:
            raise InputError("--models is required with --samples")
        return [(m, n_problems, request.samples) for m in model_ids(request.models)], None
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
                    policy=request.policy or Policy.FIXED,
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


def model_ids(names: Sequence[str]) -> list[str]:
    """The ids a run stores its models' samples under, as ``budget plan`` names them: a catalog
    model by its id (``GPT-4o`` -> ``gpt-4o``), any other by the alias table
    (:mod:`budget.pricing.names`); a ``provider/model`` keeps its provider, which routes the
    request (plan and check still match it to the catalog's model).
    """
    from budget.catalog import load_catalog
    from budget.pricing import default_price_book

    book = default_price_book()
    known = {e.model: e.display for e in load_catalog().entries}
    # a provider prefix routes the request (azure/gpt-4o is not openai's): kept as written
    return list(
        dict.fromkeys(
            book.canonical(m) if "/" in m else (book.resolve_known(m, known) or book.canonical(m))
            for m in names
        )
    )


def _plan_inputs(path: Path) -> dict[str, Any]:
    """The ``inputs`` of a plan file (task, problems, policy, ...); an error when unreadable."""
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the plan {path}: {exc}") from exc
    inputs = doc.get("inputs") if isinstance(doc, dict) else None
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
            out.append(ProblemWork(model=model, problem_id=pid, prompt=prompt, indices=range(k)))
    return out
