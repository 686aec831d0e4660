//! `moments-bench`: load benchmarks of the mock server's hot paths, side by side in one run with the
//! ceiling of this machine (a fixed-response axum server) and the tools a user would otherwise pick
//! (Prism serving our OpenAPI document, json-server). See `docs/performance.md`.
//!
//! ```text
//! cargo build --release -p moments-mock-server -p moments-bench
//! target/release/moments-bench load [--seconds 10] [--connections 32,128] [--no-peers]
//! target/release/moments-bench console [--rewards 100000] [--samples 50]
//! target/release/moments-bench startup [--runs 200] [--mocks 50]
//! MOMENTS_TEST_POSTGRES=postgres://… target/release/moments-bench stores [--seconds 10] [--connections 32]
//! ```

mod ceiling;
mod console;
mod stateful;

/// The mock's name in the report.
const MOCK: &str = "moments mock";
/// The fixed-response reference's name in the report.
const CEILING: &str = "axum ceiling";
/// The minimal stateful reference's name in the report.
const MINIMAL: &str = "axum minimal stateful";
mod pgmon;
mod procs;
mod scenarios;
mod setup;
mod startup;
mod stores;
mod wrk;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use procs::Server;
use scenarios::Scenario;
use wrk::{Load, LoadResult};

struct Options {
    seconds: u32,
    connections: Vec<u32>,
    peers: bool,
    /// The mock's paths to load, in report order.
    paths: Vec<Scenario>,
    mock_bin: PathBuf,
    out: PathBuf,
}

const USAGE: &str = "usage: moments-bench load [--seconds N] [--connections 32,128] [--no-peers] [--paths trigger,replay,read,landing,redemption] [--mock-bin PATH] [--out FILE]\n       moments-bench console [--rewards N] [--samples N] [--mock-bin PATH] [--out FILE]\n       moments-bench startup [--runs N] [--mocks N] [--spawns N] [--mock-bin PATH] [--samples FILE]... [--out FILE]\n       moments-bench stores [--seconds N] [--connections N] [--waits-seconds N] [--layouts mem,sqlite,pg1,pg2,pg2t] [--mock-bin PATH] [--out FILE]   (PostgreSQL: MOMENTS_TEST_POSTGRES)\n       moments-bench ceiling --port N --body-bytes N\n       moments-bench stateful --port N --body-bytes N";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}

/// The flags each mode takes with a value, and those it takes alone; `None` for an unknown mode.
fn known_flags(mode: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    match mode {
        "load" => Some((
            &[
                "--seconds",
                "--connections",
                "--paths",
                "--mock-bin",
                "--out",
            ],
            &["--no-peers"],
        )),
        "console" => Some((&["--rewards", "--samples", "--mock-bin", "--out"], &[])),
        "startup" => Some((
            &[
                "--runs",
                "--mocks",
                "--spawns",
                "--mock-bin",
                "--samples",
                "--out",
            ],
            &[],
        )),
        "stores" => Some((
            &[
                "--seconds",
                "--connections",
                "--waits-seconds",
                "--layouts",
                "--mock-bin",
                "--out",
            ],
            &[],
        )),
        // The child process of `startup`'s memory counts.
        "startup-memory" => Some((&["--via", "--mocks"], &[])),
        "ceiling" | "stateful" => Some((&["--port", "--body-bytes"], &[])),
        _ => None,
    }
}

/// What the arguments after the mode ask for, before anything runs.
#[derive(Debug, PartialEq)]
enum ArgCheck {
    Run,
    Help,
    Bad(String),
}

/// Refuses unknown arguments and flags without their value, so a typo never starts a long load
/// with defaults; `-h` / `--help` anywhere asks for the usage.
fn check_args(rest: &[String], valued: &[&str], switches: &[&str]) -> ArgCheck {
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i].as_str();
        if a == "-h" || a == "--help" {
            return ArgCheck::Help;
        }
        if valued.contains(&a) {
            match rest.get(i + 1) {
                Some(v) if !v.starts_with("--") => i += 2,
                _ => return ArgCheck::Bad(format!("`{a}` needs a value")),
            }
        } else if switches.contains(&a) {
            i += 1;
        } else {
            return ArgCheck::Bad(format!("unknown argument `{a}`"));
        }
    }
    ArgCheck::Run
}

