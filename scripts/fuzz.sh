#!/usr/bin/env bash
# Runs the fuzz targets (fuzz/fuzz_targets/*.rs, libFuzzer through
# libfuzzer-sys) on stable Rust, without cargo-fuzz or a nightly:
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET ...]
#
# SECONDS (default 60) is the time for each target; no TARGET means all of
# them. The flags are what `cargo fuzz build -s none` passes (coverage
# instrumentation, no sanitizer), so `cargo fuzz run TARGET -s none` works
# the same where cargo-fuzz is installed. Each run starts from the checked-in
# seeds (fuzz/corpus/TARGET) and works in a copy, so the tree stays clean;
# a crash is saved as fuzz/artifacts/TARGET/crash-* and the script fails.
# New inputs it found are left in fuzz/target/corpus/TARGET for a human to
# promote into the seeds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=()
  for f in fuzz/fuzz_targets/*.rs; do
    TARGETS+=("$(basename "$f" .rs)")
  done
fi

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cdebug-assertions -Coverflow-checks"
# An explicit --target, as cargo-fuzz gives: RUSTFLAGS then reach only the
# code that runs in the target, not build scripts and proc macros.
HOST="$(rustc -vV | sed -n 's/^host: //p')"
echo "==> building the fuzz targets (release, instrumented, $HOST)"
cargo build --locked --release --manifest-path fuzz/Cargo.toml --bins --target "$HOST"

failed=0
for t in "${TARGETS[@]}"; do
  work="fuzz/target/corpus/$t"
  mkdir -p "$work" "fuzz/artifacts/$t"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  echo "==> fuzzing $t for ${SECONDS_EACH}s"
  if ! "fuzz/target/$HOST/release/$t" -max_total_time="$SECONDS_EACH" -max_len=65536 \
      -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 "$work" 2> "fuzz/target/$t.log"; then
    echo "!! $t failed; its log: fuzz/target/$t.log" >&2
    tail -40 "fuzz/target/$t.log" >&2
    failed=1
  else
    grep -E '^stat::(number_of_executed_units|new_units_added)' "fuzz/target/$t.log" | tr '\n' ' '
    echo
  fi
done
exit "$failed"
