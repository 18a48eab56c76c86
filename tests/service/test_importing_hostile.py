"""`budget import` handed hostile or broken files: each is one-line error naming where (a
``DataError``, never a traceback), and the store is left as it was; or, where the file is
fine but its text is odd, the text round-trips as data (review of issues 12 and 13)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from budget.errors import DataError
from budget.service.importing import ImportRequest, import_file
from budget.store import Store

HEADER = "model,problem_id,num_samples,num_correct\n"


def _runs(db: str) -> int:
    if not Path(db).exists():
        return 0
    with Store(db) as s:
        return len(s.runs())


ROW = '{"task_id": "a", "model": "m", "passed": true'

BAD: list[tuple[str, str, str, str]] = [
    # (id, format, file content, what the one-line error says)
    ("csv-field-over-csv-limit", "counts", HEADER + "m," + "x" * 200_000 + ",3,1\n", "line 2"),
    ("csv-huge-count-text", "counts", HEADER + "m,p," + "9" * 100_000 + ",1\n", "line 2"),
    ("csv-nul-in-id", "counts", HEADER + "m,p\x00q,3,1\n", "line 2"),
    ("csv-escape-in-model", "counts", HEADER + "m\x1b]0;owned\x07,p,3,1\n", "line 2"),
    ("csv-bidi-override-in-model", "counts", HEADER + "gpt\u202e4o,p,3,1\n", "line 2"),
    ("jsonl-deep-nesting", "samples", "[" * 100_000 + "]" * 100_000 + "\n", "nested"),
    ("json-array-deep-nesting", "monkey-business", "[" + "[" * 100_000 + "]" * 100_000 + "]", "nested"),
    ("evalplus-deep-nesting", "evalplus", '{"eval": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested"),
    (
        "lone-surrogate-task-id",
        "samples",
        '{"task_id": "a\\ud800", "model": "m", "passed": true}\n',
        "line 1",
    ),
    ("lone-surrogate-model", "samples", '{"task_id": "a", "model": "m\\udfff", "passed": true}\n', "line 1"),
    ("nul-in-task-id", "samples", '{"task_id": "a\\u0000", "model": "m", "passed": true}\n', "line 1"),
    ("nul-in-task", "samples", ROW + ', "task": "t\\u0000"}\n', "line 1"),
    ("bool-task-id", "samples", '{"task_id": true, "model": "m", "passed": true}\n', "line 1"),
    ("object-problem-id", "monkey-business", '{"is_corrects": [true], "problem_id": {"a": 1}}\n', "line 1"),
    ("nan-latency", "samples", ROW + ', "latency_s": NaN}\n', "latency_s"),
    ("text-latency", "samples", ROW + ', "latency_s": "fast"}\n', "latency_s"),
    ("negative-latency", "samples", ROW + ', "latency_s": -1}\n', "latency_s"),
    ("huge-cost", "samples", ROW + ', "cost": 1e300}\n', "cost"),
    ("huge-tokens", "samples", ROW + ', "prompt_tokens": 99999999999999999999999}\n', "prompt_tokens"),
    ("huge-sample-index", "samples", ROW + ', "sample_index": 99999999999999999999999}\n', "sample_index"),
]


@pytest.mark.parametrize(("fmt", "content", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_hostile_file_is_one_line_and_nothing_is_imported(
    tmp_path: Path, fmt: str, content: str, says: str
) -> None:
    db = str(tmp_path / "s.db")
    path = tmp_path / "in.txt"
    path.write_text(content, encoding="utf-8", newline="")
    model = "m" if fmt in ("monkey-business", "evalplus") else None
    with pytest.raises(DataError) as err:
        import_file(ImportRequest(file=path, format=fmt, model=model, db=db))  # type: ignore[arg-type]
    message = str(err.value)
    assert "\n" not in message and len(message) < 400 and says in message
    assert message.isprintable(), message  # the error itself carries no escape sequence
    assert _runs(db) == 0


def test_hostile_but_printable_names_and_odd_completions_are_kept_as_data(tmp_path: Path) -> None:
    """Markup in names is data (escaped where shown); a completion's lone surrogate or NUL is
    stored as U+FFFD, as the run path stores it, instead of failing the whole import."""
    db = str(tmp_path / "s.db")
    name = '<script>document.title="pwned"</script>"><img src=x onerror=alert(1)>[bold]$x^$'
    rows = [
        {
            "task_id": "</svg><script>x()</script>",
            "model": name,
            "passed": True,
            "completion": "a\ud800b\x00c",
        },
        {"task_id": "| *md* | [l](javascript:x) |", "model": name, "passed": False},
    ]
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    r = import_file(ImportRequest(file=path, format="samples", task="t", db=db))
    assert [(m.model, m.problems, m.samples) for m in r.models] == [(name, 2, 2)]
    with Store(db) as s:
        got = {x.problem_id: x for x in s.samples(run_id=r.run_id)}
    assert got["</svg><script>x()</script>"].completion == "a\ufffdb\ufffdc"


def test_gzip_input_is_read_transparently(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    csv_gz = tmp_path / "c.csv.gz"
    csv_gz.write_bytes(gzip.compress((HEADER + "m,p,3,1\n").encode()))
    jsonl_gz = tmp_path / "s.jsonl.gz"
    jsonl_gz.write_bytes(gzip.compress(b'{"task_id": "a", "model": "m", "passed": true}\n'))
    a = import_file(ImportRequest(file=csv_gz, format="counts", task="t", db=db))
    b = import_file(ImportRequest(file=jsonl_gz, format="samples", task="t", db=db))
    assert a.task == b.task == "t"
    assert [(m.problems, m.samples) for m in a.models] == [(1, 3)]
    assert [(m.problems, m.samples) for m in b.models] == [(1, 1)]


def test_a_truncated_gzip_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.csv.gz"
    path.write_bytes(gzip.compress((HEADER + "m,p,3,1\n" * 100).encode())[:40])
    with pytest.raises(DataError, match="gzip"):
        import_file(ImportRequest(file=path, format="counts", task="t", db=str(tmp_path / "s.db")))


def test_importing_the_same_file_twice_is_refused_not_counted_twice(tmp_path: Path) -> None:
    """A second import of the same content (same bytes, format and --model, same task) would
    double every problem's samples in fit --db, narrowing its intervals on no new evidence;
    it is refused naming the first run, unless asked for with ``again``."""
    db = str(tmp_path / "s.db")
    src = tmp_path / "c.csv"
    src.write_text(HEADER + "m,a,10,3\nm,b,10,0\n", encoding="utf-8")
    first = import_file(ImportRequest(file=src, format="counts", task="t", db=db))
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(src.read_bytes())
    with pytest.raises(DataError, match=f"already imported as run {first.run_id}"):
        import_file(ImportRequest(file=copy, format="counts", task="t", db=db))
    with Store(db) as s:
        assert [(c.problem_id, c.n, c.c) for c in s.problem_counts("t")] == [("a", 10, 3), ("b", 10, 0)]
    # another task, or asked for: a new run
    import_file(ImportRequest(file=src, format="counts", task="t2", db=db))
    again = import_file(ImportRequest(file=src, format="counts", task="t", db=db, again=True))
    assert again.run_id != first.run_id
    with Store(db) as s:
        assert [c.n for c in s.problem_counts("t")] == [20, 20]


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        (
            "evalplus",
            '{"eval": {"HumanEval/0": [{"base_status": "pass"}], "HumanEval/0": [{"base_status": "fail"}]}}',
        ),
        ("samples", '{"task_id": "a", "model": "m", "passed": true, "passed": false}\n'),
    ],
    ids=["evalplus-task-twice", "samples-passed-twice"],
)
def test_a_json_key_given_twice_is_refused_not_last_wins(tmp_path: Path, fmt: str, content: str) -> None:
    """JSON parsers keep the last of two equal keys: one problem's samples were silently dropped."""
    db = str(tmp_path / "s.db")
    path = tmp_path / "in.json"
    path.write_text(content, encoding="utf-8")
    model = "m" if fmt == "evalplus" else None
    with pytest.raises(DataError, match="twice"):
        import_file(ImportRequest(file=path, format=fmt, model=model, db=db))  # type: ignore[arg-type]
    assert _runs(db) == 0


