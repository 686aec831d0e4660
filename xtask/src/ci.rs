//! `cargo xtask ci`: every check, in order, stopping at the first failure, with a summary.

use std::time::Instant;

use crate::util::{self, Result, cargo};
use crate::{api, kotlin, postgres, release, swift, swift_run};

/// A step: its name, what it runs, and what it leaves on disk that no later step reads.
type Step = (&'static str, fn() -> Result, &'static [Leftover]);

/// Build output a passed step leaves that no later step reads, removed before the next step: a clean
/// run builds the workspace several ways (tests, fuzz targets on nightly, release libraries for the
/// Kotlin and Swift SDKs), and keeping all of them at once outgrew a CI machine's disk.
#[derive(Clone, Copy, Debug)]
enum Leftover {
    /// The test executables in `target/debug/deps` (relinked if tests run again).
    TestExecutables,
    /// A directory under the target directory.
    Target(&'static str),
    /// A directory under the repository.
    Repo(&'static str),
}

const STEPS: &[Step] = &[
    ("system packages", system_packages, &[]),
    (
        "cargo fmt --check",
        || util::run(cargo().args(["fmt", "--all", "--", "--check"])),
        &[],
    ),
    (
        "cargo clippy -D warnings",
        || {
            util::run(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        },
        &[],
    ),
    (
        "cargo test --workspace",
        cargo_test,
        &[Leftover::TestExecutables],
    ),
    (
        "versions agree; crates package",
        release::ci_check,
        &[Leftover::Target("package")],
    ),
    (
        "schemathesis (bounded)",
        || util::run(util::cmd("bash").arg(util::root().join("scripts/schemathesis.sh"))),
        &[],
    ),
    (
        "fuzz targets (5 s each)",
        fuzz_smoke,
        &[Leftover::Repo("fuzz/target")],
    ),
    // The committed generated bindings, then the public API dumps (api/) and the Kotlin/Swift parity table.
    (
        "bindings, public API, parity",
        api::check,
        &[Leftover::Target("api-rustdoc")],
    ),
    ("Kotlin SDK tests", kotlin::test, &[]),
    ("Swift SDK tests", swift::test, &[]),
    (
        "Swift: a package outside the repository",
        swift_run::outside_package_check,
        &[],
    ),
];

impl Leftover {
    /// Removes it; the bytes freed.
    fn remove(self) -> std::io::Result<u64> {
        match self {
            Leftover::TestExecutables => {
                let deps = util::target_dir().join("debug/deps");
                let Ok(entries) = std::fs::read_dir(&deps) else {
                    return Ok(0);
                };
                let mut freed = 0;
                for entry in entries {
                    let entry = entry?;
                    let meta = entry.metadata()?;
                    if is_executable(&entry.path(), &meta) {
                        std::fs::remove_file(entry.path())?;
                        // A binary's copy hard-linked in `target/debug` keeps its bytes.
                        if links(&meta) == 1 {
                            freed += meta.len();
                        }
                    }
                }
                Ok(freed)
            }
            Leftover::Target(dir) => remove_dir(&util::target_dir().join(dir)),
            Leftover::Repo(dir) => remove_dir(&util::root().join(dir)),
        }
    }

    fn describe(self) -> String {
        match self {
            Leftover::TestExecutables => "the test executables".into(),
            Leftover::Target(dir) => format!("{}", util::target_dir().join(dir).display()),
            Leftover::Repo(dir) => dir.into(),
        }
    }
}

/// A test executable cargo wrote: a file with no extension whose mode lets its owner run it.
fn is_executable(path: &std::path::Path, meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    let runnable = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o100 != 0
    };
    #[cfg(not(unix))]
    let runnable = path.extension().is_some_and(|e| e == "exe");
    meta.is_file() && runnable && (cfg!(not(unix)) || path.extension().is_none())
}

#[cfg(unix)]
fn links(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(meta)
}

#[cfg(not(unix))]
fn links(_: &std::fs::Metadata) -> u64 {
    1
}

/// Removes a directory tree; the bytes its files held.
fn remove_dir(dir: &std::path::Path) -> std::io::Result<u64> {
    if !dir.exists() {
        return Ok(0);
    }
    let size = dir_size(dir)?;
    std::fs::remove_dir_all(dir)?;
    Ok(size)
}

fn dir_size(dir: &std::path::Path) -> std::io::Result<u64> {
    let mut size = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        size += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(size)
}

/// Chromium and chromedriver for the landing-page browser test (Debian, as root); elsewhere they must
/// already be installed, or the browser test fails under CI with a message saying so.
fn system_packages() -> Result {
    let missing: Vec<&str> = [
        ("/usr/bin/chromium", "chromium"),
        ("/usr/bin/chromedriver", "chromium-driver"),
    ]
    .iter()
    .filter(|(path, _)| !std::path::Path::new(path).exists())
    .map(|(_, package)| *package)
    .collect();
    if missing.is_empty() || cfg!(target_os = "macos") {
        return Ok(());
    }
    util::apt_install(&missing)
}

/// `cargo test --workspace` against a throwaway PostgreSQL (installed when missing, see [`postgres`]), its URL in
/// `MOMENTS_TEST_POSTGRES`, then the end-to-end suite's mock tests again with the harness's mocks on SQLite and on
/// that PostgreSQL ([`store_e2e`]); the server stops when the step ends, whatever its result. `CI` set: a test that
/// cannot run here (the browser test without Chromium) fails instead of skipping.
fn cargo_test() -> Result {
    postgres::ensure_installed()?;
    let cluster = postgres::TestCluster::start()?;
    util::run(
        cargo()
            .args(["test", "--workspace"])
            .env("CI", "true")
            .env(postgres::ENV, cluster.url())
            // The in-memory store, whatever the calling shell says.
            .env_remove(E2E_STORE_ENV),
    )?;
    // Both stores run, whatever the first's result: the summary says which failed.
    let failed: Vec<String> = E2E_STORES
        .iter()
        .filter_map(|(store, skipped)| store_e2e(store, skipped, &cluster.url()).err())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

/// The harness's choice of store for the mocks it starts (`tests/src/mock.rs`): `memory`, `sqlite` or `postgres`.
const E2E_STORE_ENV: &str = "MOMENTS_E2E_STORE";

/// The test binaries of `moments-e2e` run against each persistent store: those whose mocks start through the
/// harness. (`security_limits`'s two tests of the mock binary as a process, `--workers` and SIGTERM, run it in
/// memory whatever the store: against a store they only run again.)
const E2E_STORE_TESTS: &[&str] = &[
    "mock_flow",
    "mock_money",
    "mock_rules",
    "mock_lifecycle",
    "mock_control",
    "mock_openapi",
    "trust_boundary",
    "client_flows",
    "security_auth_matrix",
    "security_fraud",
    "security_limits",
    "security_no_secrets",
    "security_reward_links",
    "security_token_scope",
    "security_webhooks",
    "console_app",
    "console_campaigns",
    "console_session",
];

/// Each persistent store, with the tests skipped against it and why: behaviour only the in-memory store has, not
/// a fault of the store.
const E2E_STORES: &[(&str, &[(&str, &str)])] = &[("sqlite", &[]), ("postgres", &[])];

/// `cargo test --workspace --test …` of [`E2E_STORE_TESTS`] (all of `moments-e2e`) with `MOMENTS_E2E_STORE=store`:
/// each mock of the harness on a fresh SQLite file or a fresh database of `postgres_url`'s server; `skipped` left
/// out by name. `--workspace` rather than `-p moments-e2e`: the features of the dependencies are then those of the
/// workspace run before, so the test binaries it built are run again instead of the crates being built a second time
/// with `moments-e2e`'s features alone (tokio, serde, hyper, … differ).
fn store_e2e(store: &str, skipped: &[(&str, &str)], postgres_url: &str) -> Result {
    util::header(&format!(
        "the end-to-end mock tests against the {store} store ({E2E_STORE_ENV}={store})"
    ));
    for (test, why) in skipped {
        println!("skipped against {store}: {test}: {why}");
    }
    let mut c = cargo();
    // Every binary runs, whatever an earlier one's result: a store's failures show at once.
    c.args(["test", "--workspace", "--no-fail-fast"]);
    for test in E2E_STORE_TESTS {
        c.args(["--test", test]);
    }
    if !skipped.is_empty() {
        c.args(["--", "--exact"]);
        for (test, _) in skipped {
            c.args(["--skip", test]);
        }
    }
    let started = Instant::now();
    let result = util::run(
        c.env("CI", "true")
            .env(postgres::ENV, postgres_url)
            .env(E2E_STORE_ENV, store),
    );
    println!(
        "the end-to-end mock tests against the {store} store: {} in {:.1}s",
        if result.is_ok() { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    result.map_err(|e| format!("against the {store} store: {e}"))
}

/// Every cargo-fuzz target built (unoptimized: half the build time) and run for a few seconds: each replays its
/// committed corpus and fuzzes a little, so a target that stops compiling or a seed that starts failing stops CI.
/// `scripts/fuzz.sh` installs the nightly toolchain and cargo-fuzz when missing.
pub fn fuzz_smoke() -> Result {
    util::run(
        util::cmd("bash")
            .arg(util::root().join("scripts/fuzz.sh"))
            .env("FUZZ_SECONDS", "5")
            .env("FUZZ_PROFILE", "dev")
            // Set by `cargo run` for this toolchain; the script picks nightly itself.
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO")
            .env_remove("RUSTC"),
    )
}

/// `cargo +MSRV check` of the whole workspace, installing that toolchain with rustup when missing.
pub fn msrv() -> Result {
    let manifest = std::fs::read_to_string(util::root().join("Cargo.toml"))
        .map_err(|e| format!("read Cargo.toml: {e}"))?;
    let version = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_owned())
        .ok_or("no rust-version in the workspace Cargo.toml")?;
    util::run(util::cmd("rustup").args([
        "toolchain",
        "install",
        &version,
        "--profile",
        "minimal",
    ]))?;
    util::run(
        util::cmd("cargo")
            .arg(format!("+{version}"))
            .args(["check", "--workspace", "--all-targets"])
            .env("CARGO_TARGET_DIR", util::target_dir().join("msrv")),
    )
}

/// Runs the steps; prints one line per step at the end.
///
/// Builds without incremental state (`CARGO_INCREMENTAL=0`): CI builds once, and the incremental
/// caches were 2.8 GB of a clean run's 10 GB `target/debug`.
pub fn run() -> Result {
    // SAFETY: no other thread exists yet (the steps, and the commands they start, come after).
    unsafe { std::env::set_var("CARGO_INCREMENTAL", "0") };
    let mut done: Vec<(&str, std::time::Duration, bool)> = Vec::new();
    let mut failure = None;
    for (i, (name, step, leftovers)) in STEPS.iter().enumerate() {
        println!(
            "\n################ ci step {}/{}: {name} ################",
            i + 1,
            STEPS.len()
        );
        let started = Instant::now();
        let result = step();
        done.push((name, started.elapsed(), result.is_ok()));
        if let Err(err) = result {
            failure = Some(format!("step `{name}` failed: {err}"));
            break;
        }
        for leftover in *leftovers {
            match leftover.remove() {
                Ok(freed) => println!(
                    "removed {} ({:.1} GB): no later step reads it",
                    leftover.describe(),
                    freed as f64 / 1e9
                ),
                Err(e) => println!("could not remove {}: {e}", leftover.describe()),
            }
        }
    }
    println!("\n################ ci summary ################");
    for (name, took, ok) in &done {
        println!(
            "{:<6} {:<28} {:>7.1}s",
            if *ok { "ok" } else { "FAILED" },
            name,
            took.as_secs_f64()
        );
    }
    for (name, _, _) in STEPS.iter().skip(done.len()) {
        println!("{:<6} {:<28}", "skip", name);
    }
    match failure {
        Some(err) => {
            println!("steps: {} passed, 1 failed", done.len() - 1);
            Err(err)
        }
        None => {
            println!("steps: {} passed, 0 failed", STEPS.len());
            Ok(())
        }
    }
}
