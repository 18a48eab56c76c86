#!/usr/bin/env bash
# Install PostgreSQL's server binaries (initdb, pg_ctl) when they are missing, so that the store
# tests run against a real PostgreSQL (tests/store/conftest.py starts a throwaway cluster in a
# temporary directory; no service is used).  Run by scripts/test; safe to run again.  When it
# cannot install, the PostgreSQL cases are skipped with the reason, so this never fails the run.
set -uo pipefail
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql \
    || echo "setup-postgres: could not install postgresql; the PostgreSQL store tests will skip" >&2
elif command -v dnf >/dev/null 2>&1; then
  $SUDO dnf install -y postgresql-server \
    || echo "setup-postgres: could not install postgresql-server; the PostgreSQL store tests will skip" >&2
else
  echo "setup-postgres: no apt-get or dnf; the PostgreSQL store tests will skip" >&2
fi
exit 0
