"""The bundled catalog: tasks, and per-(model, task) curves and costs from published results.

The catalog is data (``budget/data/catalog.toml``); this module turns its entries into
planner candidates: a :class:`~budget.curves.CoverageCurve` plus a
:class:`~budget.pricing.SampleCost`, each with its source.  The user's own fitted curves
take precedence over these (the service decides that).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from budget.curves import CoverageCurve
from budget.curves.published import curve_from_points, curve_from_schaeffer
from budget.errors import DataError, PricingError, UnknownNameError
from budget.planner import Candidate
from budget.pricing import PriceBook, SampleCost, api_sample_cost, attempt_sample_cost, local_sample_cost


class TaskInfo(BaseModel):
    """A task budget knows by name."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    problems: int = Field(gt=0)
    unit: str = "problems"
    verifier: str = ""
    description: str = ""
    source: str = ""


class PublishedVerifierQuality(BaseModel):
    """A published figure for how often the task's own (weak) tests accept a wrong sample.

    From pass@1 of the same samples under the task's tests (``pass_base``) and under stronger
    tests (``pass_plus``, e.g. EvalPlus's HumanEval+):
    ``fp_share = 1 - pass_plus / pass_base``, the share of accepted samples that are wrong.
    Assumed: every sample passing the stronger tests also passes the weak ones (HumanEval+ keeps
    HumanEval's tests and adds more, Liu et al. 2023), and the stronger tests are the truth.
    """

    model_config = ConfigDict(frozen=True)

    pass_base: float = Field(gt=0, le=1)
    pass_plus: float = Field(ge=0, le=1)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _plus_within_base(self) -> PublishedVerifierQuality:
        if self.pass_plus > self.pass_base:
            raise ValueError("pass_plus above pass_base: the stronger tests cannot accept more samples")
        return self

    @property
    def fp_share(self) -> float:
        """``1 - pass_plus / pass_base``: the share of accepted single samples that are wrong."""
        return 1.0 - self.pass_plus / self.pass_base


class CatalogEntry(BaseModel):
    """One published (model, task) result."""

    model_config = ConfigDict(frozen=True)

    task: str
    model: str
    display: str
    tier: Literal["frontier", "open"] = "open"
    points: list[tuple[float, float]] | None = None
    schaeffer: dict[str, float] | None = None
    max_observed_k: int | None = None
    cost: Literal["attempt", "local", "api"]
    machine: str | None = None
    parameters: float | None = None
    source: str
    verifier_quality: PublishedVerifierQuality | None = None


class Catalog(BaseModel):
    """The bundled catalog as read: its tasks, its (model, task) entries and per-task defaults."""
    tasks: dict[str, TaskInfo]
    entries: list[CatalogEntry]
    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def task(self, task_id: str) -> TaskInfo:
        """The task ``task_id``; an :class:`UnknownNameError` (one line) otherwise."""
        try:
            return self.tasks[task_id]
        except KeyError:
            raise UnknownNameError("task", task_id, list(self.tasks)) from None

    def for_task(self, task_id: str) -> list[CatalogEntry]:
        """The catalog's entries for ``task_id`` (which must be a known task)."""
        self.task(task_id)
        return [e for e in self.entries if e.task == task_id]


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """Read the bundled catalog (packaged with budget; no network)."""
    try:
        raw = tomllib.loads(
            resources.files("budget").joinpath("data/catalog.toml").read_text(encoding="utf-8")
        )
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"cannot read the bundled catalog: {exc}") from exc
    tasks = {t["id"]: TaskInfo.model_validate(t) for t in raw.get("task", [])}
    return Catalog(
        tasks=tasks,
        entries=[CatalogEntry.model_validate(e) for e in raw.get("entry", [])],
        defaults=raw.get("defaults", {}),
    )


def _curves(catalog: Catalog, task: TaskInfo, seed: int) -> dict[str, CoverageCurve]:
    """Curves for every entry of a task; single-point entries borrow the exponent."""
    entries = catalog.for_task(task.id)
    curves: dict[str, CoverageCurve] = {}
    for e in entries:
        if e.schaeffer is not None:
            curves[e.model] = curve_from_schaeffer(
                e.model,
                task.id,
                e.schaeffer["a"],
                e.schaeffer["b"],
                task.problems,
                e.max_observed_k or 10_000,
                seed=seed,
                source=e.source,
            )
        elif e.points is not None and len({k for k, _ in e.points}) >= 2:
            curves[e.model] = curve_from_points(
                e.model, task.id, e.points, task.problems, seed=seed, source=e.source
            )
    donors = [c for c in curves.values() if c.draws]
    borrowed = np.concatenate([np.asarray(c.draws)[:, 1] for c in donors]) if donors else None
    names = ", ".join(c.model for c in donors)
    for e in entries:
        if e.model not in curves and e.points is not None:
            curves[e.model] = curve_from_points(
                e.model,
                task.id,
                e.points,
                task.problems,
                borrowed_b=borrowed,
                borrowed_from=names,
                seed=seed,
                source=e.source,
            )
    return curves


def _cost(catalog: Catalog, entry: CatalogEntry, book: PriceBook) -> SampleCost:
    if entry.cost == "attempt":
        price = book.attempt_price(entry.model, entry.task)
        if price is None:
            raise PricingError(f"no per-attempt price for {entry.model} on {entry.task}")
        return attempt_sample_cost(price)
    if entry.cost == "local":
        d = catalog.defaults.get(entry.task, {})
        machine = book.machine(entry.machine or "h100-80gb")
        return local_sample_cost(
            machine,
            prompt_tokens=int(d.get("prompt_tokens", 1000)),
            output_tokens=float(d.get("output_tokens", 256)),
            max_output_tokens=int(d.get("max_output_tokens", 512)),
            throughput=book.throughput(entry.model, machine.name),
            parameters=entry.parameters,
            utilisation=float(d.get("utilisation", 0.1)),
        )
    if entry.cost == "api":
        d = catalog.defaults.get(entry.task, {})
        return api_sample_cost(
            book.token_price(entry.model),
            prompt_tokens=int(d.get("prompt_tokens", 1000)),
            output_tokens=float(d.get("output_tokens", 256)),
            max_output_tokens=int(d.get("max_output_tokens", 512)),
        )
    raise PricingError(f"catalog entry {entry.model}: unsupported cost kind {entry.cost!r}")


def catalog_candidates(task_id: str, book: PriceBook, *, seed: int = 0) -> list[Candidate]:
    """Planner candidates for a catalog task, with curves and costs and their sources."""
    catalog = load_catalog()
    task = catalog.task(task_id)
    curves = _curves(catalog, task, seed)
    return [
        Candidate(
            model=e.model,
            display=e.display,
            tier=e.tier,
            curve=curves[e.model],
            cost=_cost(catalog, e, book),
            source=e.source,
        )
        for e in catalog.for_task(task_id)
    ]
