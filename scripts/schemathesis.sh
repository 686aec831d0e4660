#!/usr/bin/env bash
# Property-based API fuzzing of the mock with schemathesis, against the mock's own OpenAPI document.
#
#   scripts/schemathesis.sh                      # bounded budget, for CI
#   ST_MAX_EXAMPLES=200 ST_TIME_LIMIT=900 scripts/schemathesis.sh
#
# Installs schemathesis into a venv under target/ when missing, builds and starts the mock binary on a
# free port, runs every check (`--checks all`) in the per-operation phases and the stateful phase (chains
# along the document's links: campaign create → lifecycle, trigger → reward → cancel / fraud / redemption)
# with the demo secret key, exits non-zero on any failure, and always stops the mock.
# scripts/schemathesis/schemathesis.toml says which statuses the contract allows and fails the run on an
# operation left mostly 404 or 429; scripts/schemathesis/hooks.py keeps webhook deliveries on loopback
# and, in the per-operation phases, sends one valid case in three of the operations that need a
# resource in some state against one made for it (a draft, a live campaign, a held reward, a link).
# The compat endpoints get a rate the run stays under (MOMENTS_MOCK_COMPAT_RATE). The control API
# (/_mock/…) is left out: it injects faults and moves the clock by design; so is DELETE /v1/api_keys/{id}
# (schemathesis learns the demo key's id from GET /v1/api_keys and would revoke the key it runs with).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$TARGET_DIR"
TARGET_DIR="$(cd "$TARGET_DIR" && pwd)"   # absolute: the run changes directory below
VENV="$TARGET_DIR/schemathesis-venv"
ST_VERSION="${ST_VERSION-==4.32.5}"        # pinned: the CLI changes between majors; "" = latest
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-50}"
TIME_LIMIT="${ST_TIME_LIMIT:-300}"          # seconds for the whole run
DEMO_SECRET="sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc"
DEMO_LEGACY="mk_demo_8f2b9c1d4e5a6b7c"   # for the compatibility endpoints

if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "installing schemathesis into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis${ST_VERSION}"
fi
if [ -n "$ST_VERSION" ] && ! "$VENV/bin/pip" show schemathesis 2>/dev/null | grep -qx "Version: ${ST_VERSION#==}"; then
  "$VENV/bin/pip" install --quiet "schemathesis${ST_VERSION}"
fi

BIN="$TARGET_DIR/debug/moments-mock-server"
cargo build --quiet -p moments-mock-server --bin moments-mock-server   # a no-op when fresh

LOG="$(mktemp)"
MOMENTS_MOCK_COMPAT_RATE=1000 "$BIN" --port 0 >"$LOG" 2>&1 &
MOCK_PID=$!
cleanup() {
  kill "$MOCK_PID" 2>/dev/null || true
  wait "$MOCK_PID" 2>/dev/null || true
  rm -f "$LOG"
}
trap cleanup EXIT

URL=""
for _ in $(seq 1 300); do
  URL="$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$LOG" | head -n1 | sed 's/^listening on //')" || true
  [ -n "$URL" ] && break
  if ! kill -0 "$MOCK_PID" 2>/dev/null; then
    cat "$LOG" >&2
    echo "the mock exited before listening" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$URL" ]; then
  cat "$LOG" >&2
  echo "the mock did not print its URL within 30 s" >&2
  exit 1
fi
echo "schemathesis against $URL (max $MAX_EXAMPLES examples per operation, ${TIME_LIMIT}s)" >&2

ST="$VENV/bin/schemathesis"
# schemathesis keeps a cache (.schemathesis/) in its working directory: keep it out of the tree. A fixed
# seed and no example database (examples kept from earlier runs): every run starts from the same point,
# locally as in CI; the mock's random ids still vary what follows, and the hooks keep each operation reached.
mkdir -p "$TARGET_DIR/schemathesis-run"
cd "$TARGET_DIR/schemathesis-run"
MAJOR="$("$VENV/bin/python" -c 'import schemathesis; print(schemathesis.__version__.split(".")[0])' 2>/dev/null || echo 3)"
STATUS=0
if [ "$MAJOR" -ge 4 ]; then
  PYTHONPATH="$ROOT/scripts/schemathesis" SCHEMATHESIS_HOOKS=hooks \
  MOMENTS_ST_URL="$URL" MOMENTS_ST_SECRET="$DEMO_SECRET" \
  timeout --signal=INT "$TIME_LIMIT" "$ST" --config-file "$ROOT/scripts/schemathesis/schemathesis.toml" \
    run "$URL/openapi.json" \
    --url "$URL" \
    --header "Authorization: Bearer $DEMO_SECRET" \
    --header "x-api-key: $DEMO_LEGACY" \
    --checks all \
    --max-examples "$MAX_EXAMPLES" \
    --phases examples,coverage,fuzzing,stateful \
    --workers 1 \
    --exclude-path-regex '^/_mock/' \
    --exclude-operation-id revoke_key \
    --suppress-health-check all \
    --seed 1 \
    --generation-database none \
    --no-color || STATUS=$?
else
  timeout --signal=INT "$TIME_LIMIT" "$ST" run "$URL/openapi.json" \
    --base-url "$URL" \
    --header "Authorization: Bearer $DEMO_SECRET" \
    --header "x-api-key: $DEMO_LEGACY" \
    --checks not_a_server_error,response_schema_conformance \
    --hypothesis-max-examples "$MAX_EXAMPLES" \
    --hypothesis-suppress-health-check all \
    --hypothesis-seed 1 \
    --exclude-path-regex '^/_mock/' \
    --exclude-operation-id revoke_key \
    --no-color || STATUS=$?
fi
if [ "$STATUS" -eq 124 ]; then
  echo "schemathesis hit the ${TIME_LIMIT}s budget before finishing" >&2
fi
if ! kill -0 "$MOCK_PID" 2>/dev/null; then
  echo "the mock died during the run" >&2
  STATUS=1
fi
exit "$STATUS"
