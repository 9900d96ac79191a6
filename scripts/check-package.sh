#!/usr/bin/env bash
# Checks a built package (scripts/package.sh --check calls it):
#   bash scripts/check-package.sh target/debian/postscope_*.deb
# The desktop entry and the AppStream metadata with their validators (no
# errors, no warnings), the .deb with lintian (no errors), its file list
# against what it must hold, and apt-get install --simulate (its Depends
# resolve on this system). Needs desktop-file-utils, appstream, lintian.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DEB="$1"

echo "==> desktop-file-validate"
out="$(desktop-file-validate packaging/org.postscope.Postscope.desktop 2>&1 || true)"
if [ -n "$out" ]; then echo "$out"; exit 1; fi
echo "ok"

echo "==> appstreamcli validate --no-net"
# Errors and warnings fail; infos (a tag this appstream is too old to know)
# and pedantic notes are shown.
out="$(appstreamcli validate --no-net --pedantic --explain packaging/org.postscope.Postscope.metainfo.xml 2>&1)" || {
  echo "$out"; exit 1; }
echo "$out"
if grep -qE '^(E|W): ' <<<"$out"; then echo "appstream: errors or warnings above"; exit 1; fi

echo "==> lintian (errors fail; warnings shown)"
# Running as root is fine for a check; lintian only reads the file.
lintian --allow-root --fail-on error --tag-display-limit 0 "$DEB"

echo "==> file list (dpkg-deb -c)"
list="$(dpkg-deb -c "$DEB" | awk '{print $6}')"
missing=0
expect=(
  ./usr/bin/postscope
  ./usr/share/applications/org.postscope.Postscope.desktop
  ./usr/share/metainfo/org.postscope.Postscope.metainfo.xml
  ./usr/share/icons/hicolor/scalable/apps/org.postscope.Postscope.svg
  ./usr/share/man/man1/postscope.1.gz
  ./usr/share/man/man1/postscope-send.1.gz
  ./usr/share/man/man1/postscope-probe.1.gz
  ./usr/share/man/man1/postscope-sandbox.1.gz
  ./usr/share/man/man1/postscope-account.1.gz
  ./usr/share/bash-completion/completions/postscope
  ./usr/share/zsh/vendor-completions/_postscope
  ./usr/share/fish/vendor_completions.d/postscope.fish
  ./usr/share/doc/postscope/copyright
  ./usr/share/doc/postscope/changelog.Debian.gz
)
for size in 16 22 24 32 48 64 128 256 512; do
  expect+=("./usr/share/icons/hicolor/${size}x${size}/apps/org.postscope.Postscope.png")
done
for f in "${expect[@]}"; do
  grep -qxF "$f" <<<"$list" || { echo "missing from the package: $f"; missing=1; }
done
[ "$missing" = 0 ] || exit 1
echo "ok: ${#expect[@]} files present"

echo "==> Depends and Recommends"
dpkg-deb -f "$DEB" Depends Recommends

echo "==> apt-get install --simulate"
apt-get install --simulate --no-install-recommends "./$DEB" > target/debian/simulate.log 2>&1 || {
  cat target/debian/simulate.log; exit 1; }
# A machine with this very version installed gets no Inst line.
grep -E '^(Inst|Conf) postscope|postscope is already the newest version' target/debian/simulate.log
echo "ok: the package's Depends resolve"
