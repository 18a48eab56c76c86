#!/usr/bin/env bash
# Install Debian's chromium for the test that renders `budget report --html` headless
# (tests/report/test_html_chromium.py; it skips where no chromium is found).  Run by scripts/test
# before the suite; idempotent.  BUDGET_SKIP_CHROMIUM=1 skips the install.
set -euo pipefail
if [ "${BUDGET_SKIP_CHROMIUM:-}" = 1 ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
elif command -v dnf >/dev/null 2>&1; then
  $SUDO dnf install -y chromium
else
  echo "setup-chromium: install chromium with your package manager (the HTML report test skips without it)" >&2
fi
