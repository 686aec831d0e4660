//! Crash test: a child process enqueues and delivers actions and is killed with SIGKILL at random
//! points, again and again; at the end the server has issued exactly one reward per action the
//! child reported as enqueued, and none for anything else.
//!
//! `OUTBOX_CRASH_RUNS` sets the number of kills (default 100); `OUTBOX_CRASH_SEED` replays a run.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::action;
use moments_outbox::{HttpDeliverer, Outbox, OutboxConfig, StaticToken};

const CHILD_ENV: &str = "OUTBOX_CRASH_CHILD";
const ACTIONS_PER_RUN: usize = 6;

/// The child side: not a test on its own (returns at once unless started by `crash_test`).
#[test]
fn crash_child() {
    let Ok(run) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = std::env::var("OUTBOX_CRASH_DB").unwrap();
    let url = std::env::var("OUTBOX_CRASH_URL").unwrap();
    let count: usize = std::env::var("OUTBOX_CRASH_ACTIONS").unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut cfg = OutboxConfig::new(db);
        cfg.backoff_base = Duration::from_millis(5);
        cfg.backoff_max = Duration::from_millis(50);
        let deliverer = Arc::new(HttpDeliverer::new(
            &url,
            Arc::new(StaticToken::new("sk_test_fake")),
        ));
        let outbox = Outbox::open(cfg, deliverer, None).await.unwrap();
        let mut out = std::io::stdout();
        for i in 0..count {
            let id = format!("run{run}-{i}");
            writeln!(out, "\n@TRY {id}").unwrap();
            out.flush().unwrap();
            let q = outbox
                .enqueue(action(&format!("cust_{}", i % 3), &id))
                .await
                .unwrap();
            writeln!(out, "\n@ENQ {id} {}", q.idempotency_key).unwrap();
            out.flush().unwrap();
        }
        loop {
            let c = outbox.flush().await.unwrap();
            if c.pending() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        writeln!(out, "\n@DONE").unwrap();
        out.flush().unwrap();
    });
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_every_action_is_rewarded_exactly_once() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let runs: usize = std::env::var("OUTBOX_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seed: u64 = std::env::var("OUTBOX_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).unwrap();
            u64::from_le_bytes(b) | 1
        });
    eprintln!("crash test: {runs} runs, OUTBOX_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = common::server::serve(listener);
    // Slow answers so that kills land while requests are in flight, too.
    server
        .max_latency_ms
        .store(15, std::sync::atomic::Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.sqlite");

    let mut tried = HashSet::new();
    let mut enqueued: HashMap<String, String> = HashMap::new();
    let mut finished_runs = 0;
    for run in 0..=runs {
        let last = run == runs;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, run.to_string())
            .env("OUTBOX_CRASH_DB", &db)
            .env("OUTBOX_CRASH_URL", &url)
            .env(
                "OUTBOX_CRASH_ACTIONS",
                if last { "0".to_owned() } else { ACTIONS_PER_RUN.to_string() },
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        if !last {
            // Kill anywhere from process start-up to after the run's deliveries.
            let delay = Duration::from_millis(rng.below(120));
            tokio::time::sleep(delay).await;
            let _ = child.kill(); // SIGKILL
        }
        let pid = child.id();
        let waited = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::task::spawn_blocking(move || child.wait()),
        )
        .await;
        let status = match waited {
            Ok(s) => s.unwrap().unwrap(),
            Err(_) => {
                // Do not leave a stuck child behind.
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                panic!("run {run} did not finish within 60 s");
            }
        };
        let lines = reader.join().unwrap();
        if last {
            assert!(status.success(), "final run failed: {lines:?}");
            assert!(lines.iter().any(|l| l == "@DONE"), "final run: {lines:?}");
        }
        if lines.iter().any(|l| l == "@DONE") {
            finished_runs += 1;
        }
        for l in lines {
            let mut parts = l.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some("@TRY"), Some(id), None) => {
                    tried.insert(id.to_owned());
                }
                (Some("@ENQ"), Some(id), Some(key)) => {
                    enqueued.insert(id.to_owned(), key.to_owned());
                }
                _ => {}
            }
        }
    }
    eprintln!(
        "crash test: {} actions tried, {} confirmed enqueued, {finished_runs} runs finished before the kill, {} requests, {} replays",
        tried.len(),
        enqueued.len(),
        server.requests.load(std::sync::atomic::Ordering::SeqCst),
        server.replays.load(std::sync::atomic::Ordering::SeqCst),
    );

    let issued = server.issued();
    // None doubled: one reward per action, under the key the outbox gave it.
    for (id, keys) in &issued {
        assert_eq!(keys.len(), 1, "action {id} rewarded {} times", keys.len());
        assert!(tried.contains(id), "reward for an action never reported: {id}");
        if let Some(k) = enqueued.get(id) {
            assert_eq!(&keys[0], k, "action {id} sent under another key");
        }
    }
    // None lost: every action whose enqueue returned was rewarded.
    for id in enqueued.keys() {
        assert!(issued.contains_key(id), "action {id} was enqueued but never delivered");
    }
    // Nothing left behind in the outbox.
    let c = rusqlite::Connection::open(&db).unwrap();
    let left: i64 = c
        .query_row("SELECT COUNT(*) FROM actions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    assert!(enqueued.len() >= runs, "kills came too early to test much");
}
