#!/usr/bin/env bash
# Make the sandbox that runs generated code usable: install bubblewrap when it is missing, then
# check that it can create a user namespace.  Run by scripts/test before the suite; idempotent.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if ! command -v bwrap >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bubblewrap
  elif command -v dnf >/dev/null 2>&1; then
    $SUDO dnf install -y bubblewrap
  else
    echo "setup-sandbox: install bubblewrap (bwrap) with your package manager" >&2
    exit 1
  fi
fi
probe() {
  bwrap --unshare-all --unshare-user --die-with-parent --ro-bind / / --dev /dev --proc /proc true 2>/dev/null
}
if ! probe; then
  # Ubuntu 23.10+ restricts unprivileged user namespaces through AppArmor.
  knob=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
  if [ -e "$knob" ] && [ "$(cat "$knob")" = 1 ]; then
    echo "setup-sandbox: allowing unprivileged user namespaces for bubblewrap (AppArmor restriction)" >&2
    $SUDO sysctl -q -w kernel.apparmor_restrict_unprivileged_userns=0
  fi
fi
if ! probe; then
  echo "setup-sandbox: bubblewrap is installed but cannot create a sandbox here:" >&2
  bwrap --unshare-all --unshare-user --ro-bind / / --dev /dev --proc /proc true || true
  exit 1
fi
