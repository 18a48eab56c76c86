"""Use cases: list the catalog's models (``budget models``) and show prices with their sources.

``budget pricing show`` lists prices; the catalog itself (tasks, curves, costs) is :mod:`budget.catalog`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from budget import SCHEMA_VERSION
from budget.catalog import TaskInfo, catalog_candidates, load_catalog
from budget.errors import UnknownNameError
from budget.money import USD
from budget.planner.provenance import Provenance, provenance
from budget.pricing import AttemptPrice, MachinePrice, PriceBook, TokenPrice, default_price_book


class ModelRow(BaseModel):
    """One catalog model on a task: cost per sample, coverage at a few k, sources."""
    task: str
    model: str
    display: str
    tier: str
    cost_per_sample: USD
    cost_model: str
    coverage: dict[int, float]
    max_observed_k: int | None
    source: str
    provenance: dict[int, Provenance] = Field(
        default_factory=dict, description="per k: measured, fitted, extrapolated (how far) or borrowed"
    )


class ModelListing(BaseModel):
    """The outcome of ``budget models`` (``--json`` prints it)."""
    schema_version: int = SCHEMA_VERSION
    tasks: list[TaskInfo]
    models: list[ModelRow]


def list_models(task: str | None = None, book: PriceBook | None = None) -> ModelListing:
    """The catalog's tasks and models (of ``task`` only, when given), priced by ``book``."""
    catalog = load_catalog()
    book = book or default_price_book()
    tasks = [catalog.task(task)] if task else list(catalog.tasks.values())
    rows = []
    for t in tasks:
        from budget.service.planning import with_published

        for c in with_published(t.id, catalog_candidates(t.id, book)):
            cov = c.curve.coverage([1, 10, 100, 1000])
            rows.append(
                ModelRow(
                    task=t.id,
                    model=c.model,
                    display=c.label,
                    tier=c.tier,
                    cost_per_sample=c.cost.first,
                    cost_model=c.cost.formula,
                    coverage={k: float(v) for k, v in zip((1, 10, 100, 1000), cov, strict=True)},
                    max_observed_k=c.curve.max_observed_k,
                    source=c.source,
                    provenance={k: provenance(c.curve, c.cost, k, c.published) for k in (1, 10, 100, 1000)},
                )
            )
    return ModelListing(tasks=tasks, models=rows)


class PriceListing(BaseModel):
    """The outcome of ``budget pricing show`` (``--json`` prints it)."""
    schema_version: int = SCHEMA_VERSION
    token_prices: list[TokenPrice]
    attempt_prices: list[AttemptPrice]
    machines: list[MachinePrice]
    litellm_version: str | None


def all_prices(book: PriceBook) -> PriceListing:
    """Every price in use: per token for the catalog's API models and every override, the
    published per-attempt costs, and the machines (local models are priced by them).
    """
    catalog = load_catalog()
    api = {e.model for t in catalog.tasks for e in catalog.for_task(t) if e.cost == "api"}
    tokens = {p.model: p for p in (book.token_price(m) for m in sorted(api))}
    tokens.update({m: p for m, p in book.overrides.items() if m not in tokens})
    return PriceListing(
        token_prices=sorted(tokens.values(), key=lambda p: p.model),
        attempt_prices=[book.attempts[k] for k in sorted(book.attempts)],
        machines=[
            book.machines[k] for k in sorted(book.machines, key=lambda m: -book.machines[m].usd_per_hour)
        ],
        litellm_version=book.litellm_version,
    )


def show_prices(names: list[str], book: PriceBook | None = None) -> PriceListing:
    """Prices for each name: a machine, or a model's per-token and per-attempt prices; every
    price in use (:func:`all_prices`) when ``names`` is empty.
    """
    book = book or default_price_book()
    if not names:
        return all_prices(book)
    tokens: list[TokenPrice] = []
    attempts: list[AttemptPrice] = []
    machines: list[MachinePrice] = []
    for name in names:
        if name in book.machines:
            machines.append(book.machine(name))
            continue
        found = book.attempt_prices(name)
        attempts.extend(found)
        try:
            tokens.append(book.token_price(name))
        except UnknownNameError:
            if not found:
                raise
    return PriceListing(
        token_prices=tokens,
        attempt_prices=attempts,
        machines=machines,
        litellm_version=book.litellm_version,
    )
