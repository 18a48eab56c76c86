"""One notion of task (issue 12, "Two kinds of task"): HumanEval is planned from the catalog with
published pass@k, a calibrated model is compared with a frontier model, and the headline says
which task and why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from budget.catalog import catalog_candidates, load_catalog
from budget.pricing import default_price_book
from budget.service.planning import PlanRequest, make_plan
from budget.service.store_link import user_candidates

#: Goldens with their sources (the catalog's figures, read from the papers' tables).
PUBLISHED = {
    "codex-12b": {1: 0.2881, 10: 0.4681, 100: 0.7231},  # Chen et al. 2021, Table 1
    "codex-300m": {1: 0.1317, 10: 0.2037, 100: 0.3627},  # Chen et al. 2021, Table 1
    "codegen-16b-mono": {1: 0.2928, 10: 0.4986, 100: 0.75},  # Nijkamp et al. 2023
    "gpt-4o": {1: 0.902},  # OpenAI, Hello GPT-4o, 2024-05-13
}


def test_humaneval_is_a_catalog_task_with_cited_entries() -> None:
    catalog = load_catalog()
    assert catalog.task("humaneval").problems == 164
    entries = {e.model: e for e in catalog.for_task("humaneval")}
    assert set(PUBLISHED) <= set(entries)
    for model, points in PUBLISHED.items():
        e = entries[model]
        assert e.points is not None and dict(e.points) == points
        for value in points.values():  # the source states every figure used
            assert f"{100 * value:.2f}".rstrip("0").rstrip(".") in e.source.replace("%", ""), (model, value)
    assert entries["gpt-4o"].tier == "frontier"


def test_curves_pass_near_the_published_points() -> None:
    cands = {c.model: c for c in catalog_candidates("humaneval", default_price_book())}
    for model, points in PUBLISHED.items():
        ks = sorted(points)
        got = cands[model].curve.coverage(ks)
        for k, v in zip(ks, got, strict=True):
            assert abs(v - points[k]) < 0.04, (model, k, v)


def test_plan_task_humaneval_works_without_calibrating() -> None:
    """Failed on main: "unknown task 'humaneval'" until the user had calibrated."""
    result = make_plan(PlanRequest.parse("5", task="humaneval"))
    assert result.inputs.task == "humaneval" and result.inputs.problems == 164
    assert result.recommendation.headline.startswith("HumanEval, the task you asked for:")


def test_headline_says_why_the_task_was_chosen(tmp_path: Path) -> None:
    from tests.service.test_store_link import _fill

    assert "the default task" in make_plan(PlanRequest.parse("50")).recommendation.headline
    db = tmp_path / "b.db"
    _fill(db, "humaneval", "qwen2.5-coder-0.5b-instruct", ["0.0001"] * 40, -1.0, datetime.now(UTC))
    result = make_plan(PlanRequest.parse("50"), user_candidates=user_candidates(str(db)))
    assert result.inputs.task == "humaneval"
    assert result.recommendation.headline.startswith("HumanEval, your latest task in the store")


def test_a_calibrated_model_is_compared_with_a_frontier_model(tmp_path: Path) -> None:
    """Failed on main: after calibrating, HumanEval had only the user's model."""
    from tests.service.test_store_link import _fill

    db = tmp_path / "b.db"
    _fill(db, "humaneval", "qwen2.5-coder-0.5b-instruct", ["0.0001"] * 40, -1.0, datetime.now(UTC))
    result = make_plan(
        PlanRequest.parse("5", task="humaneval", models=["qwen2.5-coder-0.5b", "GPT-4o"]),
        user_candidates=user_candidates(str(db)),
    )
    assert {a.model for a in result.alternatives} == {"qwen2.5-coder-0.5b-instruct", "gpt-4o"}
    assert {s.model for s in result.frontier_single_sample} >= {"gpt-4o"}


@pytest.mark.parametrize("task", ["humaneval"])
def test_tasks_and_catalog_agree(task: str) -> None:
    from budget.tasks import load_task

    assert len(load_task(task).problems) == load_catalog().task(task).problems


#: Golden: EvalPlus leaderboard results.json (github.com/evalplus/evalplus.github.io, commit
#: 02023dd84e4e25d8ace1a28bb30d2f130595c023), pass@1 on HumanEval and HumanEval+ in percent.
EVALPLUS = {"codegen-16b-mono": (32.9, 28.0), "incoder-6.7b": (15.9, 12.2)}


def test_published_verifier_quality_is_evalplus_base_against_plus() -> None:
    """FP share = 1 - pass_plus / pass_base, only where EvalPlus publishes both for the model."""
    entries = {e.model: e for e in load_catalog().for_task("humaneval")}
    with_q = {m for m, e in entries.items() if e.verifier_quality is not None}
    assert with_q == set(EVALPLUS)  # Codex and GPT-4o (May 2024): no citable HumanEval+ figure
    for model, (base, plus) in EVALPLUS.items():
        q = entries[model].verifier_quality
        assert q is not None
        assert (q.pass_base, q.pass_plus) == pytest.approx((base / 100, plus / 100), abs=1e-12)
        assert abs(q.fp_share - (base - plus) / base) < 1e-12
        assert "EvalPlus" in q.source and "02023dd84e4e25d8ace1a28bb30d2f130595c023" in q.source
    # InCoder's curve point is the same table's HumanEval pass@1
    assert entries["incoder-6.7b"].points == [(1, 0.159)]
