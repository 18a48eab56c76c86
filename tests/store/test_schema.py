"""Opening stores: schema versions, foreign databases, unreachable servers, lazy imports."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from budget.curves import CoverageCurve
from budget.errors import StoreError
from budget.store import STORE_SCHEMA_VERSION, Store


def _set_version(path: Path, version: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE budget_schema SET version = ?", (version,))


@pytest.mark.parametrize(("version", "word"), [(STORE_SCHEMA_VERSION + 1, "a newer"), (0, "an older")])
def test_other_schema_version_is_one_clear_line(tmp_path: Path, version: int, word: str) -> None:
    path = tmp_path / "b.db"
    Store(str(path)).close()
    _set_version(path, version)
    with pytest.raises(StoreError) as err:
        Store(str(path))
    message = str(err.value)
    assert "\n" not in message
    assert f"from {word} budget" in message and f"schema version {version}" in message
    assert f"reads version {STORE_SCHEMA_VERSION}" in message and str(path) in message
    assert err.value.exit_code == 6


def test_schema_version_is_checked_on_every_backend(store_url: str) -> None:
    from sqlalchemy import text

    store = Store(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE budget_schema SET version = 99"))
    store.close()
    with pytest.raises(StoreError, match="schema version 99"):
        Store(store_url)


def test_a_table_added_later_is_created_in_an_older_store(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    Store(str(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE curve_counts")
    with Store(str(path)) as store:
        assert store.curve_counts(store.save_curve(_flat_curve()).curve_id or 0) == []


def test_a_missing_core_table_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    Store(str(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE verdicts")
    with pytest.raises(StoreError, match="lacks tables verdicts"):
        Store(str(path))


def _flat_curve() -> CoverageCurve:
    return CoverageCurve(model="m", task="t", form="power_law", params={"a": -1.0, "b": -0.5})


def test_foreign_database_with_our_table_names(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (id TEXT PRIMARY KEY)")
    with pytest.raises(StoreError, match="no schema version"):
        Store(str(path))


def test_not_a_database_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the store") as err:
        Store(str(path))
    assert "\n" not in str(err.value)


def test_unreachable_server_is_a_store_error(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://nobody:secret@/db?host={tmp_path}&port=1&connect_timeout=2"
    with pytest.raises(StoreError) as err:
        Store(url)
    assert "secret" not in str(err.value) and "***" in str(err.value)


def test_unknown_driver_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open the store"):
        Store("nosuchdb://x/y")


def test_open_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store"):
        Store(str(tmp_path / "absent.db"), create=False)
    assert not (tmp_path / "absent.db").exists()


def test_importing_the_store_package_does_not_load_sqlalchemy() -> None:
    code = (
        "import sys, budget.store, budget.store.location, budget.store.records\n"
        "print([m for m in ('sqlalchemy', 'sqlmodel') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