/// The mode asked for, once its arguments are known to be good; otherwise prints the usage (for
/// `--help`) or the problem and the usage, and exits.
fn checked_mode(args: &[String]) -> &str {
    let Some(mode) = args.first().map(String::as_str) else {
        usage()
    };
    let check = match known_flags(mode) {
        _ if matches!(mode, "-h" | "--help" | "help") => ArgCheck::Help,
        Some((valued, switches)) => check_args(&args[1..], valued, switches),
        None => ArgCheck::Bad(format!("unknown mode `{mode}`")),
    };
    match check {
        ArgCheck::Run => mode,
        ArgCheck::Help => {
            println!("{USAGE}");
            std::process::exit(0)
        }
        ArgCheck::Bad(e) => {
            eprintln!("moments-bench: {e}");
            usage()
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match checked_mode(&args) {
        "console" => {
            let target = target_dir();
            let number = |name: &str, default: usize| {
                flag(&args, name).map_or(default, |v| v.parse().unwrap_or_else(|_| usage()))
            };
            let opts = console::Options {
                rewards: number("--rewards", 100_000),
                samples: number("--samples", 50),
                mock_bin: flag(&args, "--mock-bin")
                    .map_or_else(|| target.join("release/moments-mock-server"), PathBuf::from),
                out: flag(&args, "--out")
                    .map_or_else(|| target.join("bench/console.md"), PathBuf::from),
            };
            if let Err(e) = console::run(&opts) {
                eprintln!("moments-bench: {e}");
                std::process::exit(1);
            }
        }
        mode @ ("ceiling" | "stateful") => {
            let port = flag(&args, "--port").map_or(0, |v| v.parse().unwrap_or_else(|_| usage()));
            let bytes =
                flag(&args, "--body-bytes").map_or(512, |v| v.parse().unwrap_or_else(|_| usage()));
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let served = if mode == "ceiling" {
                rt.block_on(ceiling::serve(port, bytes))
            } else {
                rt.block_on(stateful::serve(port, bytes))
            };
            if let Err(e) = served {
                eprintln!("{mode} server: {e}");
                std::process::exit(1);
            }
        }
        "startup" => {
            let target = target_dir();
            let number = |name: &str, default: usize| {
                flag(&args, name).map_or(default, |v| v.parse().unwrap_or_else(|_| usage()))
            };
            let opts = startup::Options {
                runs: number("--runs", 200),
                mocks: number("--mocks", 50),
                spawns: number("--spawns", 20),
                mock_bin: flag(&args, "--mock-bin")
                    .map_or_else(|| target.join("release/moments-mock-server"), PathBuf::from),
                samples: args
                    .windows(2)
                    .filter(|w| w[0] == "--samples")
                    .map(|w| PathBuf::from(&w[1]))
                    .collect(),
                out: flag(&args, "--out")
                    .map_or_else(|| target.join("bench/startup.md"), PathBuf::from),
            };
            if let Err(e) = startup::run(&opts) {
                eprintln!("moments-bench: {e}");
                std::process::exit(1);
            }
        }
        "stores" => {
            let target = target_dir();
            let number = |name: &str, default: u32| {
                flag(&args, name).map_or(default, |v| v.parse().unwrap_or_else(|_| usage()))
            };
            let Ok(postgres) = std::env::var(stores::POSTGRES_ENV) else {
                eprintln!(
                    "moments-bench: set {} to a PostgreSQL server (postgres://USER@HOST:PORT/DB), or run \
                     `cargo xtask bench stores`, which starts a throwaway one",
                    stores::POSTGRES_ENV
                );
                std::process::exit(2)
            };
            let layouts = match flag(&args, "--layouts").map(stores::parse_layouts) {
                None => stores::LAYOUTS.to_vec(),
                Some(Ok(l)) => l,
                Some(Err(e)) => {
                    eprintln!("moments-bench: {e}");
                    std::process::exit(2)
                }
            };
            let opts = stores::Options {
                layouts,
                seconds: number("--seconds", 10),
                connections: number("--connections", 32),
                waits_seconds: number("--waits-seconds", 10),
                mock_bin: flag(&args, "--mock-bin")
                    .map_or_else(|| target.join("release/moments-mock-server"), PathBuf::from),
                postgres,
                out: flag(&args, "--out")
                    .map_or_else(|| target.join("bench/stores.md"), PathBuf::from),
            };
            if let Err(e) = stores::run(&opts) {
                eprintln!("moments-bench: {e}");
                std::process::exit(1);
            }
        }
        "startup-memory" => {
            let via = flag(&args, "--via").unwrap_or("rust");
            let mocks =
                flag(&args, "--mocks").map_or(50, |v| v.parse().unwrap_or_else(|_| usage()));
            if let Err(e) = startup::memory_child(via, mocks) {
                eprintln!("moments-bench: {e}");
                std::process::exit(1);
            }
        }
        _load => {
            let target = target_dir();
            let opts = Options {
                seconds: flag(&args, "--seconds")
                    .map_or(10, |v| v.parse().unwrap_or_else(|_| usage())),
                connections: flag(&args, "--connections").map_or_else(
                    || vec![32, 128],
                    |v| {
                        v.split(',')
                            .map(|c| c.trim().parse().unwrap_or_else(|_| usage()))
                            .collect()
                    },
                ),
                peers: !args.iter().any(|a| a == "--no-peers"),
                paths: match flag(&args, "--paths") {
                    None => Scenario::ALL.to_vec(),
                    Some(list) => Scenario::parse_list(list).unwrap_or_else(|e| {
                        eprintln!("moments-bench: {e}");
                        usage()
                    }),
                },
                mock_bin: flag(&args, "--mock-bin")
                    .map_or_else(|| target.join("release/moments-mock-server"), PathBuf::from),
                out: flag(&args, "--out")
                    .map_or_else(|| target.join("bench/report.md"), PathBuf::from),
            };
            if let Err(e) = load(&opts) {
                eprintln!("moments-bench: {e}");
                std::process::exit(1);
            }
        }
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// One line of the report.
struct Row {
    server: String,
    scenario: String,
    connections: u32,
    result: LoadResult,
    /// The server's CPU time (all threads, user + system) per answered request, in µs.
    cpu_us: Option<f64>,
}

/// Runs `load` against `server` and measures the server's CPU time per request around it.
fn measured(load: Load<'_>, server: &Server) -> Result<(LoadResult, Option<f64>), String> {
    let before = server.cpu_ticks();
    let result = load.run()?;
    let after = server.cpu_ticks();
    let cpu_us = match (before, after) {
        (Some(b), Some(a)) if result.requests > 0 => {
            Some((a - b) as f64 * 10_000.0 / result.requests as f64)
        }
        _ => None,
    };
    Ok((result, cpu_us))
}

fn load(opts: &Options) -> Result<(), String> {
    // Scripts, the saved OpenAPI document and the npm peers live in `target/bench` whatever `--out` says.
    let work = target_dir().join("bench");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let run = format!("{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    if !opts.mock_bin.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p moments-mock-server` first",
            opts.mock_bin.display()
        ));
    }
    let mut cmd = Command::new(&opts.mock_bin);
    cmd.args(["--port", "0"]);
    let mock = Server::start(MOCK, cmd, None)?;
    let mut fixture = rt.block_on(setup::prepare(&mock.url, &run, &work))?;
    let mut campaigns = vec![setup::BenchCampaign {
        secret_key: fixture.secret_key.clone(),
        id: fixture.campaign_id.clone(),
    }];
    let trigger_bytes = rt.block_on(setup::trigger_response_bytes(&mock.url, &fixture, &run))?;
    let (_, rss_before) = mock.memory_kib().unwrap_or_default();
    let rewards_before = rt.block_on(setup::rewards_issued(&mock.url, &campaigns))?;

    let mut rows = Vec::new();
    let mut mock_peak_kib = 0;
    let fixture_campaign = campaigns[0].clone();
    // Memory per stored reward is measured over the loads before the redemptions (which add to the
    // rewards they redeem, and whose pool runs add rewards of their own).
    let mut memory_after: Option<(u64, u64)> = None;
    for scenario in Scenario::ALL.into_iter().filter(|s| opts.paths.contains(s)) {
        if scenario == Scenario::Redemption && memory_after.is_none() {
            let (_, rss) = mock.memory_kib().unwrap_or_default();
            let rewards = rt.block_on(setup::rewards_issued(&mock.url, &campaigns))?;
            memory_after = Some((rss, rewards));
        }
        for &c in &opts.connections {
            if scenario == Scenario::Redemption {
                // The rewards this load redeems: issued by an unmeasured trigger load of the same
                // length on a campaign of its own, their tokens written by wrk to the pool files.
                let pool_campaign = rt.block_on(setup::new_campaign(&mock.url, &run))?;
                fixture.secret_key = pool_campaign.secret_key;
                fixture.campaign_id = pool_campaign.id;
                let pool = fill_pool(&work, &fixture, &format!("{run}-pool{c}"), opts, &mock)?;
                eprintln!("redemption pool for {c} connections: {pool} rewards");
            }
            // A load issuing rewards runs in an app, account and campaign of its own: one campaign's
            // monthly budget covers 500,000 rewards, which a 10 s load at 128 connections can spend.
            let campaign = if scenario == Scenario::Trigger {
                let fresh = rt.block_on(setup::new_campaign(&mock.url, &run))?;
                campaigns.push(fresh.clone());
                fresh
            } else {
                fixture_campaign.clone()
            };
            fixture.secret_key = campaign.secret_key;
            fixture.campaign_id = campaign.id;
            // Fresh keys, customers and devices for each load: a second load reusing the first's
            // keys would measure replays (or conflicts, on another campaign), not triggers.
            let tag = match scenario {
                Scenario::Trigger => format!("{run}-c{c}"),
                _ => run.clone(),
            };
            let script = write_script(&work, scenario.name(), &scenario.script(&fixture, &tag))?;
            let (result, cpu_us) = measured(
                Load {
                    url: &mock.url,
                    connections: c,
                    threads: 2,
                    seconds: opts.seconds,
                    script: Some(&script),
                },
                &mock,
            )?;
            mock_peak_kib = mock_peak_kib.max(mock.memory_kib().map_or(0, |m| m.0));
            rows.push(Row {
                server: MOCK.into(),
                scenario: scenario.name().into(),
                connections: c,
                result,
                cpu_us,
            });
        }
    }
    let (rss_after, rewards_after) = match memory_after {
        Some(m) => m,
        None => (
            mock.memory_kib().unwrap_or_default().1,
            rt.block_on(setup::rewards_issued(&mock.url, &campaigns))?,
        ),
    };
    drop(mock);

    // (a) The ceiling: a fixed response of the same size as the mock's trigger answer; and the
    // minimal stateful trigger (what keeping any trigger state costs here).
    let trigger_script = write_script(&work, "ceiling", &Scenario::Trigger.script(&fixture, &run))?;
    for (server, mode) in [(CEILING, "ceiling"), (MINIMAL, "stateful")] {
        let mut cmd = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
        cmd.args([
            mode,
            "--port",
            "0",
            "--body-bytes",
            &trigger_bytes.to_string(),
        ]);
        let reference = Server::start(server, cmd, None)?;
        for &c in &opts.connections {
            let (result, cpu_us) = measured(
                Load {
                    url: &reference.url,
                    connections: c,
                    threads: 2,
                    seconds: opts.seconds,
                    script: Some(&trigger_script),
                },
                &reference,
            )?;
            rows.push(Row {
                server: server.into(),
                scenario: Scenario::Trigger.name().into(),
                connections: c,
                result,
                cpu_us,
            });
        }
    }

    // (b) Prism on our own OpenAPI document, silent and default logging; (c) json-server.
    let mut notes = Vec::new();
    if opts.peers {
        match peers::run(&work, &fixture, &run, opts) {
            Ok(mut peer_rows) => rows.append(&mut peer_rows),
            Err(e) => notes.push(format!("peers not measured: {e}")),
        }
    }

    let rewards = rewards_after.saturating_sub(rewards_before);
    let report = render(
        &rows,
        opts,
        mock_peak_kib,
        rss_before,
        rss_after,
        rewards,
        trigger_bytes,
        &notes,
    );
    print!("{report}");
    std::fs::write(&opts.out, &report).map_err(|e| e.to_string())?;
    eprintln!("report written to {}", opts.out.display());
    Ok(())
}

/// Runs the pool's trigger load (`opts.seconds`, 128 connections) on `fixture`'s campaign; returns
/// how many reward tokens wrk wrote to the pool files.
fn fill_pool(
    work: &Path,
    fixture: &scenarios::Fixture,
    tag: &str,
    opts: &Options,
    mock: &Server,
) -> Result<usize, String> {
    for thread in 1..=2 {
        let _ = std::fs::remove_file(format!("{}{thread}.txt", fixture.pool));
    }
    let script = write_script(
        work,
        "redemption pool",
        &Scenario::pool_script(fixture, tag),
    )?;
    let result = Load {
        url: &mock.url,
        connections: 128,
        threads: 2,
        seconds: opts.seconds,
        script: Some(&script),
    }
    .run()?;
    if result.non_2xx > 0 {
        return Err(format!(
            "the redemption pool's triggers got {} non-2xx answers",
            result.non_2xx
        ));
    }
    let mut tokens = 0;
    for thread in 1..=2 {
        let path = format!("{}{thread}.txt", fixture.pool);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let lines = text.lines().count();
        if lines == 0 {
            return Err(format!("{path}: wrk wrote no reward token"));
        }
        tokens += lines;
    }
    Ok(tokens)
}

fn write_script(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let file = dir.join(format!("{}.lua", name.replace([' ', '(', ')'], "_")));
    std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(file)
}

mod peers {
    //! Prism and json-server, installed from npm into the bench directory on first use.

    use super::*;

    /// Starts a peer on a free port, and up to twice more on other ports if it does not come up (an npm
    /// server that lost a race for its port, or exited at start).
    fn start_peer(name: &str, make: impl Fn(u16) -> Command) -> Result<Server, String> {
        let mut last = String::new();
        for _ in 0..3 {
            let port = procs::free_port();
            match Server::start(name, make(port), Some(format!("http://127.0.0.1:{port}"))) {
                Ok(server) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub fn run(
        work: &Path,
        fixture: &scenarios::Fixture,
        run: &str,
        opts: &Options,
    ) -> Result<Vec<Row>, String> {
        let node = work.join("node");
        let bin = node.join("node_modules/.bin");
        if !bin.join("prism").exists() || !bin.join("json-server").exists() {
            let status = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&node)
                .args(["@stoplight/prism-cli@5", "json-server@0.17"])
                .status()
                .map_err(|e| format!("npm: {e}"))?;
            if !status.success() {
                return Err("npm install of @stoplight/prism-cli and json-server failed".into());
            }
        }
        let spec = work.join("openapi.json");
        let db = work.join("db.json");
        std::fs::write(&db, r#"{"triggers": []}"#).map_err(|e| e.to_string())?;
        let c = opts.connections.first().copied().unwrap_or(32);
        let mut rows = Vec::new();

        let trigger = write_script(
            work,
            "peer_trigger",
            &Scenario::Trigger.script(fixture, run),
        )?;
        for (label, verbosity) in [
            ("prism (-v silent)", Some("silent")),
            ("prism (default logging)", None),
        ] {
            let server = start_peer(label, |port| {
                let mut cmd = Command::new(bin.join("prism"));
                cmd.args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()]);
                if let Some(v) = verbosity {
                    cmd.args(["-v", v]);
                }
                cmd.arg(&spec);
                cmd
            })?;
            let result = Load {
                url: &server.url,
                connections: c,
                threads: 2,
                seconds: opts.seconds,
                script: Some(&trigger),
            }
            .run()?;
            rows.push(Row {
                server: label.into(),
                scenario: Scenario::Trigger.name().into(),
                connections: c,
                result,
                cpu_us: None,
            });
        }

        let server = start_peer("json-server", |port| {
            let mut cmd = Command::new(bin.join("json-server"));
            cmd.args([
                "--port",
                &port.to_string(),
                "--host",
                "127.0.0.1",
                "--quiet",
            ])
            .arg(&db);
            cmd
        })?;
        let script = write_script(work, "json_server", &scenarios::json_server_script())?;
        let result = Load {
            url: &server.url,
            connections: c,
            threads: 2,
            seconds: opts.seconds,
            script: Some(&script),
        }
        .run()?;
        rows.push(Row {
            server: "json-server".into(),
            scenario: Scenario::Trigger.name().into(),
            connections: c,
            result,
            cpu_us: None,
        });
        Ok(rows)
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    rows: &[Row],
    opts: &Options,
    peak_kib: u64,
    rss_before: u64,
    rss_after: u64,
    rewards: u64,
    trigger_bytes: usize,
    notes: &[String],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# moments-bench — {} s per run, wrk with 2 threads on the same machine\n",
        opts.seconds
    );
    let _ = writeln!(
        out,
        "| server | path | conns | req/s | p50 ms | p99 ms | non-2xx | socket errors | server CPU µs/req |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            r.server,
            r.scenario,
            r.connections,
            r.result.requests_per_sec,
            r.result.p50_ms,
            r.result.p99_ms,
            r.result.non_2xx,
            r.result.socket_errors,
            r.cpu_us.map_or("–".to_string(), |us| format!("{us:.1}"))
        );
    }
    let trigger = |server: &str, c: u32| {
        rows.iter().find(|r| {
            r.server == server && r.scenario == Scenario::Trigger.name() && r.connections == c
        })
    };
    let rate = |server: &str, c: u32| trigger(server, c).map(|r| r.result.requests_per_sec);
    // The mock's targets (docs/performance.md), judged by this run alone (same-run ratios).
    let mut targets: Vec<(String, String, bool)> = Vec::new();
    let _ = writeln!(out, "\n## Ratios (trigger with a fresh key, same run)\n");
    if !opts.paths.contains(&Scenario::Trigger) {
        let _ = writeln!(
            out,
            "- not measured: `--paths` left out the trigger path, which the ratios and targets compare"
        );
    }
    for &c in &opts.connections {
        if let (Some(mock), Some(ceiling)) = (rate(MOCK, c), rate(CEILING, c)) {
            let pct = 100.0 * mock / ceiling;
            let _ = writeln!(out, "- {c} connections: mock / axum ceiling = {pct:.1} %");
            let cpu = |server: &str| trigger(server, c).and_then(|r| r.cpu_us);
            if let (Some(m), Some(x)) = (cpu(MOCK), cpu(CEILING)) {
                // CPU per request moves much less with the machine's other load than req/s does.
                let _ = writeln!(
                    out,
                    "- {c} connections: server CPU per trigger, mock / axum ceiling = {m:.1} / {x:.1} µs = {:.2}×",
                    m / x
                );
            }
            if let Some(minimal) = rate(MINIMAL, c) {
                let _ = writeln!(
                    out,
                    "- {c} connections: axum minimal stateful / axum ceiling = {:.1} %; mock / axum minimal stateful = {:.1} %",
                    100.0 * minimal / ceiling,
                    100.0 * mock / minimal
                );
            }
            if c == 32 {
                targets.push((
                    "trigger ≥ 65 % of the axum ceiling, 32 connections".into(),
                    format!("{pct:.1} %"),
                    pct >= 65.0,
                ));
            }
        }
    }
    if let Some(r) = trigger(MOCK, 32) {
        let p99 = r.result.p99_ms;
        targets.push((
            "trigger p99 ≤ 5 ms, 32 connections".into(),
            format!("{p99:.2} ms"),
            p99 <= 5.0,
        ));
    }
    let c = opts.connections.first().copied().unwrap_or(32);
    for peer in [
        "prism (-v silent)",
        "prism (default logging)",
        "json-server",
    ] {
        if let (Some(mock), Some(p)) = (rate(MOCK, c), rate(peer, c)) {
            let times = mock / p;
            let _ = writeln!(out, "- {c} connections: mock / {peer} = {times:.1}×");
            let want = match peer {
                "prism (-v silent)" => Some(15.0),
                "prism (default logging)" => Some(30.0),
                _ => None,
            };
            if let Some(want) = want {
                targets.push((
                    format!("mock ≥ {want}× {peer}"),
                    format!("{times:.1}×"),
                    times >= want,
                ));
            }
        }
    }
    let _ = writeln!(out, "\n## Memory of the mock\n");
    let _ = writeln!(
        out,
        "- peak RSS during the run: {:.1} MiB",
        peak_kib as f64 / 1024.0
    );
    let _ = writeln!(
        out,
        "- RSS before / after: {:.1} / {:.1} MiB; rewards issued during the run: {rewards}",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    if rewards > 0 {
        let per = (rss_after.saturating_sub(rss_before) * 1024) as f64 / rewards as f64;
        let _ = writeln!(
            out,
            "- RSS growth per stored reward (with its idempotency record and journal share): {per:.0} bytes"
        );
        targets.push((
            "≤ 1 KiB of state per stored reward".into(),
            format!("{per:.0} bytes"),
            per <= 1024.0,
        ));
    }
    let _ = writeln!(
        out,
        "- trigger response body: {trigger_bytes} bytes (the ceiling answers the same size)"
    );
    // A load answered with errors measured something other than its path: its ratios are void.
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| [MOCK, CEILING, MINIMAL].contains(&r.server.as_str()))
        .filter(|r| r.result.non_2xx > 0 || r.result.socket_errors > 0)
        .map(|r| {
            format!(
                "{} / {} / {} connections",
                r.server, r.scenario, r.connections
            )
        })
        .collect();
    let _ = writeln!(out, "\n## Targets, this run\n");
    if targets.is_empty() {
        let _ = writeln!(out, "No target measured in this run.");
    } else {
        let _ = writeln!(out, "| target | measured | |\n|---|---:|---|");
    }
    for (what, measured, met) in targets {
        let verdict = match (met, failed.is_empty() || what.contains("per stored reward")) {
            (_, false) => "not valid: a load had errors",
            (true, true) => "met",
            (false, true) => "missed",
        };
        let _ = writeln!(out, "| {what} | {measured} | {verdict} |");
    }
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            "\nNot valid: these loads got non-2xx answers or socket errors, so their req/s is not the \
             path's: {}",
            failed.join("; ")
        );
    }
    for note in notes {
        let _ = writeln!(out, "\nNote: {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mode: &str, args: &[&str]) -> ArgCheck {
        let rest: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (valued, switches) = known_flags(mode).expect("a known mode");
        check_args(&rest, valued, switches)
    }

    #[test]
    fn known_flags_run_and_help_asks_for_the_usage() {
        assert_eq!(
            check(
                "load",
                &["--seconds", "3", "--no-peers", "--paths", "trigger"]
            ),
            ArgCheck::Run
        );
        assert_eq!(check("load", &[]), ArgCheck::Run);
        assert_eq!(check("load", &["--no-peers", "--help"]), ArgCheck::Help);
        assert_eq!(check("ceiling", &["-h"]), ArgCheck::Help);
        assert_eq!(
            check(
                "stores",
                &["--seconds", "3", "--waits-seconds", "2", "--layouts", "pg1"]
            ),
            ArgCheck::Run
        );
    }

    #[test]
    fn typos_and_missing_values_are_refused_before_anything_runs() {
        for (mode, args, refusal) in [
            (
                "load",
                &["--second", "3"][..],
                "unknown argument `--second`",
            ),
            ("load", &["--seconds"], "`--seconds` needs a value"),
            ("load", &["--out", "--no-peers"], "`--out` needs a value"),
            ("stateful", &["--no-peers"], "unknown argument `--no-peers`"),
        ] {
            assert_eq!(
                check(mode, args),
                ArgCheck::Bad(refusal.into()),
                "{mode} {args:?}"
            );
        }
    }
}
