"""Model ids resolve the same way everywhere (issue 12, "A calibrated model cannot be named")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from budget.errors import InputError, UnknownNameError
from budget.pricing import default_price_book
from budget.pricing.names import canonical, resolve, without_provider
from budget.service.planning import PlanRequest, make_plan
from budget.service.store_link import user_candidates

ALIASES = {"qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct", "gpt4o": "gpt-4o"}


def test_canonical_applies_the_alias_table_case_insensitively_and_after_a_provider() -> None:
    assert canonical("Qwen2.5-Coder-0.5B", ALIASES) == "qwen2.5-coder-0.5b-instruct"
    assert canonical("openai/GPT4o", ALIASES) == "gpt-4o"
    assert canonical("  my-model ", ALIASES) == "my-model"
    assert without_provider("openai/gpt-4o") == "gpt-4o"
    assert without_provider("Qwen/Qwen2.5-Coder") == "Qwen/Qwen2.5-Coder"  # an org, not a provider


@pytest.mark.parametrize("typed", ["gpt-4o", "GPT-4o", "openai/gpt-4o", "OpenAI/GPT-4o", "gpt4o"])
def test_every_spelling_of_a_known_id_resolves_to_it(typed: str) -> None:
    known = {"gpt-4o": "GPT-4o", "claude-3-5-sonnet-20240620": "Claude 3.5 Sonnet"}
    assert resolve(typed, known, ALIASES) == "gpt-4o"
    assert resolve("claude 3.5 sonnet", known, ALIASES) == "claude-3-5-sonnet-20240620"


def test_stored_under_the_typed_name_or_the_alias_target_both_resolve() -> None:
    assert resolve("qwen2.5-coder-0.5b", ["qwen2.5-coder-0.5b"], ALIASES) == "qwen2.5-coder-0.5b"
    assert (
        resolve("qwen2.5-coder-0.5b", ["qwen2.5-coder-0.5b-instruct"], ALIASES)
        == "qwen2.5-coder-0.5b-instruct"
    )


def test_unknown_and_ambiguous_names_are_one_line_errors() -> None:
    with pytest.raises(UnknownNameError, match="unknown model 'nope'"):
        resolve("nope", {"gpt-4o": "GPT-4o"}, ALIASES)
    with pytest.raises(InputError, match="ambiguous"):
        resolve("gpt-4o", ["openai/gpt-4o", "azure/gpt-4o"], ALIASES)


@pytest.mark.parametrize("typed", ["gpt-4o", "GPT-4o", "openai/gpt-4o"])
def test_plan_accepts_what_pricing_show_and_the_report_print(typed: str) -> None:
    """On main, `openai/gpt-4o` and `GPT-4o` were unknown to plan."""
    result = make_plan(PlanRequest.parse("50", task="swe-bench-lite", models=[typed]))
    assert [a.model for a in result.alternatives] == ["gpt-4o"]


def test_pricing_show_accepts_the_display_name() -> None:
    from budget.service.listing import show_prices

    assert show_prices(["GPT-4o"]).token_prices[0].model.endswith("gpt-4o")
    assert show_prices(["openai/gpt-4o"]).token_prices[0].model.endswith("gpt-4o")


def test_the_calibrate_hint_runs(tmp_path: Path) -> None:
    """A curve stored under the name as typed at calibrate time is found by the alias too, and
    the reverse: `budget plan --models qwen2.5-coder-0.5b` after calibrating it (failed on main
    with "unknown model 'qwen2.5-coder-0.5b' ...; did you mean qwen2.5-coder-0.5b?")."""
    from tests.service.test_store_link import _fill

    for stored in ("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct"):
        db = tmp_path / f"{stored}.db"
        _fill(db, "humaneval", stored, ["0.001"] * 40, -1.0, datetime.now(UTC))
        for typed in ("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct"):
            result = make_plan(
                PlanRequest.parse("1", task="humaneval", models=[typed]),
                user_candidates=user_candidates(str(db)),
            )
            assert {a.model for a in result.alternatives} == {stored}


def test_a_run_stores_samples_under_the_canonical_id() -> None:
    from budget.service.running.request import RunRequest
    from budget.service.running.worklist import _allocations

    allocs, _ = _allocations(RunRequest(models=["Qwen2.5-Coder-0.5B", "qwen2.5-coder-0.5b"], samples=2), 5)
    assert allocs == [(default_price_book().canonical("qwen2.5-coder-0.5b"), 5, 2)]


def test_a_run_names_a_catalog_model_by_its_id() -> None:
    from budget.service.running.worklist import model_ids

    assert model_ids(["GPT-4o", "gpt4o", "my-own-model"]) == ["gpt-4o", "my-own-model"]
    assert model_ids(["azure/gpt-4o"]) == ["azure/gpt-4o"]  # the provider routes the request


def test_every_local_model_short_name_is_in_the_one_alias_table() -> None:
    from budget.local.models import MODELS

    book = default_price_book()
    for spec in MODELS.values():
        assert book.canonical(spec.name) == spec.served_name


def test_cli_plan_with_the_display_name() -> None:
    from budget.cli import _register, app

    _register(["plan"])
    out = CliRunner().invoke(app, ["plan", "--dollars", "50", "--models", "GPT-4o", "--json"])
    assert out.exit_code == 0, out.output
