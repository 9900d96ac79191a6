#!/usr/bin/env bash
# Benchmark: peak memory and wall time of sending a message with a 25 MiB
# attachment to a local aiosmtpd (plain SMTP on 127.0.0.1), for
#   postscope send --attach FILE   (attachment read and encoded as it is sent)
#   postscope send --eml FILE      (a ready message)
#   curl --upload-file FILE        (for comparison, when curl is installed)
# Prints a Markdown table for the README. Needs the .venv that
# scripts/test.sh makes, and GNU time (/usr/bin/time, Debian package "time").
#   bash bench/send_large.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
size_mib="${1:-25}"
py="${POSTSCOPE_TEST_PYTHON:-$PWD/.venv/bin/python}"
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
cargo build --release --locked --quiet
bin="$PWD/target/release/postscope"

work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/big.bin"
"$py" - "$work/big.bin" "$work/big.eml" <<'PY'
import sys
from email.message import EmailMessage
msg = EmailMessage()
msg["From"] = "a@example.org"; msg["To"] = "b@example.org"; msg["Subject"] = "bench"
msg.set_content("see attachment")
msg.add_attachment(open(sys.argv[1], "rb").read(), maintype="application", subtype="octet-stream", filename="big.bin")
open(sys.argv[2], "wb").write(msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
PY

mkdir "$work/maildir"
"$py" tests/support/smtp_server.py --mode plain --maildir "$work/maildir" --ignore-stdin \
  > "$work/port" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 100); do grep -q PORT "$work/port" 2>/dev/null && break; sleep 0.1; done
port="$(awk '/PORT/{print $2}' "$work/port")"

measure() { # name, command...
  local name="$1"; shift
  /usr/bin/time -f "%M %e" -o "$work/time" "$@" > /dev/null 2> "$work/err" || {
    echo "$name failed:" >&2; cat "$work/err" >&2; exit 1; }
  read -r rss_kb secs < "$work/time"
  awk -v n="$name" -v s="$size_mib" -v r="$rss_kb" -v t="$secs" \
    'BEGIN { printf "| %s | %s MiB | %.1f MiB | %.2f s |\n", n, s, r / 1024, t }'
}

echo "| command | attachment | peak RSS | wall time |"
echo "|---|---|---|---|"
common=(--server "127.0.0.1:$port" --tls none --from a@example.org --to b@example.org)
measure "postscope send --attach" "$bin" send "${common[@]}" --subject bench --body x --attach "$work/big.bin"
measure "postscope send --eml" "$bin" send "${common[@]}" --eml "$work/big.eml"
if command -v curl >/dev/null; then
  measure "curl --upload-file" curl -s "smtp://127.0.0.1:$port" --mail-from a@example.org \
    --mail-rcpt b@example.org --upload-file "$work/big.eml"
fi
