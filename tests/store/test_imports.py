"""Whole-run imports, predictions and per-run figures on both backends (SQLite's driver fast path,
PostgreSQL's INSERT ... RETURNING), against counts computed independently from the input."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from budget.store import Store
from budget.store.imports import ImportBlock, SampleExtra
from budget.store.predictions import CurveUsed, PredictionRecord


@pytest.fixture
def store(store_url: str) -> Store:
    return Store(store_url)


def _blocks(rng: np.random.Generator) -> list[ImportBlock]:
    out = []
    for model in ("a", "b"):
        for i in range(7):
            n = int(rng.integers(1, 9))  # unequal samples per problem
            base = list(map(bool, rng.random(n) < 0.4))
            plus = [x and bool(rng.random() < 0.7) for x in base]  # stronger tests accept fewer
            extras = (
                [SampleExtra(completion=f"c{j}", cost=Decimal("0.0001") * j) for j in range(n)]
                if model == "b"
                else None
            )
            out.append(
                ImportBlock(
                    model=model,
                    problem_id=f"p{i}",
                    tiers={"verifier": base, "ground_truth": plus},
                    extras=extras,
                )
            )
    return out


def test_import_run_matches_the_input(store: Store) -> None:
    blocks = _blocks(np.random.default_rng(4))
    with store:
        summary = store.import_run("toy", blocks, settings={"imported": {"format": "test"}})
        run_id = summary.run.run_id
        stats = {s.model: s for s in store.run_model_stats([run_id])}
        counts = {(c.model, c.problem_id): (c.n, c.c) for c in store.problem_counts("toy", run_ids=[run_id])}
        gt = {
            (c.model, c.problem_id): c.c
            for c in store.problem_counts("toy", tier="ground_truth", run_ids=[run_id])
        }
        samples = store.samples(run_id=run_id)
        again = store.import_run("toy", blocks, settings={})  # a second import is a second run
        assert again.run.run_id != run_id and len(store.samples(run_id=again.run.run_id)) == len(samples)
    for b in blocks:
        strict = sum(v and p for v, p in zip(b.tiers["verifier"], b.tiers["ground_truth"], strict=True))
        assert counts[(b.model, b.problem_id)] == (b.samples, strict)
        assert gt[(b.model, b.problem_id)] == sum(b.tiers["ground_truth"])
    for m in ("a", "b"):
        mine = [b for b in blocks if b.model == m]
        assert stats[m].samples == sum(b.samples for b in mine)
        assert stats[m].solved.get("verifier", 0) == sum(any(b.tiers["verifier"]) for b in mine)
        assert stats[m].solved.get("ground_truth", 0) == sum(any(b.tiers["ground_truth"]) for b in mine)
    expected_spend = sum((x.cost for b in blocks for x in b.extras or ()), Decimal(0))
    assert summary.run.spent == expected_spend == stats["b"].spent
    assert {x.completion for x in samples if x.model == "b"} >= {"c0"}
    assert len({(x.model, x.problem_id, x.sample_index) for x in samples}) == len(samples)


def test_predictions_are_written_once_per_run_and_model(store: Store) -> None:
    with store:
        run = store.create_run("toy", models=["m"])
        used = CurveUsed(source="s", form="power_law", params={"a": -1.0, "b": -0.5})
        first = PredictionRecord(
            run_id=run.run_id,
            model="m",
            k=3,
            problems=5,
            curve=used,
            coverage=0.4,
            interval=(0.2, 0.6),
            sd=0.1,
        )
        assert (
            store.save_predictions(
                [first, PredictionRecord(run_id=run.run_id, model="n", reason="no prediction: x")]
            )
            == 2
        )
        assert store.save_predictions([first.model_copy(update={"coverage": 0.9})]) == 0
        got = {p.model: p for p in store.predictions([run.run_id])}
    assert got["m"].coverage == 0.4 and got["m"].predicted and got["m"].curve == used
    assert not got["n"].predicted and got["n"].reason == "no prediction: x"


def test_a_store_from_before_predictions_gains_the_table(tmp_path: object) -> None:
    """The predictions table is additive: a store written before it opens, and gets it."""
    from pathlib import Path

    from sqlalchemy import inspect, text

    db = str(Path(str(tmp_path)) / "old.db")
    with Store(db) as s:
        with s.engine.begin() as conn:
            conn.execute(text("DROP TABLE predictions"))
        assert "predictions" not in inspect(s.engine).get_table_names()
    with Store(db) as s:
        assert "predictions" in inspect(s.engine).get_table_names()
        assert s.predictions() == []
