"""Store backends for the tests: an SQLite file in tmp, and a throwaway PostgreSQL cluster.

The PostgreSQL cluster is started once per test session with ``initdb``/``pg_ctl`` (from
PATH, ``pg_config --bindir`` or Debian's ``/usr/lib/postgresql/*/bin``) in a temporary
directory, listening only on a Unix socket there; every test gets a fresh schema in it.
``initdb`` refuses to run as root, so as root the cluster runs as ``nobody``.  When no
PostgreSQL is installed (or it cannot start), the PostgreSQL cases are skipped with the reason.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_PORT = 54000 + os.getpid() % 1000
_counter = itertools.count()


def _pg_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and (Path(out.stdout.strip()) / "initdb").exists():
            return Path(out.stdout.strip())
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(cand).parent
    return None


def _as_cluster_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root and runuser is missing")
    return [runuser, "-u", "nobody", "--", *cmd]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    """A running throwaway PostgreSQL cluster; yields the URL prefix (without a database)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'budget[postgres]')")
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL (initdb) is not installed")
    root = Path(tempfile.mkdtemp(prefix="budget-pg-"))
    root.chmod(0o777)  # the cluster user (nobody, when we are root) writes here
    data, log = root / "data", root / "server.log"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    run = dict(capture_output=True, text=True, check=False, env=env, timeout=120)
    try:
        out = subprocess.run(
            _as_cluster_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "budget",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            **run,  # type: ignore[call-overload]
        )
        if out.returncode != 0:
            pytest.skip(f"initdb failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
        opts = f"-k {root} -p {_PORT} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        out = subprocess.run(
            _as_cluster_user(
                [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "start"]
            ),
            **run,  # type: ignore[call-overload]
        )
        if out.returncode != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else out.stderr
            pytest.skip(f"PostgreSQL did not start: {tail}")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot start PostgreSQL: {exc}")
    try:
        yield f"postgresql+psycopg://budget@/{{db}}?host={root}&port={_PORT}"
    finally:
        subprocess.run(
            _as_cluster_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            **run,  # type: ignore[call-overload]
        )
        shutil.rmtree(root, ignore_errors=True)


def _fresh_pg_schema(prefix: str) -> str:
    """A new, empty schema in the cluster's ``postgres`` database (much faster than a database)."""
    import psycopg

    name = f"t{os.getpid()}_{next(_counter)}"
    host = prefix.split("host=", 1)[1].split("&", 1)[0]
    with psycopg.connect(host=host, port=_PORT, user="budget", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    return prefix.format(db="postgres") + f"&options=-csearch_path%3D{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty store: an SQLite file in tmp, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'budget.db'}"
    return _fresh_pg_schema(request.getfixturevalue("postgres_cluster"))
