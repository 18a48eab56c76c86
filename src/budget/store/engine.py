"""Opening a store: the engine for an SQLAlchemy URL, the schema version check, sessions.

:class:`StoreBase` is what the parts of :class:`budget.store.database.Store` (runs, samples,
aggregates) share; it also holds the conversions between records and rows.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col

from budget.errors import StoreError
from budget.store import location
from budget.store.records import utcnow
from budget.store.tables import (
    ADDITIVE_TABLES,
    OLDEST_UPGRADABLE_VERSION,
    STORE_SCHEMA_VERSION,
    TABLES,
    RunRow,
    SchemaRow,
    metadata,
)


class NoStoreError(StoreError):
    """There is no budget store at the location (opened with ``create=False``)."""


def text_hash(text: str) -> str:
    """SHA-256 of the UTF-8 text, hex: how prompts and completions are identified."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_run_id() -> str:
    """A new run id (12 hex digits of a random UUID)."""
    return uuid.uuid4().hex[:12]


def _utc(dt: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken to be UTC already)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class StoreBase:
    """An open store: engine, schema check, sessions and the failure mapping to StoreError."""

    def __init__(
        self, url: str | os.PathLike[str] | None = None, *, create: bool = True, echo: bool = False
    ) -> None:
        self.url = location.resolve(url)
        self._run_tasks: dict[str, str] = {}
        self.engine = self._engine(self.url, create=create, echo=echo)
        try:
            self._check_schema(create=create)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            if not create and self._open_read_only(echo):  # a store the user may only read
                return
            raise StoreError(
                f"cannot open the store at {location.display(self.url)}: {_first_line(exc)}"
            ) from exc
        except BaseException:
            self.engine.dispose()
            raise

    # --- opening -------------------------------------------------------------------
    def _open_read_only(self, echo: bool) -> bool:
        """Open a SQLite store that cannot be written (read-only file, directory or mount).

        A WAL database needs its ``-shm`` file, which a read-only directory cannot hold; SQLite
        reads it anyway when opened ``immutable`` (https://www.sqlite.org/uri.html).  Only for
        opening an existing store to read it (``create=False``): writes then fail as StoreError.
        """
        path = location.sqlite_path(self.url) if self.url.startswith("sqlite") else None
        if path is None or not path.is_file():
            return False
        if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
            return False  # writable: the first error was something else
        from urllib.parse import quote

        url = f"sqlite:///file:{quote(str(path.resolve()))}?mode=ro&immutable=1&uri=true"
        try:
            engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
            self.engine = engine
            self._check_schema(create=False)
        except (SQLAlchemyError, StoreError):
            self.engine.dispose()
            return False
        return True

    @staticmethod
    def _engine(url: str, *, create: bool, echo: bool) -> Engine:
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            path = location.sqlite_path(url)
            if path is None:
                kwargs["poolclass"] = StaticPool
            elif create:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create the store directory {path.parent}: {exc}") from exc
            elif not path.is_file():
                raise NoStoreError(f"no store at {path}")
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        try:
            engine = create_engine(url, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot open the store at {location.display(url)}: {_first_line(exc)}") from exc
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def _check_schema(self, *, create: bool) -> None:
        names = set(inspect(self.engine).get_table_names())
        ours = {t.__tablename__ for t in TABLES}  # type: ignore[attr-defined]
        where = location.display(self.url)
        if SchemaRow.__tablename__ not in names:
            if names & ours:
                raise StoreError(
                    f"the database at {where} has budget tables but no schema version; "
                    "it was not written by this budget (use another --db)"
                )
            if not create:
                raise NoStoreError(f"no budget store at {where}")
            self._create()
            return
        with Session(self.engine) as s:
            row = s.get(SchemaRow, 1)
        if row is None:
            raise StoreError(f"the store at {where} has an empty schema version table (use another --db)")
        upgrade = OLDEST_UPGRADABLE_VERSION <= row.version < STORE_SCHEMA_VERSION
        if row.version != STORE_SCHEMA_VERSION and not upgrade:
            newer = "a newer" if row.version > STORE_SCHEMA_VERSION else "an older"
            raise StoreError(
                f"the store at {where} is from {newer} budget (store schema version {row.version}; "
                f"this budget reads version {STORE_SCHEMA_VERSION}); use another --db or the matching budget"
            )
        missing = ours - names
        if missing - ADDITIVE_TABLES:
            raise StoreError(f"the store at {where} lacks tables {', '.join(sorted(missing))}")
        if missing:
            tables = [t.__table__ for t in TABLES if t.__tablename__ in missing]  # type: ignore[attr-defined]
            metadata.create_all(self.engine, tables=tables)
        if upgrade:  # only tables were added since: the store is now of this version
            with Session(self.engine) as s:
                s.exec(  # type: ignore[call-overload]
                    sa_update(SchemaRow)
                    .where(col(SchemaRow.version) == row.version)
                    .values(version=STORE_SCHEMA_VERSION)
                )
                s.commit()

    def _create(self) -> None:
        from budget import __version__

        metadata.create_all(self.engine, tables=[t.__table__ for t in TABLES])  # type: ignore[attr-defined]
        with Session(self.engine) as s:
            s.add(
                SchemaRow(
                    id=1, version=STORE_SCHEMA_VERSION, created_by=__version__, created_at=_utc(utcnow())
                )
            )
            try:
                s.commit()
            except IntegrityError:  # another process created it at the same moment
                s.rollback()

    def close(self) -> None:
        """Release the database's connections."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._guard(), Session(self.engine, expire_on_commit=False) as s:
            yield s

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Database failures (other than key conflicts, handled where they occur) as StoreError."""
        try:
            yield
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"store {location.display(self.url)}: {_first_line(exc)}") from exc

    @property
    def schema_version(self) -> int:
        """The store schema version this code writes."""
        return STORE_SCHEMA_VERSION

    # --- helpers ---------------------------------------------------------------------------
    def _run_task(self, run_id: str) -> str:
        task = self._run_tasks.get(run_id)
        if task is None:
            with self._session() as s:
                row = s.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"cannot store a sample of run {run_id!r}: no such run")
            task = self._run_tasks[run_id] = row.task
        return task


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        cur.close()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
