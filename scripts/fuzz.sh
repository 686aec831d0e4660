#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (not part of every CI run).
#
#   scripts/fuzz.sh            # each target for 60 s
#   FUZZ_SECONDS=10 scripts/fuzz.sh webhook_signature_header
#
# Needs the nightly toolchain (installed here) and cargo-fuzz (installed on first use).
# New inputs go to fuzz/target/corpus/<target>/ (the committed fuzz/corpus/<target>/ is read, never
# grown; `cargo fuzz cmin` and copy the interesting ones over to commit them);
# a crash leaves its input in fuzz/artifacts/<target>/ and makes the script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"

if ! cargo +"$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo +"$TOOLCHAIN" install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +"$TOOLCHAIN" fuzz list)
fi

failed=()
for t in "${targets[@]}"; do
  echo "=== fuzz $t for ${SECONDS_PER_TARGET}s" >&2
  mkdir -p "corpus/$t" "target/corpus/$t"
  extra=()
  # The mock target keeps one server state across runs on purpose (it grows), which LeakSanitizer
  # would rescan after every input: leaks are not what it looks for.
  [ "$t" = mock_request_parse ] && extra+=(-detect_leaks=0)
  # -max_len keeps inputs near real request sizes; -timeout flags a single slow input as a bug.
  if ! cargo +"$TOOLCHAIN" fuzz run "$t" "target/corpus/$t" "corpus/$t" -- \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 -print_final_stats=1 "${extra[@]}"; then
    failed+=("$t")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets with findings: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${SECONDS_PER_TARGET}s each without a finding" >&2
