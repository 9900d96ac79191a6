#!/usr/bin/env bash
# The project's run command (the README's first one):
#   bash scripts/run.sh [ARGS...]
# Installs the build needs if missing (idempotent), builds Postscope in
# release mode and runs it with ARGS. Without ARGS it shows what it can do.
# Assumes Debian/Ubuntu with Rust from rustup; uses sudo when not root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(build-essential pkg-config ca-certificates)
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

cargo build --release --locked --quiet
exec target/release/postscope "$@"
