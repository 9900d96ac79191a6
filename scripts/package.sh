#!/usr/bin/env bash
# Builds the Debian package (the README's Install section):
#   bash scripts/package.sh [--check] [--profile dev]
# Installs what it needs if missing (cargo-deb into target/tools, Debian's
# checkers with --check), builds Postscope in release mode, writes the man
# pages and the completions from the clap definitions, and leaves
# target/debian/postscope_<version>-1_<arch>.deb.
#
#   --check        then validate: desktop-file-validate, appstreamcli
#                  validate --no-net, lintian (no errors), the file list, and
#                  apt-get install --simulate (Depends resolve).
#   --profile dev  package the debug binary the tests already built instead
#                  of building a release one (what the test command does, to
#                  stay inside its time budget; cargo-deb warns about it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_DEB_VERSION=3.8.0
PROFILE=release
CHECK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --check) CHECK=1 ;;
    --profile) PROFILE="$2"; shift ;;
    *) echo "usage: bash scripts/package.sh [--check] [--profile dev]" >&2; exit 2 ;;
  esac
  shift
done

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
need_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

need_apt build-essential binutils dpkg
if [ "$CHECK" = 1 ]; then
  need_apt desktop-file-utils appstream lintian
fi

# cargo-deb, pinned, in the project's own tools folder (kept between runs).
TOOLS="$PWD/target/tools"
if [ "$("$TOOLS/bin/cargo-deb" --version 2>/dev/null || true)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  echo "==> installing cargo-deb $CARGO_DEB_VERSION into target/tools"
  cargo install --quiet --locked --no-default-features --root "$TOOLS" --version "$CARGO_DEB_VERSION" cargo-deb
fi

if [ "$PROFILE" = dev ]; then
  BIN=target/debug/postscope
  cargo build --locked --quiet --bin postscope
else
  BIN="target/$PROFILE/postscope"
  cargo build --locked --quiet --profile "$PROFILE" --bin postscope
fi

echo "==> man pages and completions (target/pages)"
rm -rf target/pages
mkdir -p target/pages/man target/pages/completions
"$BIN" man --out-dir target/pages/man >/dev/null
"$BIN" completions bash > target/pages/completions/postscope
"$BIN" completions zsh > target/pages/completions/_postscope
"$BIN" completions fish > target/pages/completions/postscope.fish

echo "==> cargo deb --profile $PROFILE"
rm -f target/debian/postscope_*.deb
"$TOOLS/bin/cargo-deb" --no-build --profile "$PROFILE" --locked --quiet $([ "$PROFILE" = dev ] && echo --fast)
DEB="$(ls target/debian/postscope_*.deb)"
echo "built $DEB ($(du -h "$DEB" | cut -f1))"

[ "$CHECK" = 1 ] || exit 0
exec bash scripts/check-package.sh "$DEB"
