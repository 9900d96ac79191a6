#!/usr/bin/env bash
# The project's one test command (README and .ci/run call exactly this):
#   bash scripts/test.sh
# Installs what the build and tests need, if missing (idempotent), then runs
# the banned-dependency guard, rustfmt, clippy and the whole test suite.
# Assumes Debian/Ubuntu with Rust from rustup; uses sudo when not root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# --- System packages (Debian/Ubuntu) -----------------------------------------
# EXTEND THIS LIST when the build or the tests need more (e.g. GUI libraries).
APT_PACKAGES=(
  build-essential # C compiler for ring's build script
  pkg-config
  ca-certificates
  python3         # runs tests/support/smtp_server.py (aiosmtpd)
  python3-venv
  dbus            # dbus-run-session: a private session bus for the keychain tests
  gnome-keyring   # a real Secret Service (the OS keychain on Linux)
  dbus-x11
  libsecret-tools
  fonts-ipafont-gothic # a Japanese font: the window's text test renders with it
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

step "System packages"
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "all present: ${APT_PACKAGES[*]}"
  fi
else
  echo "warning: no dpkg-query (not Debian/Ubuntu?); make sure these are installed: ${APT_PACKAGES[*]}" >&2
fi

# --- Python venv with aiosmtpd (the real SMTP server the integration tests use)
AIOSMTPD_VERSION=1.4.6
VENV_PY="$PWD/.venv/bin/python"

step "Python venv (.venv) with aiosmtpd $AIOSMTPD_VERSION"
if [ -x "$VENV_PY" ] && ! "$VENV_PY" -m pip --version >/dev/null 2>&1; then
  echo ".venv has no working pip (half-made?); recreating it"
  rm -rf .venv
fi
if [ ! -x "$VENV_PY" ]; then
  python3 -m venv .venv
fi
if ! "$VENV_PY" -c "import sys, aiosmtpd; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" >/dev/null 2>&1; then
  "$VENV_PY" -m pip install --disable-pip-version-check -q "aiosmtpd==$AIOSMTPD_VERSION"
fi
"$VENV_PY" -c "import aiosmtpd; print('aiosmtpd', aiosmtpd.__version__, 'for', __import__('sys').version.split()[0])"
# PyJWT verifies OAuth2 tokens in the test SMTP server (--oauth-issuer).
PYJWT_VERSION=2.15.1
CRYPTOGRAPHY_VERSION=50.0.2
if ! "$VENV_PY" -c "import sys, jwt, cryptography; sys.exit(jwt.__version__ != '$PYJWT_VERSION' or cryptography.__version__ != '$CRYPTOGRAPHY_VERSION')" >/dev/null 2>&1; then
  "$VENV_PY" -m pip install --disable-pip-version-check -q --only-binary=:all: \
    "PyJWT==$PYJWT_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION"
fi
export POSTSCOPE_TEST_PYTHON="$VENV_PY"

# --- Node.js and the OAuth test provider (oidc-provider, tests/support/oauth)
step "Node.js and the OAuth test provider (npm ci, cached by the lockfile's hash)"
node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 18 ]
}
if ! node_ok; then
  echo "installing Debian's nodejs and npm"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
fi
echo "node $(node --version), npm $(npm --version)"
OAUTH_DIR=tests/support/oauth
lock_hash="$(sha256sum "$OAUTH_DIR/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$OAUTH_DIR/node_modules/.postscope-lock" 2>/dev/null || true)" != "$lock_hash" ]; then
  (cd "$OAUTH_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > "$OAUTH_DIR/node_modules/.postscope-lock"
else
  echo "node_modules match the lockfile"
fi

# --- Rust checks ---------------------------------------------------------------
unset CARGO_BUILD_JOBS # let cargo use every core (2 on CI)

# rustup's default profile has these; a minimal one does not.
if command -v rustup >/dev/null 2>&1; then
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
fi

step "Banned-dependency guard"
tree="$(cargo tree --locked --target x86_64-unknown-linux-gnu -e normal,build --prefix none)"
banned="$(grep -E '^(openssl-sys|aws-lc-sys|aws-lc-rs|native-tls|tokio|gtk-sys|wgpu|rustls-pemfile) ' <<<"$tree" | sort -u || true)"
if [ -n "$banned" ]; then
  echo "error: banned crates in the dependency graph (normal/build edges):" >&2
  echo "$banned" >&2
  echo "See 'cargo tree -i <crate> -e normal,build' for who pulls them in." >&2
  exit 1
fi
echo "ok: none of openssl-sys, aws-lc-sys, aws-lc-rs, native-tls, tokio, gtk-sys, wgpu, rustls-pemfile"

step "Layout: no import cycles, no file over 600 lines, each layer in its lane"
python3 scripts/layout.py

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (-D warnings), with and without the window"
cargo clippy --all-targets --locked -- -D warnings
cargo clippy --locked --no-default-features -- -D warnings

step "cargo test (inside a private D-Bus session with an unlocked gnome-keyring)"
# The keychain tests talk to a real Secret Service. The session bus and the
# keyring live only as long as this command: nothing touches a real profile
# (the tests point XDG_* at temporary folders).
export POSTSCOPE_KEYRING_HOME="$(mktemp -d)"
trap 'rm -rf "$POSTSCOPE_KEYRING_HOME"' EXIT
XDG_DATA_HOME="$POSTSCOPE_KEYRING_HOME" \
  dbus-run-session -- sh -c '
    printf "%s" "postscope-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    exec cargo test --locked
  '

step "The Debian package (built from the debug binary above), checked"
bash scripts/package.sh --check --profile dev

step "Fuzz targets, ${POSTSCOPE_FUZZ_SECONDS:-5} s each from the seeds (bash scripts/fuzz.sh SECONDS for longer)"
bash scripts/fuzz.sh "${POSTSCOPE_FUZZ_SECONDS:-5}"
