"""The store on a real SQLite file and a real PostgreSQL database (same tests for both)."""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budget.curves import CoverageCurve
from budget.errors import StoreError
from budget.store import (
    PriceSnapshot,
    ProblemCounts,
    ProblemRecord,
    RunStatus,
    SampleKey,
    SampleRecord,
    Store,
)
from budget.verify.protocol import Outcome, Verdict

PASS = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.25, detail="")
FAIL = Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0.5, detail="assert 1 == 2")
TIMEOUT = Verdict(passed=False, outcome=Outcome.TIMEOUT, duration_s=3.0, detail="timed out after 3 s")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def sample(run_id: str, model: str, problem: str, index: int, **kw: object) -> SampleRecord:
    return SampleRecord.model_validate(
        {"run_id": run_id, "model": model, "problem_id": problem, "sample_index": index, **kw}
    )


def test_run_round_trip(store: Store) -> None:
    plan = {
        "schema_version": 1,
        "recommendation": {"allocations": [{"model": "m", "samples_per_problem": 5}]},
    }
    run = store.create_run(
        "humaneval", models=["m", "n"], cap=Decimal("12.345678901"), plan=plan, settings={"policy": "fixed"}
    )
    got = store.get_run(run.run_id)
    assert got.task == "humaneval" and got.models == ["m", "n"]
    assert got.cap == Decimal("12.345678901") and got.spent == 0
    assert got.plan == plan and got.settings == {"policy": "fixed"}
    assert got.status is RunStatus.CREATED and got.created_at.tzinfo is not None
    assert abs(got.created_at - datetime.now(UTC)) < timedelta(minutes=5)
    spent = Decimal("0.000001") * 3 + Decimal("1.1")
    store.update_run(run.run_id, status=RunStatus.FINISHED, spent=spent, note="done")
    got = store.get_run(run.run_id)
    assert got.status is RunStatus.FINISHED and got.spent == Decimal("1.100003") and got.note == "done"
    assert "humaneval" in store.tasks()
    with pytest.raises(StoreError, match="no run"):
        store.get_run("nope")
    with pytest.raises(StoreError, match="already exists"):
        store.create_run("humaneval", run_id=run.run_id)


def test_runs_newest_first_and_by_task(store: Store) -> None:
    ids = [store.create_run("a" if i % 2 else "b").run_id for i in range(4)]
    assert [r.run_id for r in store.runs()] == ids[::-1]
    assert [r.run_id for r in store.runs(task="a")] == [ids[3], ids[1]]
    assert len(store.runs(limit=2)) == 2


def test_tasks_and_problems_idempotent(store: Store) -> None:
    probs = [ProblemRecord(problem_id=f"P/{i}", prompt=f"def f{i}(): ...") for i in range(3)]
    store.add_task("t", probs, source="unit test")
    store.add_task("t", [*probs, ProblemRecord(problem_id="P/9", prompt_hash="ab" * 32)])
    got = store.problems("t")
    assert [p.problem_id for p in got] == ["P/0", "P/1", "P/2", "P/9"]
    assert got[0].prompt_hash == hashlib.sha256(b"def f0(): ...").hexdigest()
    assert got[3].prompt is None and got[3].prompt_hash == "ab" * 32


def test_sample_round_trip_with_tiers(store: Store) -> None:
    run = store.create_run("humaneval", models=["m"])
    rec = sample(
        run.run_id,
        "m",
        "HumanEval/0",
        0,
        seed=17,
        prompt_hash="p" * 64,
        completion="    return 1\n",
        prompt_tokens=120,
        output_tokens=33,
        cost=Decimal("0.0000423"),
        latency_s=1.5,
        finish_reason="stop",
        verdicts={"fast": PASS, "full": FAIL},
    )
    assert store.add_sample(rec) is True
    [back] = store.samples(run_id=run.run_id)
    assert back.task == "humaneval"  # taken from the run
    assert back.completion_hash == hashlib.sha256(b"    return 1\n").hexdigest()
    assert back.cost == Decimal("0.0000423") and back.seed == 17 and back.latency_s == 1.5
    assert back.verdicts == {"fast": PASS, "full": FAIL}
    assert back.model_dump(exclude={"created_at", "task", "completion_hash"}) == rec.model_dump(
        exclude={"created_at", "task", "completion_hash"}
    )


def test_hash_only_samples(store: Store) -> None:
    run = store.create_run("private")
    store.add_sample(sample(run.run_id, "m", "p", 0, completion=None, completion_hash="c" * 64))
    [back] = store.samples(run_id=run.run_id)
    assert back.completion is None and back.completion_hash == "c" * 64


def test_same_key_twice_is_stored_once(store: Store) -> None:
    run = store.create_run("t")
    first = sample(run.run_id, "m", "p", 0, completion="a", cost=Decimal("0.5"), verdicts={"v": PASS})
    again = sample(run.run_id, "m", "p", 0, completion="b", cost=Decimal("0.7"), verdicts={"v": FAIL})
    assert store.add_sample(first) is True
    assert store.add_sample(again) is False
    [back] = store.samples(run_id=run.run_id)
    assert back.completion == "a" and back.verdicts == {"v": PASS}
    assert store.sample_spend(run.run_id) == Decimal("0.5")
    assert store.finished_keys(run.run_id) == {SampleKey(run.run_id, "m", "p", 0)}


