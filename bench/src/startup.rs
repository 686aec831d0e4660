//! `moments-bench startup`: what a fresh mock per test costs. Side by side in one run: the time from
//! `start` to the first answered request in-process (Rust on a current-thread and a multi-thread
//! runtime, the native library the Kotlin and Swift kits load), for the binary (spawn to first
//! answer), the cost per test of 100 tests each with a fresh mock, and the resident memory of idle
//! mocks and what stopping them gives back (measured in child processes of this binary, so that
//! each count starts from a process of its own). The kits' own figures (JVM, Swift) come from their
//! bench programs as sample files (`--samples FILE`, lines `NAME<TAB>MILLISECONDS`).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Target: `start` to the first answered request, in ms.
const FIRST_ANSWER_MS: f64 = 1.0;
/// Target: resident memory per idle mock, in MiB.
const IDLE_MIB: f64 = 1.0;
/// Target: time a fresh mock adds to a test through the Kotlin and Swift kits, in ms.
const KIT_PER_TEST_MS: f64 = 5.0;
/// Share of the idle mocks' memory that must come back once they are stopped, in %.
const RETURNED_PCT: f64 = 90.0;

/// What `moments-bench startup` was asked for.
pub struct Options {
    /// Samples per in-process measurement (the per-test loop is always 100 tests).
    pub runs: usize,
    /// Idle mocks per memory count.
    pub mocks: usize,
    /// Samples of the binary's spawn to first answer.
    pub spawns: usize,
    /// The mock's binary.
    pub mock_bin: PathBuf,
    /// Sample files of the kits' bench programs.
    pub samples: Vec<PathBuf>,
    /// Where the report goes (besides stdout).
    pub out: PathBuf,
}

/// The request every measurement waits for: the cheapest route, answered by the whole stack.
const HEALTH: &[u8] = b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

/// Tests per "100 tests with a fresh mock" loop.
const TESTS: usize = 100;

fn answered(response: &[u8]) -> Result<(), String> {
    if response.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!(
            "unexpected answer: {}",
            String::from_utf8_lossy(&response[..response.len().min(120)])
        ))
    }
}

/// `GET /_mock/health` on a connection of its own, from async code (the mock may share the thread).
async fn first_answer(addr: SocketAddr) -> Result<(), String> {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(HEALTH).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(1024);
    s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
    answered(&buf)
}

/// The same request from a blocking thread (the native library's mock runs on threads of its own).
fn first_answer_blocking(addr: &str) -> Result<(), String> {
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.write_all(HEALTH).map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(1024);
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    answered(&buf)
}

/// Milliseconds since `t`.
fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Median and the 10th and 90th percentiles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
}

/// The spread of `samples` (nearest rank); `None` when empty.
pub fn spread(samples: &[f64]) -> Option<Spread> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s[((q * (s.len() - 1) as f64).round() as usize).min(s.len() - 1)];
    Some(Spread {
        p50: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
    })
}

/// A measured row: its name, its samples in ms and the target it is judged by, if any.
struct Row {
    name: String,
    samples: Vec<f64>,
    target_ms: Option<f64>,
}

/// Start to first answer on an existing runtime, `runs` times (each mock shut down after).
fn in_process(rt: &tokio::runtime::Runtime, runs: usize) -> Result<Vec<f64>, String> {
    rt.block_on(async {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let mock = moments_mock_server::MockServer::start()
                .await
                .map_err(|e| e.to_string())?;
            first_answer(mock.addr()).await?;
            samples.push(ms(t));
            mock.shutdown().await;
        }
        Ok(samples)
    })
}

/// What a `#[tokio::test]` with a fresh mock costs: a current-thread runtime, start, one answer,
/// graceful stop, the runtime dropped. One sample per test.
fn rust_tests() -> Result<Vec<f64>, String> {
    let mut samples = Vec::with_capacity(TESTS);
    for _ in 0..TESTS {
        let t = Instant::now();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let mock = moments_mock_server::MockServer::start()
                .await
                .map_err(|e| e.to_string())?;
            first_answer(mock.addr()).await?;
            mock.shutdown().await;
            Ok::<_, String>(())
        })?;
        drop(rt);
        samples.push(ms(t));
    }
    Ok(samples)
}

