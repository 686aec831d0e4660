//! `cargo xtask bench`: the load benchmark of the mock's hot paths beside the axum ceiling, Prism and
//! json-server, what a fresh mock per test costs (`moments-bench startup`), then the client's overhead
//! against bare reqwest (interleaved A/B). `cargo xtask bench stores`: the trigger path on each store
//! (memory, SQLite, PostgreSQL with one and two instances) side by side (`moments-bench stores`). See
//! `docs/performance.md`.

use crate::util::{Result, cargo, header, run, target_dir};

/// Installs wrk when it is missing (Debian, as root; elsewhere it says what to install), then builds
/// the release mock and bench binaries.
fn build_release() -> Result {
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
    ]))
}

/// Builds the release mock and bench binaries, runs `moments-bench load` with `args` (for example
/// `--seconds 10 --no-peers`) and `moments-bench startup`, then the interleaved client-overhead
/// benchmark. `stores` as the first argument runs [`stores`] with the rest instead.
pub fn run_all(args: &[String]) -> Result {
    if args.first().is_some_and(|a| a == "stores") {
        return stores(&args[1..]);
    }
    build_release()?;
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

/// `cargo xtask bench stores [ARGS]`: builds the release mock and bench binaries, starts a throwaway
/// PostgreSQL on this machine (or uses the server `MOMENTS_TEST_POSTGRES` names) and runs
/// `moments-bench stores` with `args` (for example `--seconds 10 --connections 32`) against it; the
/// server stops when the run ends.
pub fn stores(args: &[String]) -> Result {
    crate::postgres::ensure_installed()?;
    build_release()?;
    let cluster = crate::postgres::TestCluster::start()?;
    header("stores: the trigger path on memory, SQLite and PostgreSQL (one and two instances)");
    run(crate::util::cmd(target_dir().join("release/moments-bench"))
        .arg("stores")
        .args(args)
        .env(crate::postgres::ENV, cluster.url()))
}
