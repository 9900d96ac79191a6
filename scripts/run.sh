#!/usr/bin/env bash
# The project's run command (the README's first one):
#   bash scripts/run.sh [ARGS...]
# Installs the build and runtime needs if missing (idempotent), builds
# Postscope in release mode and runs it with ARGS. Without ARGS it opens the
# desktop app on its built-in Local sandbox server, so a first message can be
# sent and its exchange watched with no account at all.
# Assumes Debian/Ubuntu with Rust from rustup; uses sudo when not root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The window's libraries are loaded at run time (dlopen), so they are listed
# here by hand: X11 or Wayland, EGL/GL (Mesa), xkbcommon, fontconfig, D-Bus.
APT_PACKAGES=(
  build-essential pkg-config ca-certificates
  libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0
  libwayland-client0 libwayland-cursor0 libwayland-egl1
  libegl1 libgl1 libgl1-mesa-dri libfontconfig1 libdbus-1-3
)
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
