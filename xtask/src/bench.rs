//! `cargo xtask bench`: the load benchmark of the mock's hot paths beside the axum ceiling, Prism and
//! json-server, what a fresh mock per test costs (`moments-bench startup`), then the client's overhead
//! against bare reqwest (interleaved A/B). See `docs/performance.md`.

use crate::util::{Result, cargo, header, run, target_dir};

/// Builds the release mock and bench binaries, runs `moments-bench load` with `args` (for example
/// `--seconds 10 --no-peers`) and `moments-bench startup`, then the interleaved client-overhead
/// benchmark. Installs wrk first when it is missing (Debian, as root; elsewhere it says what to
/// install).
pub fn run_all(args: &[String]) -> Result {
    if crate::util::which("wrk").is_none() {
        header("install wrk (the load tool)");
        crate::util::apt_install(&["wrk"])?;
    }
    header("build the release mock and the load tool");
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "moments-mock-server",
        "-p",
        "moments-bench",
    ]))?;
    header("load: the mock's hot paths beside the ceiling and the peers (wrk)");
    run(crate::util::cmd(target_dir().join("release/moments-bench"))
        .arg("load")
        .args(args))?;
    header(
        "startup: a fresh mock per test (start to first answer, memory of idle and stopped mocks)",
    );
    run(crate::util::cmd(target_dir().join("release/moments-bench")).arg("startup"))?;
    header("client overhead: moments-client vs bare reqwest, interleaved");
    run(cargo().args(["bench", "-p", "moments-bench", "--bench", "client_ab"]))
}