/// The native library the kits load: `Mock::start` to the first answer (`runs` samples), and a
/// whole test's worth (start, answer, stop) for 100 tests.
fn native(runs: usize) -> Result<(Vec<f64>, Vec<f64>), String> {
    let mut first = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let mock = moments_mock_ffi::Mock::start()?;
        first_answer_blocking(mock.base_url().trim_start_matches("http://"))?;
        first.push(ms(t));
        mock.stop();
    }
    let mut tests = Vec::with_capacity(TESTS);
    for _ in 0..TESTS {
        let t = Instant::now();
        let mock = moments_mock_ffi::Mock::start()?;
        first_answer_blocking(mock.base_url().trim_start_matches("http://"))?;
        mock.stop();
        tests.push(ms(t));
    }
    Ok((first, tests))
}

/// The binary: spawn (`--port 0`), read the URL from its banner, first answer; killed after.
fn binary(bin: &PathBuf, spawns: usize) -> Result<Vec<f64>, String> {
    if !bin.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p moments-mock-server` first",
            bin.display()
        ));
    }
    let mut samples = Vec::with_capacity(spawns);
    for _ in 0..spawns {
        let t = Instant::now();
        let mut child = Command::new(bin)
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let url = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| crate::procs::find_url(&l));
        let result = match url {
            Some(url) => first_answer_blocking(url.trim_start_matches("http://")),
            None => Err("the binary printed no URL".to_string()),
        };
        let elapsed = ms(t);
        let _ = child.kill();
        let _ = child.wait();
        result?;
        samples.push(elapsed);
    }
    Ok(samples)
}

/// The process's resident memory in KiB and its thread count, from `/proc/self/status`.
pub fn rss_and_threads() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("Threads:"))
}

/// One memory count, as the child process reports it.
#[derive(Debug, Default)]
struct Memory {
    base_kib: u64,
    idle_kib: u64,
    stopped_kib: u64,
    base_threads: u64,
    idle_threads: u64,
    stopped_threads: u64,
}

impl Memory {
    fn line(&self) -> String {
        format!(
            "memory {} {} {} {} {} {}",
            self.base_kib,
            self.idle_kib,
            self.stopped_kib,
            self.base_threads,
            self.idle_threads,
            self.stopped_threads
        )
    }

    fn parse(line: &str) -> Option<Memory> {
        let v: Vec<u64> = line
            .strip_prefix("memory ")?
            .split_whitespace()
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        let [
            base_kib,
            idle_kib,
            stopped_kib,
            base_threads,
            idle_threads,
            stopped_threads,
        ] = v[..]
        else {
            return None;
        };
        Some(Memory {
            base_kib,
            idle_kib,
            stopped_kib,
            base_threads,
            idle_threads,
            stopped_threads,
        })
    }

    fn per_mock_mib(&self, n: usize) -> f64 {
        self.idle_kib.saturating_sub(self.base_kib) as f64 / 1024.0 / n as f64
    }

    fn returned_pct(&self) -> f64 {
        let grown = self.idle_kib.saturating_sub(self.base_kib) as f64;
        if grown == 0.0 {
            return 100.0;
        }
        100.0 * self.idle_kib.saturating_sub(self.stopped_kib) as f64 / grown
    }
}

/// The child side of a memory count (`moments-bench startup-memory --via rust|native --mocks N`):
/// a first round of `mocks` mocks started and stopped (what the process sets up once is no mock's:
/// lazy statics, the allocator's arenas, and for the native library the C library's cache of
/// exited threads' stacks, which the next threads reuse), then `mocks` idle mocks that have each
/// answered one request, then all stopped.
pub fn memory_child(via: &str, mocks: usize) -> Result<(), String> {
    let settle = || std::thread::sleep(Duration::from_millis(200));
    let line = match via {
        "rust" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let start = || async {
                    let m = moments_mock_server::MockServer::start()
                        .await
                        .map_err(|e| e.to_string())?;
                    first_answer(m.addr()).await?;
                    Ok::<_, String>(m)
                };
                let mut all = Vec::with_capacity(mocks);
                for _ in 0..mocks {
                    all.push(start().await?);
                }
                for mock in all {
                    mock.shutdown().await;
                }
                settle();
                let mut m = Memory::default();
                (m.base_kib, m.base_threads) = rss_and_threads();
                let mut all = Vec::with_capacity(mocks);
                for _ in 0..mocks {
                    all.push(start().await?);
                }
                settle();
                (m.idle_kib, m.idle_threads) = rss_and_threads();
                for mock in all {
                    mock.shutdown().await;
                }
                settle();
                (m.stopped_kib, m.stopped_threads) = rss_and_threads();
                Ok::<_, String>(m.line())
            })?
        }
        "native" => {
            let start = || {
                let m = moments_mock_ffi::Mock::start()?;
                first_answer_blocking(m.base_url().trim_start_matches("http://"))?;
                Ok::<_, String>(m)
            };
            let all = (0..mocks).map(|_| start()).collect::<Result<Vec<_>, _>>()?;
            all.into_iter().for_each(moments_mock_ffi::Mock::stop);
            settle();
            let mut m = Memory::default();
            (m.base_kib, m.base_threads) = rss_and_threads();
            let mut all = Vec::with_capacity(mocks);
            for _ in 0..mocks {
                all.push(start()?);
            }
            settle();
            (m.idle_kib, m.idle_threads) = rss_and_threads();
            for mock in all {
                mock.stop();
            }
            settle();
            (m.stopped_kib, m.stopped_threads) = rss_and_threads();
            m.line()
        }
        other => return Err(format!("unknown --via `{other}` (rust or native)")),
    };
    println!("{line}");
    Ok(())
}

/// Runs a memory count in a child process of this binary.
fn memory(via: &str, mocks: usize) -> Result<Memory, String> {
    let out = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args([
            "startup-memory",
            "--via",
            via,
            "--mocks",
            &mocks.to_string(),
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().find_map(Memory::parse).ok_or_else(|| {
        format!(
            "the memory count ({via}) reported nothing: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Reads a kit's sample file: `NAME<TAB>MS` lines, grouped by name in first-seen order.
fn read_samples(path: &PathBuf) -> Result<Vec<(String, Vec<f64>)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read samples {}: {e}", path.display()))?;
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (name, value) = line
            .split_once('\t')
            .ok_or_else(|| format!("{}: not NAME<TAB>MS: `{line}`", path.display()))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("{}: not a number: `{line}`", path.display()))?;
        match rows.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(value),
            None => rows.push((name.to_string(), vec![value])),
        }
    }
    Ok(rows)
}

/// The target a kit's row is judged by, from its name.
fn kit_target(name: &str) -> Option<f64> {
    if name.contains("per test") {
        Some(KIT_PER_TEST_MS)
    } else if name.contains("first answer") {
        Some(FIRST_ANSWER_MS)
    } else {
        None
    }
}

/// Runs every measurement and writes the report.
pub fn run(opts: &Options) -> Result<(), String> {
    let mut rows = Vec::new();
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let multi = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // Warm-up: what the first mock of a process sets up once (lazy statics, the first arena).
    in_process(&current, 3)?;
    in_process(&multi, 3)?;
    rows.push(Row {
        name: "Rust, current-thread runtime: start → first answer".into(),
        samples: in_process(&current, opts.runs)?,
        target_ms: Some(FIRST_ANSWER_MS),
    });
    rows.push(Row {
        name: "Rust, multi-thread runtime: start → first answer".into(),
        samples: in_process(&multi, opts.runs)?,
        target_ms: Some(FIRST_ANSWER_MS),
    });
    drop(multi);
    drop(current);
    rows.push(Row {
        name: format!("Rust, per test ({TESTS} tests: runtime, start, first answer, stop)"),
        samples: rust_tests()?,
        target_ms: None,
    });
    let (first, tests) = native(opts.runs)?;
    rows.push(Row {
        name: "native library (kits' mock): Mock::start → first answer".into(),
        samples: first,
        target_ms: Some(FIRST_ANSWER_MS),
    });
    rows.push(Row {
        name: format!("native library, per test ({TESTS} tests: start, first answer, stop)"),
        samples: tests,
        target_ms: None,
    });
    rows.push(Row {
        name: "binary: spawn → first answer".into(),
        samples: binary(&opts.mock_bin, opts.spawns)?,
        target_ms: None,
    });
    for path in &opts.samples {
        for (name, samples) in read_samples(path)? {
            rows.push(Row {
                target_ms: kit_target(&name),
                name,
                samples,
            });
        }
    }
    let rust_mem = memory("rust", opts.mocks)?;
    let native_mem = memory("native", opts.mocks)?;
    let report = render(&rows, opts.mocks, &rust_mem, &native_mem);
    print!("{report}");
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&opts.out, &report).map_err(|e| e.to_string())?;
    eprintln!("report written to {}", opts.out.display());
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

fn render(rows: &[Row], mocks: usize, rust: &Memory, native: &Memory) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# moments-bench startup — a fresh mock per test\n");
    let _ = writeln!(
        out,
        "| measured | samples | median ms | p10–p90 ms | target | median / target |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    let mut targets: Vec<(String, String, bool)> = Vec::new();
    for r in rows {
        let Some(s) = spread(&r.samples) else {
            continue;
        };
        let (target, ratio) = match r.target_ms {
            Some(t) => (format!("≤ {t} ms"), format!("{:.2}", s.p50 / t)),
            None => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} | {:.2}–{:.2} | {target} | {ratio} |",
            r.name,
            r.samples.len(),
            s.p50,
            s.p10,
            s.p90
        );
        if let Some(t) = r.target_ms {
            targets.push((
                format!("{}: ≤ {t} ms", r.name),
                format!("{:.2} ms", s.p50),
                s.p50 <= t,
            ));
        }
    }
    let _ = writeln!(
        out,
        "\n## Memory of idle mocks ({mocks} mocks, each having answered one request)\n"
    );
    let _ = writeln!(
        out,
        "| mocks | RSS before | RSS with the mocks idle | per idle mock | RSS after stopping them | given back | threads before / idle / after |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
    for (name, m) in [
        ("Rust, MockServer::start on one runtime", rust),
        ("native library, Mock::start (a runtime each)", native),
    ] {
        let per = m.per_mock_mib(mocks);
        let back = m.returned_pct();
        let _ = writeln!(
            out,
            "| {name} | {:.1} MiB | {:.1} MiB | {per:.2} MiB | {:.1} MiB | {back:.0} % | {} / {} / {} |",
            m.base_kib as f64 / 1024.0,
            m.idle_kib as f64 / 1024.0,
            m.stopped_kib as f64 / 1024.0,
            m.base_threads,
            m.idle_threads,
            m.stopped_threads
        );
        targets.push((
            format!("{name}: ≤ {IDLE_MIB} MiB per idle mock"),
            format!("{per:.2} MiB"),
            per <= IDLE_MIB,
        ));
        targets.push((
            format!("{name}: ≥ {RETURNED_PCT} % of it given back when stopped"),
            format!("{back:.0} %"),
            back >= RETURNED_PCT,
        ));
        targets.push((
            format!("{name}: threads back to where they were"),
            format!("{} → {}", m.base_threads, m.stopped_threads),
            m.stopped_threads <= m.base_threads,
        ));
    }
    let _ = writeln!(
        out,
        "\n## Targets, this run\n\n| target | measured | |\n|---|---:|---|"
    );
    for (what, measured, met) in targets {
        let _ = writeln!(out, "| {what} | {measured} | {} |", verdict(met));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_by_nearest_rank() {
        let s = spread(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.p10, s.p50, s.p90), (1.0, 3.0, 5.0));
        assert_eq!(spread(&[]), None);
    }

    #[test]
    fn memory_lines_round_trip() {
        let m = Memory {
            base_kib: 10,
            idle_kib: 110,
            stopped_kib: 20,
            base_threads: 2,
            idle_threads: 3,
            stopped_threads: 2,
        };
        let back = Memory::parse(&m.line()).unwrap();
        assert_eq!(back.line(), m.line());
        assert!((back.returned_pct() - 90.0).abs() < 1e-9);
        assert!((back.per_mock_mib(100) - 100.0 / 1024.0 / 100.0).abs() < 1e-12);
        assert!(Memory::parse("memory 1 2").is_none());
    }

    #[test]
    fn kit_rows_are_judged_by_their_name() {
        assert_eq!(kit_target("Kotlin kit, per test"), Some(KIT_PER_TEST_MS));
        assert_eq!(
            kit_target("Kotlin kit: start → first answer"),
            Some(FIRST_ANSWER_MS)
        );
        assert_eq!(kit_target("JVM start"), None);
    }
}