@pytest.mark.parametrize("task", ["  ", "\t"])
def test_a_blank_task_is_refused(tmp_path: Path, task: str) -> None:
    src = tmp_path / "c.csv"
    src.write_text(HEADER + "m,a,3,1\n", encoding="utf-8")
    with pytest.raises((DataError, ValueError)):
        import_file(ImportRequest(file=src, format="counts", task=task, db=str(tmp_path / "s.db")))
    assert _runs(str(tmp_path / "s.db")) == 0


def test_reimporting_an_export_into_its_own_store_is_refused(tmp_path: Path) -> None:
    """``budget export`` then ``budget import --format samples`` into the same store: other
    bytes, the same samples (each row names its run); they would count twice."""
    from budget.service.store_view import export_samples

    db = str(tmp_path / "s.db")
    src = tmp_path / "c.csv"
    src.write_text(HEADER + "m,a,10,3\n", encoding="utf-8")
    first = import_file(ImportRequest(file=src, format="counts", task="t", db=db))
    out = export_samples(first.run_id, tmp_path / "x.jsonl", db)
    with pytest.raises(DataError, match=f"run {first.run_id}"):
        import_file(ImportRequest(file=Path(out.file), format="samples", db=db))
    assert _runs(db) == 1
    # into another store it is a plain import
    other = import_file(ImportRequest(file=Path(out.file), format="samples", db=str(tmp_path / "o.db")))
    assert other.task == "t" and [(m.problems, m.samples) for m in other.models] == [(1, 10)]
