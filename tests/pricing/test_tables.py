"""Price tables: litellm's table read as data, overrides, aliases, errors, sources."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from budget.errors import UnknownNameError
from budget.pricing import PriceBook, default_price_book

FAKE_TABLE = {
    "sample_spec": {"input_cost_per_token": 0},
    "gpt-4o": {
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
        "cache_read_input_token_cost": 1.25e-06,
        "litellm_provider": "openai",
    },
    "deepseek/deepseek-chat": {
        "input_cost_per_token": 2.7e-07,
        "output_cost_per_token": 1.1e-06,
        "litellm_provider": "deepseek",
    },
    "claude-3-5-sonnet-20240620": {
        "input_cost_per_token": 9e-06,
        "output_cost_per_token": 9e-05,
        "litellm_provider": "anthropic",
    },
}


@pytest.fixture
def book(tmp_path: Path) -> PriceBook:
    table = tmp_path / "prices.json"
    table.write_text(json.dumps(FAKE_TABLE))
    return PriceBook(litellm_table=table)


def test_litellm_row_normalised_to_per_million(book: PriceBook) -> None:
    p = book.token_price("gpt-4o")
    assert (p.input_per_mtok, p.output_per_mtok, p.cached_input_per_mtok) == (
        Decimal("2.5"),
        Decimal("10"),
        Decimal("1.25"),
    )
    assert p.provider == "openai" and "litellm" in p.source


def test_provider_prefix_resolves_both_ways(book: PriceBook) -> None:
    assert book.token_price("openai/gpt-4o").model == "gpt-4o"
    assert book.token_price("deepseek-chat").model == "deepseek/deepseek-chat"


def test_overrides_and_aliases_win_over_litellm(book: PriceBook) -> None:
    p = book.token_price("claude-3.5-sonnet")  # alias -> canonical id -> overrides.toml
    assert p.model == "claude-3-5-sonnet-20240620"
    assert p.input_per_mtok == Decimal("3.00")  # not the fake table's 9
    assert p.as_of == "2024-06"


def test_unknown_model_names_close_matches(book: PriceBook) -> None:
    with pytest.raises(UnknownNameError) as err:
        book.token_price("gpt-4oo")
    assert "gpt-4o" in err.value.close_matches
    assert "\n" not in str(err.value)


def test_every_bundled_row_has_source_and_date() -> None:
    b = default_price_book()
    rows = [
        *b.overrides.values(),
        *b.attempts.values(),
        *b.machines.values(),
        *b.throughputs.values(),
    ]
    assert rows
    for r in rows:
        assert r.source.strip() and str(r.as_of).strip(), r
    assert {"h100-80gb", "a100-80gb", "l4", "cpu-2core"} <= set(b.machines)


def test_real_litellm_table_is_read_without_importing_litellm() -> None:
    code = (
        "import sys\n"
        "from budget.pricing import default_price_book\n"
        "p = default_price_book().token_price('gpt-4o')\n"
        "assert p.output_per_mtok > 0\n"
        "assert 'litellm' not in sys.modules, 'litellm was imported'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if "no price" in out.stderr:
        pytest.skip("litellm is not installed")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