def test_sample_of_unknown_run_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no such run"):
        store.add_sample(sample("ghost", "m", "p", 0))


def test_set_verdict_adds_and_replaces_a_tier(store: Store) -> None:
    run = store.create_run("t")
    store.add_sample(sample(run.run_id, "m", "p", 0, verdicts={"fast": PASS}))
    key = SampleKey(run.run_id, "m", "p", 0)
    store.set_verdict(key, "full", TIMEOUT)
    store.set_verdict(key, "full", PASS)
    [back] = store.samples(run_id=run.run_id)
    assert back.verdicts == {"fast": PASS, "full": PASS}
    with pytest.raises(StoreError, match="no sample"):
        store.set_verdict(SampleKey(run.run_id, "m", "p", 1), "full", PASS)


def test_problem_counts_strictest_tier_and_unverified(store: Store) -> None:
    run = store.create_run("t")
    r = run.run_id
    store.add_samples(
        [
            sample(r, "m", "p1", 0, verdicts={"fast": PASS, "full": PASS}),
            sample(r, "m", "p1", 1, verdicts={"fast": PASS, "full": FAIL}),
            sample(r, "m", "p1", 2, verdicts={"fast": FAIL}),
            sample(r, "m", "p1", 3),  # not verified: not in n
            sample(r, "m", "p2", 0, verdicts={"fast": TIMEOUT}),
            sample(r, "n", "p1", 0, verdicts={"fast": PASS}),
        ]
    )
    counts = {(c.model, c.problem_id): (c.n, c.c) for c in store.problem_counts("t")}
    assert counts == {("m", "p1"): (3, 1), ("m", "p2"): (1, 0), ("n", "p1"): (1, 1)}
    fast = {(c.model, c.problem_id): (c.n, c.c) for c in store.problem_counts("t", tier="fast", model="m")}
    assert fast == {("m", "p1"): (3, 2), ("m", "p2"): (1, 0)}
    assert store.problem_counts("other") == []
    other = store.create_run("t")
    store.add_sample(sample(other.run_id, "m", "p1", 0, verdicts={"fast": PASS}))
    assert {c.problem_id: c.n for c in store.problem_counts("t", model="m")} == {"p1": 4, "p2": 1}
    only = store.problem_counts("t", model="m", run_ids=[other.run_id])
    assert [(c.problem_id, c.n, c.c) for c in only] == [("p1", 1, 1)]


def test_cost_stats_are_exact(store: Store) -> None:
    run = store.create_run("t")
    costs = [Decimal("0.000001"), Decimal("0.0000015"), Decimal("0.1234567")]
    for i, c in enumerate(costs):
        store.add_sample(
            sample(run.run_id, "m", "p", i, cost=c, prompt_tokens=100, output_tokens=10 * (i + 1))
        )
    [stats] = store.cost_stats("t")
    assert stats.samples == 3 and stats.total == sum(costs) == Decimal("0.1234592")
    assert stats.mean == sum(costs) / 3 and stats.max == Decimal("0.1234567")
    assert (
        stats.mean_prompt_tokens == 100 and stats.mean_output_tokens == 20 and stats.max_output_tokens == 30
    )


def test_price_snapshots(store: Store) -> None:
    run = store.create_run("t")
    p = PriceSnapshot(
        model="gpt-4o-mini",
        input_per_mtok=Decimal("0.15"),
        output_per_mtok=Decimal("0.60"),
        source="litellm model_prices_and_context_window.json",
        as_of="2026-11-01",
        litellm_version="1.55.0",
    )
    local = PriceSnapshot(model="qwen", kind="local_machine", usd_per_hour=Decimal("0.0832"), machine="cpu-2")
    store.record_prices(run.run_id, [p, local])
    store.record_prices(run.run_id, [p.model_copy(update={"output_per_mtok": Decimal("0.61")})])
    got = {x.model: x for x in store.prices(run.run_id)}
    assert (
        got["gpt-4o-mini"].output_per_mtok == Decimal("0.61")
        and got["gpt-4o-mini"].litellm_version == "1.55.0"
    )
    assert got["qwen"] == local


def _curve(model: str, task: str, a: float) -> CoverageCurve:
    return CoverageCurve(
        model=model, task=task, form="power_law", params={"a": a, "b": -0.3}, draws=[[a, -0.3]]
    )


