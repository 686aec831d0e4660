# Xcode scheme → Test → Pre-actions ("Provide build settings from" the test target), with the post-action
# `kill "$(cat "$TMPDIR/moments-mock.pid")"`. The binary: `cargo install moments-mock-server`, or build it
# from this repository (`cargo build --release -p moments-mock-server`) and set MOCK_BIN.
export MOCK_BIN="${MOCK_BIN:-$HOME/.cargo/bin/moments-mock-server}"
export MOCK_PORT=8080
export MOCK_PID_FILE="$TMPDIR/moments-mock.pid"
export MOCK_LOG="$TMPDIR/moments-mock.log"
sh "$SRCROOT/docs/ci/start-mock.sh"
