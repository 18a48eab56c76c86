"""Where the store lives: --db, then BUDGET_DB, then the user's data directory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from budget.store import location


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BUDGET_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout")
def test_default_is_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert location.resolve() == f"sqlite:///{tmp_path / 'xdg' / 'budget' / 'budget.db'}"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert (
        location.resolve() == f"sqlite:///{tmp_path / 'home' / '.local' / 'share' / 'budget' / 'budget.db'}"
    )
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the spec says relative paths are invalid
    assert location.default_path() == tmp_path / "home" / ".local" / "share" / "budget" / "budget.db"


def test_env_then_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDGET_DB", str(tmp_path / "env.db"))
    assert location.resolve() == f"sqlite:///{tmp_path / 'env.db'}"
    assert location.resolve(str(tmp_path / "opt.db")) == f"sqlite:///{tmp_path / 'opt.db'}"
    monkeypatch.setenv("BUDGET_DB", "postgresql+psycopg://u@h/db")
    assert location.resolve() == "postgresql+psycopg://u@h/db"


def test_relative_path_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert location.resolve("x/runs.db") == f"sqlite:///{tmp_path / 'x' / 'runs.db'}"


def test_exists_checks_the_file_only_for_sqlite(tmp_path: Path) -> None:
    url = location.resolve(str(tmp_path / "a.db"))
    assert not location.exists(url)
    (tmp_path / "a.db").write_bytes(b"")
    assert location.exists(url)
    assert not location.exists("sqlite://")
    assert not location.exists("sqlite:///:memory:")
    assert location.exists("postgresql://u@h/db")
    assert location.sqlite_path("sqlite:////abs/x.db?mode=ro") == Path("/abs/x.db")


def test_display_hides_the_password() -> None:
    assert location.display("postgresql://me:hunter2@db.example/x") == "postgresql://me:***@db.example/x"
    assert location.display("postgresql://me@db/x") == "postgresql://me@db/x"
    assert location.display("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"
