"""`budget import`: five formats into the store, odd cases, one-line errors, nothing half-imported
(issue 12, "Import what users already have")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from budget.errors import DataError, InputError
from budget.service.importing import ImportRequest, counts_from_samples, import_file, read_file
from budget.store import Store


def _db(tmp_path: Path) -> str:
    return str(tmp_path / "s.db")


def _counts_csv(tmp_path: Path) -> Path:
    p = tmp_path / "counts.csv"
    # unequal samples per problem, a problem never solved, one always solved
    p.write_text(
        "model,problem_id,num_samples,num_correct\nm1,a,10,3\nm1,b,5,0\nm1,c,8,8\nm2,a,4,1\nm2,b,4,4\n",
        encoding="utf-8",
    )
    return p


def _solved(db: str, run_id: str) -> dict[str, tuple[int, int, dict[str, int]]]:
    with Store(db) as s:
        return {st.model: (st.problems, st.samples, st.solved) for st in s.run_model_stats([run_id])}


def test_counts_round_trip_per_problem(tmp_path: Path) -> None:
    db = _db(tmp_path)
    r = import_file(ImportRequest(file=_counts_csv(tmp_path), format="counts", task="toy", db=db))
    assert {(m.model, m.problems, m.samples) for m in r.models} == {("m1", 3, 23), ("m2", 2, 8)}
    with Store(db) as s:
        counts = {(c.model, c.problem_id): (c.n, c.c) for c in s.problem_counts("toy", run_ids=[r.run_id])}
        run = s.get_run(r.run_id)
    assert counts == {
        ("m1", "a"): (10, 3),
        ("m1", "b"): (5, 0),
        ("m1", "c"): (8, 8),
        ("m2", "a"): (4, 1),
        ("m2", "b"): (4, 4),
    }
    assert run.status.value == "finished" and run.spent == 0 and "imported" in run.settings
    assert _solved(db, r.run_id)["m1"] == (3, 23, {"verifier": 2})


def test_monkey_business_json_array_and_jsonl(tmp_path: Path) -> None:
    rows = [
        {"orig_dset_idx": 0, "is_corrects": [False, True, False]},
        {"orig_dset_idx": 1, "is_corrects": [False, False]},
        {"orig_dset_idx": 2, "is_corrects": [True] * 4},
    ]
    arr = tmp_path / "gsm8k_pythia.json"
    arr.write_text(json.dumps(rows), encoding="utf-8")
    lines = tmp_path / "rows.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    for path in (arr, lines):
        parsed = read_file(ImportRequest(file=path, format="monkey-business", model="pythia-70m"))
        got = {b.problem_id: b.tiers["verifier"] for b in parsed.blocks}
        assert got == {"0": [False, True, False], "1": [False, False], "2": [True] * 4}
    assert read_file(ImportRequest(file=arr, format="monkey-business", model="m")).task == "gsm8k_pythia"
    with pytest.raises(InputError, match="--model is required"):
        read_file(ImportRequest(file=arr, format="monkey-business"))


def _evalplus(tmp_path: Path) -> Path:
    doc = {
        "date": "2024-05-01 10:00",
        "hash": "x",
        "eval": {
            "HumanEval/0": [
                {
                    "task_id": "HumanEval/0",
                    "solution": "def f(): pass",
                    "base_status": "pass",
                    "plus_status": "fail",
                },
                {
                    "task_id": "HumanEval/0",
                    "solution": "def f(): 1",
                    "base_status": "pass",
                    "plus_status": "pass",
                },
            ],
            "HumanEval/1": [
                {"task_id": "HumanEval/1", "solution": "x", "base_status": "fail", "plus_status": "fail"},
            ],
            "HumanEval/2": [
                {"task_id": "HumanEval/2", "solution": "y", "base_status": "pass", "plus_status": "fail"},
            ],
        },
    }
    p = tmp_path / "eval_results.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def test_evalplus_base_and_plus_are_the_two_tiers(tmp_path: Path) -> None:
    db = _db(tmp_path)
    r = import_file(ImportRequest(file=_evalplus(tmp_path), format="evalplus", model="gpt-4o", db=db))
    assert r.task == "humaneval"
    # base (weak tests) accepts 2 problems; plus (stronger tests) only 1: the accepted-but-wrong gap
    assert _solved(db, r.run_id)["gpt-4o"] == (3, 4, {"ground_truth": 1, "verifier": 2})
    with Store(db) as s:
        texts = {x.completion for x in s.samples(run_id=r.run_id)}
    assert "def f(): 1" in texts


def test_samples_jsonl_round_trips_through_export(tmp_path: Path) -> None:
    from budget.service.store_view import export_samples, show_run

    db = _db(tmp_path)
    first = import_file(ImportRequest(file=_evalplus(tmp_path), format="evalplus", model="gpt-4o", db=db))
    out = tmp_path / "out" / "samples.jsonl"
    assert export_samples(first.run_id, out, db).samples == 4
    # into the same store only when asked (again=True): its samples would otherwise count twice
    second = import_file(ImportRequest(file=out, format="samples", db=db, again=True))
    assert second.task == "humaneval"
    a, b = show_run(first.run_id, db), show_run(second.run_id, db)
    assert [m.model_dump(exclude={"spent"}) for m in a.models] == [
        m.model_dump(exclude={"spent"}) for m in b.models
    ]
    assert b.models[0].solved_ground_truth == 1 and b.models[0].solved_verifier == 2


def test_samples_jsonl_with_costs_sets_the_spend(tmp_path: Path) -> None:
    from budget.service.store_view import show_run

    p = tmp_path / "s.jsonl"
    p.write_text(
        '{"task_id": "t/0", "model": "m", "passed": true, "cost": "0.0010"}\n'
        '{"task_id": "t/0", "model": "m", "passed": false, "cost": "0.0020"}\n'
        '{"task_id": "t/1", "model": "m", "passed": false, "cost": 0.003}\n',
        encoding="utf-8",
    )
    db = _db(tmp_path)
    r = import_file(ImportRequest(file=p, format="samples", task="toy", db=db))
    shown = show_run(r.run_id, db)
    assert str(shown.spent) == "0.0060" and shown.models[0].solved_verifier == 1


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        (
            "samples",
            '{"task_id": "a", "model": "m", "passed": true}\n{"task_id": "a", "model": "m"}\n',
            "line 2: no passed",
        ),
        ("samples", '{"task_id": "a", "model": "m", "passed": true}\nnot json\n', "line 2: not valid JSON"),
        (
            "samples",
            '{"task_id": "a", "model": "m", "passed": "yes"}\n',
            "line 1: passed must be true or false",
        ),
        (
            "samples",
            '{"task_id": "a", "model": "m", "passed": true, "sample_index": 0}\n'
            '{"task_id": "a", "model": "m", "passed": true, "sample_index": 0}\n',
            "line 2: sample 0 of a (m) appears twice",
        ),
        (
            "monkey-business",
            '{"orig_dset_idx": 0, "is_corrects": [true]}\n{"orig_dset_idx": 0, "is_corrects": [false]}\n',
            "line 2: problem 0 of m appears twice",
        ),
        (
            "monkey-business",
            '{"orig_dset_idx": 0, "is_corrects": [true, 2]}\n',
            "line 1: each of is_corrects",
        ),
        (
            "counts",
            "model,problem_id,num_samples,num_correct\nm,a,3,1\nm,b,2,5\n",
            "line 3: num_correct 5 exceeds",
        ),
        (
            "counts",
            "model,problem_id,num_samples,num_correct\nm,a,3,1\nm,a,3,1\n",
            "line 3: problem a of m appears twice",
        ),
    ],
)
def test_a_bad_row_is_one_line_naming_it_and_nothing_is_imported(
    tmp_path: Path, fmt: str, text: str, message: str
) -> None:
    p = tmp_path / ("bad.csv" if fmt == "counts" else "bad.jsonl")
    p.write_text(text, encoding="utf-8")
    db = _db(tmp_path)
    with pytest.raises(DataError, match=re.escape(message)) as info:
        import_file(ImportRequest(file=p, format=fmt, model="m", db=db))  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    with Store(db) as s:
        assert s.runs() == [] and s.samples() == []


def test_a_failure_while_writing_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store writes the run in one transaction: a failure after some problems are written
    (here: a disk that fills up at the third problem) rolls everything back."""
    import budget.store.imports as imports

    real = imports._checked_size
    calls = {"n": 0}

    def failing(block: imports.ImportBlock) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(block)

    monkeypatch.setattr(imports, "_checked_size", failing)
    db = _db(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        import_file(ImportRequest(file=_counts_csv(tmp_path), format="counts", task="toy", db=db))
    assert calls["n"] == 3
    with Store(db) as s:
        assert s.runs() == [] and s.samples() == [] and s.problems("toy") == []


def test_model_names_follow_the_one_rule(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text("model,problem_id,num_samples,num_correct\nQwen2.5-Coder-0.5B,a,2,1\n", encoding="utf-8")
    parsed = read_file(ImportRequest(file=p, format="counts"))
    assert parsed.blocks[0].model == "qwen2.5-coder-0.5b-instruct"


def test_fit_reads_per_sample_jsonl(tmp_path: Path) -> None:
    """`budget fit` reads the per-sample JSONL that `verify` reads (failed on main: CSV only)."""
    from budget.service.fitting import FitRequest, fit_file

    p = tmp_path / "samples.jsonl"
    rows = []
    for i in range(12):
        for j in range(8):
            rows.append({"task_id": f"t/{i}", "model": "m", "passed": (i * 7 + j) % (i + 2) == 0})
    p.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    counts = counts_from_samples(p, "toy")
    assert counts[0].num_samples == [8] * 12 and counts[0].problem_ids[0] == "t/0"
    result = fit_file(FitRequest(counts=p, task="toy", predict=[1, 8]))
    assert result.models[0].n_problems == 12 and result.models[0].task == "toy"


def test_unknown_file_and_format_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_file(ImportRequest(file=tmp_path / "nope.json", format="samples"))
    p = tmp_path / "x.json"
    p.write_text('{"eval": {}}', encoding="utf-8")
    with pytest.raises(DataError, match="not an EvalPlus"):
        read_file(ImportRequest(file=p, format="evalplus", model="m"))
