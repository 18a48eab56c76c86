"""Pricing: price records and cost models (pure) and the price tables (loaded as data)."""

from budget.pricing.model import (
    AttemptPrice,
    MachinePrice,
    SampleCost,
    Throughput,
    TokenPrice,
    api_sample_cost,
    attempt_sample_cost,
    local_sample_cost,
)
from budget.pricing.tables import PriceBook, default_price_book, price_for

__all__ = [
    "AttemptPrice",
    "MachinePrice",
    "PriceBook",
    "SampleCost",
    "Throughput",
    "TokenPrice",
    "api_sample_cost",
    "attempt_sample_cost",
    "default_price_book",
    "local_sample_cost",
    "price_for",
]
