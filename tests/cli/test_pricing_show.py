"""``budget pricing show`` with no name lists every price in use (review defect of issue 12/13):
the catalog's API models and the overrides per token, the published per-attempt costs, and the
machines, each with its source and date."""

from __future__ import annotations

import json

from tests.cli.test_fit import run_budget

from budget.catalog import load_catalog
from budget.pricing import default_price_book


def test_no_name_lists_every_price_in_use() -> None:
    out = run_budget("pricing", "show", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    book = default_price_book()
    catalog = load_catalog()
    api = {e.model for t in catalog.tasks for e in catalog.for_task(t) if e.cost == "api"}
    tokens = {p["model"] for p in doc["token_prices"]}
    assert api | set(book.overrides) <= tokens
    assert {(a["model"], a["task"]) for a in doc["attempt_prices"]} == set(book.attempts)
    assert {m["name"] for m in doc["machines"]} == set(book.machines)
    for row in [*doc["token_prices"], *doc["attempt_prices"], *doc["machines"]]:
        assert row["source"] and row["as_of"], row


def test_no_name_reads_at_80_columns_with_sources() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "VIRTUAL_ENV")}
    out = subprocess.run(
        [sys.executable, "-c", "from budget.cli import main; main()", "pricing", "show"],
        capture_output=True,
        text=True,
        check=False,
        env={**env, "COLUMNS": "80", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert all(len(line) <= 80 for line in out.stdout.splitlines())
    for needle in ("gpt-4o", "h100-80gb", "cpu-2core", "Per-token", "Machines", "2024-"):
        assert needle in out.stdout, needle
