"""Rendering of the catalog listing and of prices."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from budget.money import fmt_usd
from budget.service.catalog_view import ModelListing, PriceListing


def render_models(listing: ModelListing, console: Console) -> None:
    for t in listing.tasks:
        table = Table(
            title=f"{t.id}: {t.name} ({t.problems} {t.unit}; verifier: {t.verifier})",
            title_justify="left",
        )
        table.add_column("model", no_wrap=True)
        table.add_column("tier")
        table.add_column("$ / sample", justify="right")
        for k in (1, 10, 100, 1000):
            table.add_column(f"cov@{k}", justify="right")
        table.add_column("data to k", justify="right")
        for r in (r for r in listing.models if r.task == t.id):
            table.add_row(
                r.model,
                r.tier,
                fmt_usd(r.cost_per_sample),
                *(f"{r.coverage[k]:.1%}" for k in (1, 10, 100, 1000)),
                f"{r.max_observed_k:,}" if r.max_observed_k else "-",
            )
        console.print(table)
        console.print(f"[dim]{t.source}[/dim]\n")


def render_prices(prices: PriceListing, console: Console) -> None:
    if prices.token_prices:
        table = Table(title="Per-token prices (USD per million tokens)", title_justify="left")
        for col in ("model", "provider", "input", "cached input", "output", "source", "as of"):
            table.add_column(col, overflow="fold")
        for p in prices.token_prices:
            table.add_row(
                p.model,
                p.provider,
                f"${p.input_per_mtok}",
                f"${p.cached_input_per_mtok}" if p.cached_input_per_mtok is not None else "-",
                f"${p.output_per_mtok}",
                p.source,
                p.as_of,
            )
        console.print(table)
    if prices.attempt_prices:
        table = Table(title="Published per-attempt costs", title_justify="left")
        for col in ("model", "task", "USD / attempt", "source", "as of"):
            table.add_column(col, overflow="fold")
        for a in prices.attempt_prices:
            table.add_row(a.model, a.task, f"${a.usd_per_attempt}", a.source, a.as_of)
        console.print(table)
    if prices.machines:
        table = Table(title="Machines", title_justify="left")
        for col in ("machine", "USD / hour", "peak TFLOP/s", "source", "as of"):
            table.add_column(col, overflow="fold")
        for m in prices.machines:
            table.add_row(m.name, f"${m.usd_per_hour}", f"{m.peak_tflops:g}", m.source, m.as_of)
        console.print(table)
    console.print(
        f"[dim]litellm price table version: {prices.litellm_version or 'litellm not installed'}[/dim]"
    )
