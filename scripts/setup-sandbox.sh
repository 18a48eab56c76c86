#!/usr/bin/env bash
# Install bubblewrap (the sandbox that runs generated code) when it is missing.
# Run by scripts/test before the suite; safe to run again.
set -euo pipefail
if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bubblewrap
elif command -v dnf >/dev/null 2>&1; then
  $SUDO dnf install -y bubblewrap
else
  echo "setup-sandbox: install bubblewrap (bwrap) with your package manager" >&2
  exit 1
fi
command -v bwrap >/dev/null
