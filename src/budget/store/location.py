"""Where the store lives: ``--db``, then ``BUDGET_DB``, then the user's data directory.

This module is light on purpose (no SQLAlchemy): ``budget plan`` asks it whether a store
exists before anything heavy is imported.  A location is either an SQLAlchemy URL
(``postgresql+psycopg://user@host/db``, ``sqlite:///path``) or a plain file path, which
means an SQLite file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "BUDGET_DB"
FILE_NAME = "budget.db"


def user_data_dir() -> Path:
    r"""The platform's per-user data directory for budget (no extra dependency).

    Linux and other Unix: ``$XDG_DATA_HOME/budget`` or ``~/.local/share/budget`` (XDG Base
    Directory spec); macOS: ``~/Library/Application Support/budget``; Windows:
    ``%APPDATA%\budget``.
    """
    if sys.platform == "win32":
        base = os.environ.get("APPDATA")
        return Path(base) / "budget" if base else Path.home() / "AppData" / "Roaming" / "budget"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "budget"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base_dir / "budget"


def default_path() -> Path:
    """The default SQLite file: ``<user data dir>/budget.db``."""
    return user_data_dir() / FILE_NAME


def is_url(location: str) -> bool:
    """Whether ``location`` is a URL (has a scheme) rather than a file path."""
    return "://" in location


def resolve(db: str | os.PathLike[str] | None = None) -> str:
    """The SQLAlchemy URL of the store: ``db``, else ``$BUDGET_DB``, else the default file."""
    raw = os.fspath(db) if db is not None else os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return sqlite_url(default_path())
    if is_url(raw):
        return raw
    return sqlite_url(Path(raw).expanduser())


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite file ``path`` (made absolute)."""
    return f"sqlite:///{path.resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL; None for in-memory SQLite and other databases."""
    prefix, sep, rest = url.partition(":///")
    if not sep or not prefix.startswith("sqlite"):
        return None
    path = rest.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def exists(url: str) -> bool:
    """Whether there may be a store at ``url`` without creating one.

    SQLite: the file exists.  Server databases (PostgreSQL...): assumed present; opening them
    tells.  In-memory SQLite: never (a fresh one is empty).
    """
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        return path is not None and path.is_file()
    return True


def display(url: str) -> str:
    """The URL with any password hidden, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
