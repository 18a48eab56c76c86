"""`budget export RUN_ID --samples FILE` pointed at the wrong place: the store itself (directly
or through a symlink), a directory, a symlink to a file, an existing file (review of issue 12)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from budget.errors import InputError
from budget.service.importing import ImportRequest, import_file
from budget.service.store_view import export_samples
from budget.store import Store


@pytest.fixture
def run(tmp_path: Path) -> tuple[str, str]:
    db = str(tmp_path / "s.db")
    src = tmp_path / "c.csv"
    src.write_text("model,problem_id,num_samples,num_correct\nm,a,3,1\nm,b,2,0\n", encoding="utf-8")
    return import_file(ImportRequest(file=src, format="counts", task="t", db=db)).run_id, db


def _intact(db: str, run_id: str) -> None:
    with Store(db) as s:
        assert len(s.samples(run_id=run_id)) == 5


@pytest.mark.parametrize("via_link", [False, True], ids=["the-store-file", "a-symlink-to-the-store"])
def test_export_onto_the_store_is_refused_and_the_store_survives(
    tmp_path: Path, run: tuple[str, str], via_link: bool
) -> None:
    run_id, db = run
    dest = Path(db)
    if via_link:
        dest = tmp_path / "out.jsonl"
        dest.symlink_to(db)
    with pytest.raises(InputError, match="store"):
        export_samples(run_id, dest, db)
    _intact(db, run_id)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []


def test_export_to_a_directory_is_one_line_and_leaves_nothing(tmp_path: Path, run: tuple[str, str]) -> None:
    run_id, db = run
    d = tmp_path / "out"
    d.mkdir()
    with pytest.raises(InputError, match="is a directory") as err:
        export_samples(run_id, d, db)
    assert ".part" not in str(err.value)
    assert list(d.iterdir()) == [] and not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_export_through_a_symlink_writes_its_target_and_keeps_the_link(
    tmp_path: Path, run: tuple[str, str]
) -> None:
    run_id, db = run
    target = tmp_path / "real.jsonl"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert export_samples(run_id, link, db).samples == 5
    assert link.is_symlink()
    assert len(target.read_text(encoding="utf-8").splitlines()) == 5


def test_export_over_an_existing_file_replaces_it_whole_and_keeps_its_mode(
    tmp_path: Path, run: tuple[str, str]
) -> None:
    run_id, db = run
    dest = tmp_path / "out.jsonl"
    dest.write_text("x\n" * 100, encoding="utf-8")
    dest.chmod(0o640)
    export_samples(run_id, dest, db)
    rows = [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5 and {r["task_id"] for r in rows} == {"a", "b"}
    assert os.stat(dest).st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