def test_curves_latest_per_model_and_latest_task(store: Store) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    store.save_curve(
        _curve("m", "t", -2.0), problems=10, samples=50, correct=12, run_ids=["r1"], fitted_at=t0
    )
    store.save_curve(_curve("m", "t", -1.0), problems=10, samples=80, fitted_at=t0 + timedelta(hours=1))
    store.save_curve(_curve("n", "u", -3.0), fitted_at=t0 + timedelta(minutes=30))
    latest = store.curves("t")
    assert [(c.model, c.curve.params["a"]) for c in latest] == [("m", -1.0)]
    assert len(store.curves("t", latest=False)) == 2
    assert store.curves(None)[0].task == "t"
    assert store.latest_task() == "t"
    first = store.curves("t", latest=False)[1]
    assert first.run_ids == ["r1"] and first.samples == 50 and first.correct == 12
    assert first.curve == _curve("m", "t", -2.0)


def test_curve_keeps_its_counts(store: Store) -> None:
    counts = [ProblemCounts(model="m", task="t", problem_id=f"p{i}", n=10, c=i) for i in range(4)]
    saved = store.save_curve(_curve("m", "t", -1.0), counts=counts, run_ids=["r"])
    assert (saved.problems, saved.samples, saved.correct) == (4, 40, 6)
    assert saved.curve_id is not None and store.curve_counts(saved.curve_id) == counts
    with pytest.raises(StoreError, match="no curve"):
        store.curve_counts(saved.curve_id + 100)


def test_latest_task_falls_back_to_runs(store: Store) -> None:
    assert store.latest_task() is None
    store.create_run("mine")
    assert store.latest_task() == "mine"


def test_reopening_keeps_everything(store_url: str) -> None:
    with Store(store_url) as s:
        run = s.create_run("t")
        s.add_sample(sample(run.run_id, "m", "p", 0, verdicts={"v": PASS}))
    with Store(store_url) as s:
        assert s.finished_keys(run.run_id) == {SampleKey(run.run_id, "m", "p", 0)}


def test_concurrent_writers_store_each_key_once(store: Store) -> None:
    run = store.create_run("t")
    keys = [(m, f"p{i}", j) for m in ("a", "b") for i in range(5) for j in range(3)]
    new: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for m, p, j in keys:
            ok = store.add_sample(sample(run.run_id, m, p, j, cost=Decimal("0.001"), verdicts={"v": PASS}))
            with lock:
                new.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(new) == len(keys) and len(new) == 4 * len(keys)
    assert len(store.finished_keys(run.run_id)) == len(keys)
    assert store.sample_spend(run.run_id) == Decimal("0.001") * len(keys)


_write = st.tuples(
    st.sampled_from(["m1", "m2"]),
    st.sampled_from(["p0", "p1", "p2"]),
    st.integers(0, 3),
    st.decimals(min_value=0, max_value=1, places=9, allow_nan=False),
    st.sampled_from([None, True, False]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(_write, max_size=30))
def test_writes_with_repeats_match_a_first_write_wins_reference(store: Store, writes: list[tuple]) -> None:  # type: ignore[type-arg]
    """Any sequence of writes, repeats included (a resumed run), stores each key once.

    Reference: a dict that keeps the first record per key; n/c/spend computed from it in Python.
    """
    run = store.create_run("prop")
    first: dict[tuple[str, str, int], tuple[Decimal, bool | None]] = {}
    for model, problem, index, cost, passed in writes:
        verdicts = {} if passed is None else {"v": PASS if passed else FAIL}
        stored = store.add_sample(sample(run.run_id, model, problem, index, cost=cost, verdicts=verdicts))
        assert stored == ((model, problem, index) not in first)
        first.setdefault((model, problem, index), (cost, passed))
    assert store.finished_keys(run.run_id) == {SampleKey(run.run_id, *k) for k in first}
    assert store.sample_spend(run.run_id) == sum((c for c, _ in first.values()), Decimal(0))
    ref: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (model, problem, _), (_, passed) in first.items():
        if passed is not None:
            ref[(model, problem)][0] += 1
            ref[(model, problem)][1] += int(passed)
    got = {(c.model, c.problem_id): [c.n, c.c] for c in store.problem_counts("prop", run_ids=[run.run_id])}
    assert got == dict(ref)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(_write, max_size=25), batch=st.integers(1, 6))
def test_batched_writes_equal_one_by_one_writes(store: Store, writes: list[tuple], batch: int) -> None:  # type: ignore[type-arg]
    """``add_samples`` in chunks (repeats inside a chunk included) stores what one-by-one writes store."""
    one, many = store.create_run("batch"), store.create_run("batch")

    def recs(run_id: str) -> list[SampleRecord]:
        return [
            sample(run_id, m, p, i, cost=c, verdicts={} if v is None else {"v": PASS if v else FAIL})
            for m, p, i, c, v in writes
        ]

    new_one = sum(store.add_sample(r) for r in recs(one.run_id))
    chunks = recs(many.run_id)
    new_many = sum(store.add_samples(chunks[i : i + batch]) for i in range(0, len(chunks), batch))
    assert new_one == new_many == len({(m, p, i) for m, p, i, _, _ in writes})

    def content(run_id: str) -> list[tuple[object, ...]]:
        return [
            (s.model, s.problem_id, s.sample_index, s.cost, s.verdicts) for s in store.samples(run_id=run_id)
        ]

    assert content(one.run_id) == content(many.run_id)
