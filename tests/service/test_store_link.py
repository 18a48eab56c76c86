"""The store feeds `budget plan`: the user's own curves and measured costs win over the catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from budget.curves import CoverageCurve
from budget.errors import StoreError
from budget.service.planning import PlanRequest, make_plan
from budget.service.store_link import user_candidates
from budget.store import ProblemRecord, SampleRecord, Store
from budget.verify.protocol import Outcome, Verdict

PASS = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.1)
FAIL = Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0.1)


def _curve(model: str, task: str, a: float, b: float = -0.4) -> CoverageCurve:
    return CoverageCurve(
        model=model,
        task=task,
        form="power_law",
        params={"a": a, "b": b},
        draws=[[a * f, b] for f in (0.9, 1.0, 1.1)],
        max_observed_k=10,
        n_problems=20,
    )


def _fill(db: Path, task: str, model: str, costs: list[str], a: float, when: datetime) -> None:
    with Store(str(db)) as s:
        s.add_task(task, [ProblemRecord(problem_id=f"{task}/{i}") for i in range(164)])
        run = s.create_run(task, models=[model])
        for i, c in enumerate(costs):
            s.add_sample(
                SampleRecord(
                    run_id=run.run_id,
                    model=model,
                    problem_id=f"{task}/{i % 20}",
                    sample_index=i // 20,
                    cost=Decimal(c),
                    prompt_tokens=150,
                    output_tokens=40,
                    verdicts={"verifier": PASS if i % 3 else FAIL},
                )
            )
        s.save_curve(
            _curve(model, task, a), problems=20, samples=len(costs), run_ids=[run.run_id], fitted_at=when
        )


def test_no_store_means_none_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "absent" / "budget.db"
    assert user_candidates(str(db)) is None
    assert not db.exists() and not db.parent.exists()


def test_env_variable_locates_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("BUDGET_DB", str(db))
    assert user_candidates() is None
    _fill(db, "humaneval", "qwen-0.5b", ["0.001"] * 40, -1.0, datetime.now(UTC))
    assert user_candidates() is not None


def test_own_task_becomes_the_default_with_measured_costs(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    costs = ["0.0010", "0.0020", "0.0030", "0.0041"] * 10
    _fill(db, "humaneval", "qwen-0.5b", costs, -1.2, t0)
    _fill(db, "humaneval", "qwen-1.5b", ["0.004"] * 40, -0.6, t0 + timedelta(minutes=5))
    lookup = user_candidates(str(db))
    assert lookup is not None
    task, cands, size, excluded = lookup(None)
    assert excluded == []
    assert task == "humaneval" and size == 164
    by = {c.model: c for c in cands}
    assert set(by) == {"qwen-0.5b", "qwen-1.5b"}
    small = by["qwen-0.5b"]
    assert small.cost.first == small.cost.repeat == Decimal("0.002525")  # exact mean of the stored costs
    assert small.cost.worst_first == Decimal("0.0041")
    assert "40 of your samples" in small.cost.formula
    assert small.curve.params["a"] == -1.2
    result = make_plan(PlanRequest.parse("5"), user_candidates=lookup)
    assert result.inputs.task == "humaneval" and result.inputs.problems == 164
    # your models beside the catalog's published HumanEval entries (issue 12: compare with a frontier model)
    assert {a.model for a in result.alternatives} >= {"qwen-0.5b", "qwen-1.5b", "gpt-4o"}
    assert result.recommendation.expected_cost <= 5


def test_latest_curve_wins_and_explicit_catalog_task_is_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    _fill(db, "humaneval", "m", ["0.001"] * 40, -3.0, t0)
    with Store(str(db)) as s:
        s.save_curve(_curve("m", "humaneval", -0.5), samples=40, fitted_at=t0 + timedelta(hours=1))
    lookup = user_candidates(str(db))
    assert lookup is not None
    [only] = lookup("humaneval").candidates
    assert only.curve.params["a"] == -0.5
    plain = make_plan(PlanRequest.parse("50", task="math"))
    mine = make_plan(PlanRequest.parse("50", task="math"), user_candidates=lookup)
    assert mine.model_dump(exclude={"warnings"}) == plain.model_dump(exclude={"warnings"})


def test_own_curve_replaces_the_catalog_entry_of_the_same_model(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    _fill(db, "math", "pythia-2.8b", ["0.00001"] * 40, -0.05, datetime.now(UTC))
    lookup = user_candidates(str(db))
    assert lookup is not None
    result = make_plan(PlanRequest.parse("1"), user_candidates=lookup)
    assert result.inputs.task == "math"
    own = next(a for a in result.alternatives if a.model == "pythia-2.8b")
    assert "your samples" in own.source
    expected = float(_curve("pythia-2.8b", "math", -0.05).coverage(np.array([own.samples_per_problem]))[0])
    assert own.expected_coverage == pytest.approx(expected, rel=1e-6)


def test_curve_without_samples_is_not_a_candidate(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    with Store(str(db)) as s:
        s.save_curve(_curve("ghost", "humaneval", -1.0))
    lookup = user_candidates(str(db))
    assert lookup is not None
    assert lookup(None) == ("humaneval", [], None, [])


def test_store_from_another_version_fails_with_one_line(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    Store(str(db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE budget_schema SET version = 42")
    lookup = user_candidates(str(db))
    assert lookup is not None
    with pytest.raises(StoreError, match="schema version 42"):
        make_plan(PlanRequest.parse("5"), user_candidates=lookup)


# ----------------------------------------------------------------- the plan snapshot (issue 11, start-up)
def _lookup_in_fresh_process(db: Path) -> tuple[bool, list[str], list[float]]:
    """(was SQLAlchemy imported, models, params a) of a lookup in a new interpreter."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys; from budget.service.store_link import user_candidates; "
        f"r = user_candidates({str(db)!r})(None); "
        "print(json.dumps(['sqlalchemy' in sys.modules, [c.model for c in r.candidates], "
        "[c.curve.params['a'] for c in r.candidates]]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported, models, a = json.loads(out.stdout)
    return imported, models, a


