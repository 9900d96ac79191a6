#!/usr/bin/env bash
# Renders the app icon (assets/icon.svg) to the PNG sizes the hicolor theme
# and the window use (packaging/icons/postscope-SIZE.png), after the SVG
# changes. The PNGs are checked in, so building needs no SVG renderer.
#   bash scripts/icons.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v rsvg-convert >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends librsvg2-bin
fi
for size in 16 22 24 32 48 64 128 256 512; do
  rsvg-convert -w "$size" -h "$size" assets/icon.svg -o "packaging/icons/postscope-$size.png"
done
echo "wrote packaging/icons/postscope-{16..512}.png"
