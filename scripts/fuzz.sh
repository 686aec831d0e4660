#!/usr/bin/env bash
# Builds every cargo-fuzz target, then runs each for a bounded time.
#
#   scripts/fuzz.sh                                  # each target for 60 s, optimized build
#   FUZZ_SECONDS=10 scripts/fuzz.sh webhook_signature_header
#   FUZZ_SECONDS=5 FUZZ_PROFILE=dev scripts/fuzz.sh  # what `cargo xtask ci` runs
#
# Installs what it needs when missing: the nightly toolchain (rustup, minimal profile) and cargo-fuzz.
# FUZZ_PROFILE=dev builds without optimizations: about half the build time of the default (release),
# for a run that only has to prove every target builds, replays its committed corpus and fuzzes a little.
# New inputs go to fuzz/target/corpus/<target>/ (the committed fuzz/corpus/<target>/ is read, never
# grown; `cargo fuzz cmin` and copy the interesting ones over to commit them);
# a crash leaves its input in fuzz/artifacts/<target>/ and makes the script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
CARGO_FUZZ_VERSION="0.13.2"
build_flags=()
case "${FUZZ_PROFILE:-release}" in
  release) ;;
  dev) build_flags+=(--dev) ;;
  *) echo "FUZZ_PROFILE must be release or dev, not ${FUZZ_PROFILE}" >&2; exit 2 ;;
esac

if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
  echo "installing the $TOOLCHAIN toolchain" >&2
  rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo +"$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo +"$TOOLCHAIN" install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +"$TOOLCHAIN" fuzz list)
fi
if [ "${#targets[@]}" -eq 0 ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi

# Every target is built before any runs: one that no longer compiles fails here, named by cargo.
echo "=== build ${targets[*]}" >&2
if [ "$#" -gt 0 ]; then
  for t in "${targets[@]}"; do
    cargo +"$TOOLCHAIN" fuzz build "${build_flags[@]}" "$t"
  done
else
  cargo +"$TOOLCHAIN" fuzz build "${build_flags[@]}"
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
  if ! cargo +"$TOOLCHAIN" fuzz run "${build_flags[@]}" "$t" "target/corpus/$t" "corpus/$t" -- \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 -print_final_stats=1 "${extra[@]}"; then
    failed+=("$t")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets with findings: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${SECONDS_PER_TARGET}s each without a finding" >&2