def test_second_plan_reads_the_snapshot_without_sqlalchemy(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    _fill(db, "humaneval", "qwen-0.5b", ["0.001"] * 40, -1.2, datetime.now(UTC))
    first = _lookup_in_fresh_process(db)
    assert first[0] is True and (tmp_path / "b.db.plan-snapshot.json").is_file()
    second = _lookup_in_fresh_process(db)
    assert second == (False, first[1], first[2])


def test_a_write_to_the_store_makes_the_snapshot_stale(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    _fill(db, "humaneval", "m", ["0.001"] * 40, -3.0, t0)
    lookup = user_candidates(str(db))
    assert lookup is not None and lookup(None).candidates[0].curve.params["a"] == -3.0
    with Store(str(db)) as s:
        s.save_curve(_curve("m", "humaneval", -0.5), samples=40, fitted_at=t0 + timedelta(hours=1))
    again = user_candidates(str(db))
    assert again is not None and again(None).candidates[0].curve.params["a"] == -0.5


@pytest.mark.parametrize(
    "junk", [b"", b"{not json", b'{"format": 1, "key": [1], "lookups": {"null": 5}}', b"\xff\xfe"]
)
def test_a_damaged_snapshot_is_ignored(tmp_path: Path, junk: bytes) -> None:
    db = tmp_path / "b.db"
    _fill(db, "humaneval", "m", ["0.001"] * 40, -3.0, datetime.now(UTC))
    (tmp_path / "b.db.plan-snapshot.json").write_bytes(junk)
    lookup = user_candidates(str(db))
    assert lookup is not None and lookup(None).candidates[0].curve.params["a"] == -3.0


def test_a_snapshot_from_another_store_state_is_not_used(tmp_path: Path) -> None:
    """A snapshot whose key does not match the store file (copied, edited) is rebuilt."""
    import json

    db = tmp_path / "b.db"
    _fill(db, "humaneval", "m", ["0.001"] * 40, -3.0, datetime.now(UTC))
    lookup = user_candidates(str(db))
    assert lookup is not None
    lookup(None)
    snap = tmp_path / "b.db.plan-snapshot.json"
    doc = json.loads(snap.read_text())
    doc["lookups"]["null"]["candidates"][0]["curve"]["params"]["a"] = -9.0
    doc["key"][1] += 1
    snap.write_text(json.dumps(doc))
    assert lookup(None).candidates[0].curve.params["a"] == -3.0


def _fill_costless(db: Path, task: str, model: str, a: float) -> None:
    """Samples as `budget import --format counts` stores them: no cost, no tokens."""
    with Store(str(db)) as s:
        s.add_task(task, [ProblemRecord(problem_id=f"{task}/{i}") for i in range(20)])
        run = s.create_run(task, models=[model])
        s.add_samples(
            SampleRecord(
                run_id=run.run_id,
                model=model,
                problem_id=f"{task}/{i % 20}",
                sample_index=i // 20,
                cost=Decimal(0),
                verdicts={"verifier": PASS if i % 3 else FAIL},
            )
            for i in range(60)
        )
        s.save_curve(_curve(model, task, a), problems=20, samples=60, run_ids=[run.run_id])


def test_an_unknown_cost_is_not_free_the_model_is_left_out_with_a_reason(tmp_path: Path) -> None:
    """Review defect (issue 12): imported samples without costs planned at $0 per sample."""
    db = tmp_path / "s.db"
    _fill_costless(db, "mine", "no-such-priced-model", np.log(0.5))
    _fill(db, "mine", "paid-model", ["0.002"] * 60, np.log(0.3), datetime.now(UTC))
    got = user_candidates(str(db))
    assert got is not None
    own = got("mine")
    assert [c.model for c in own.candidates] == ["paid-model"]
    assert all(c.cost.first > 0 for c in own.candidates)
    [reason] = own.excluded
    assert "no-such-priced-model" in reason and "unknown" in reason and "\n" not in reason
    result = make_plan(PlanRequest(dollars=Decimal(5), task="mine"), user_candidates=got)
    assert {a.model for a in result.alternatives} == {"paid-model"}
    assert any("no-such-priced-model" in w and "unknown" in w for w in result.warnings)
