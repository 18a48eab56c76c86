"""Rendering of the catalog listing and of prices."""

from __future__ import annotations

from rich.console import Console

from budget.money import fmt_pct, fmt_usd
from budget.report.tables import Column, fitted_table
from budget.service.listing import ModelListing, ModelRow, PriceListing

#: What each coverage cell's tag means (every row says where its figure comes from).
TAGS = (
    "M measured (reproduces a published point), F fitted (a fitted value, even where a published "
    "point differs), E extrapolated (x past the data), B shape borrowed from other models"
)


def _tag(row: ModelRow, k: int) -> str:
    p = row.provenance.get(k)
    if p is None:
        return ""
    tag = {"measured": "M", "fitted": "F", "extrapolated": "E", "borrowed": "B"}[p.coverage]
    return f" {tag}{p.extrapolation:.0f}x" if tag in "EB" and p.extrapolation > 1 else f" {tag}"


def render_models(listing: ModelListing, console: Console) -> None:
    """``budget models``: the catalog's models with cost per sample and coverage."""
    ks = (1, 10, 100, 1000)
    columns = [
        Column("model", "left", wrap=True),
        Column("tier", "left", drop=5),
        Column("$/sample"),
        *(Column(f"cov@{k}", drop={1: 3, 10: 2, 100: 1, 1000: 0}[k]) for k in ks),
        Column("data\nto k", drop=4),
    ]
    for t in listing.tasks:
        rows = [
            [
                r.model,
                r.tier,
                fmt_usd(r.cost_per_sample),
                *(f"{fmt_pct(r.coverage[k])}{_tag(r, k)}" for k in ks),
                f"{r.max_observed_k:,}" if r.max_observed_k else "-",
            ]
            for r in listing.models
            if r.task == t.id
        ]
        title = f"{t.id}: {t.name} ({t.problems:,} {t.unit}; verifier: {t.verifier})"
        caption = f"{TAGS}\n{t.source}"
        console.print(fitted_table(columns, rows, console.width, title=title, caption=caption))
        console.print()


def render_prices(prices: PriceListing, console: Console) -> None:
    """``budget pricing show``: the prices in use, with source and date."""
    width = console.width
    if prices.token_prices:
        columns = [
            Column("model", "left", wrap=True),
            Column("provider", "left", drop=3),
            Column("input"),
            Column("cached\ninput", drop=2),
            Column("output"),
            Column("source", "left", prose=True, drop=1),
            Column("as of", "left", wrap=True),
        ]
        rows = [
            [
                p.model,
                p.provider,
                fmt_usd(p.input_per_mtok),
                fmt_usd(p.cached_input_per_mtok) if p.cached_input_per_mtok is not None else "-",
                fmt_usd(p.output_per_mtok),
                p.source,
                p.as_of,
            ]
            for p in prices.token_prices
        ]
        title = "Per-token prices (USD per million tokens)"
        console.print(fitted_table(columns, rows, width, title=title))
    if prices.attempt_prices:
        columns = [
            Column("model", "left", wrap=True),
            Column("task", "left", wrap=True),
            Column("USD per\nattempt"),
            Column("source", "left", prose=True, drop=1),
            Column("as of", "left", wrap=True),
        ]
        rows = [
            [a.model, a.task, fmt_usd(a.usd_per_attempt), a.source, a.as_of] for a in prices.attempt_prices
        ]
        console.print(fitted_table(columns, rows, width, title="Published per-attempt costs"))
    if prices.machines:
        columns = [
            Column("machine", "left", wrap=True),
            Column("USD per\nhour"),
            Column("peak\nTFLOP/s", drop=2),
            Column("source", "left", prose=True, drop=1),
            Column("as of", "left", wrap=True),
        ]
        rows = [
            [m.name, fmt_usd(m.usd_per_hour), f"{m.peak_tflops:,g}", m.source, m.as_of]
            for m in prices.machines
        ]
        console.print(fitted_table(columns, rows, width, title="Machines"))
    console.print(
        f"[dim]litellm price table version: {prices.litellm_version or 'litellm not installed'}[/dim]"
    )
