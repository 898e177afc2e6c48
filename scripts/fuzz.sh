#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets, cargo-fuzz on the nightly toolchain) for a while and
# prints one line per target: executions, time, and whether it crashed. Not part of CI (too
# long); CI runs the same entry points as bounded property tests (tests/properties.rs).
#   scripts/fuzz.sh [TARGET...]        FUZZ_SECONDS=90 (parsers) FUZZ_DECODER_SECONDS=240
# New corpus entries go to fuzz/corpus/TARGET (hash-named, not committed: see fuzz/.gitignore);
# a crash leaves its input in fuzz/artifacts/TARGET/: turn it into a regression test.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install -q cargo-fuzz
parsers=${FUZZ_SECONDS:-90}
decoders=${FUZZ_DECODER_SECONDS:-240}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls fuzz/fuzz_targets | sed 's/\.rs$//'))
cargo +nightly fuzz build -O --fuzz-dir fuzz >/dev/null 2>&1 || cargo +nightly fuzz build -O --fuzz-dir fuzz || exit 1
bin=fuzz/target/x86_64-unknown-linux-gnu/release
status=0
for t in "${targets[@]}"; do
  case $t in docker_lines|cri_lines|file_lines|multiline|decode_json|config) secs=$decoders ;; *) secs=$parsers ;; esac
  log=$(mktemp)
  mkdir -p "fuzz/artifacts/$t"
  # The binaries built once above, run directly (cargo fuzz run would rebuild on every change).
  "$bin/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$secs" -max_len=4096 \
    -rss_limit_mb=2048 "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(grep -a -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "$t: ${runs:-?} (${secs}s budget): no crash"
  else
    status=1
    echo "$t: CRASH (exit $rc); input in fuzz/artifacts/$t/; log tail:"
    tail -30 "$log" | sed 's/^/    /'
  fi
  rm -f "$log"
done
exit $status
