#!/bin/sh
# Starts the Moments mock in the background and returns once GET /_mock/health answers; prints its URL.
# Used by the GitHub Actions (binary), GitLab, Gradle and Xcode snippets in docs/ci-integration.md, and run by
# mock-server/tests/ci_snippets.rs. Stop it with: kill "$(cat "$MOCK_PID_FILE")".
#
#   MOCK_BIN       the binary (default: moments-mock-server on PATH)
#   MOCK_PORT      the port (default 8080)
#   MOCK_PID_FILE  where its process id goes (default moments-mock.pid)
#   MOCK_LOG       its JSON request log, one line per request (default moments-mock.log)
# Further arguments go to the binary (e.g. --fixtures ci-fixtures.json).
set -eu
bin="${MOCK_BIN:-moments-mock-server}"
port="${MOCK_PORT:-8080}"
pid_file="${MOCK_PID_FILE:-moments-mock.pid}"
log="${MOCK_LOG:-moments-mock.log}"
"$bin" --port "$port" --log info --log-format json "$@" >"$log.stdout" 2>"$log" &
echo $! >"$pid_file"
tries=0
until curl -fsS "http://127.0.0.1:$port/_mock/health" >/dev/null 2>&1; do
  if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "moments-mock-server exited:" >&2
    cat "$log" >&2
    exit 1
  fi
  tries=$((tries + 1))
  if [ "$tries" -ge 300 ]; then
    echo "moments-mock-server did not answer /_mock/health within 30 s" >&2
    exit 1
  fi
  sleep 0.1
done
echo "http://127.0.0.1:$port"
