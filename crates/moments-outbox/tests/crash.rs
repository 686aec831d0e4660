//! Crash test: a child process enqueues and delivers actions and is killed with SIGKILL at random
//! points, again and again; at the end the server has issued exactly one reward per action the
//! child reported as enqueued, and none for anything else.
//!
//! Two servers: a small in-test one with the API's idempotency semantics and random latency
//! (`HttpDeliverer`), and the real mock (`ClientDeliverer`, with latency injected).
//!
//! `OUTBOX_CRASH_RUNS` sets the number of kills per test (default 100); `OUTBOX_CRASH_SEED`
//! replays a run.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::action;
use moments_client::MomentsClient;
use moments_mock_server::MockServer;
use moments_outbox::{
    Action, ActionStatus, ClientDeliverer, Customer, Deliverer, DeliveryResult, Device, DeviceType,
    HttpDeliverer, Outbox, OutboxConfig, QueuedAction, StaticToken,
};
use serde_json::{Value, json};

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
    let count: usize = std::env::var("OUTBOX_CRASH_ACTIONS")
        .unwrap()
        .parse()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut cfg = OutboxConfig::new(db);
        cfg.backoff_base = Duration::from_millis(5);
        cfg.backoff_max = Duration::from_millis(50);
        // Against the real mock: `ClientDeliverer` over moments-client, one customer (and
        // device, and IP) per action. Against the in-test server: `HttpDeliverer`, three
        // customers, the action told apart by its moment id.
        let mock = std::env::var("OUTBOX_CRASH_SECRET").ok();
        let deliverer: Arc<dyn Deliverer> = match &mock {
            Some(secret) => Arc::new(ClientDeliverer::new(
                MomentsClient::builder()
                    .base_url(&url)
                    .secret_key(secret)
                    .build()
                    .unwrap(),
            )),
            None => Arc::new(HttpDeliverer::new(
                &url,
                Arc::new(StaticToken::new("sk_test_fake")),
            )),
        };
        let campaign = std::env::var("OUTBOX_CRASH_CAMPAIGN").unwrap_or_default();
        let outbox = Outbox::open(cfg, deliverer, None).await.unwrap();
        let mut out = std::io::stdout();
        for i in 0..count {
            let id = format!("run{run}-{i}");
            writeln!(out, "\n@TRY {id}").unwrap();
            out.flush().unwrap();
            let a = if mock.is_some() {
                let mut device = Device::new(DeviceType::Android);
                device.id = Some(format!("dev_{id}"));
                device.ip = Some(format!(
                    "10.2.{}.{}",
                    run.parse::<usize>().unwrap() % 256,
                    i
                ));
                Action::new(
                    campaign.clone(),
                    "first_workout",
                    Customer::new(id.clone(), "US"),
                    device,
                )
            } else {
                action(&format!("cust_{}", i % 3), &id)
            };
            let q = outbox.enqueue(a).await.unwrap();
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

/// Never answers: the parent opens the outbox only to read it.
struct Never;

#[async_trait::async_trait]
impl Deliverer for Never {
    async fn deliver(&self, _: &QueuedAction) -> DeliveryResult {
        std::future::pending().await
    }
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

/// What the child runs reported.
struct Runs {
    tried: HashSet<String>,
    enqueued: HashMap<String, String>,
    finished: usize,
}

fn runs_and_rng() -> (usize, Rng) {
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
    (runs, Rng(seed))
}

/// Starts the child `runs` times, killing it at a random point, then once more to the end.
async fn crash_runs(
    runs: usize,
    rng: &mut Rng,
    db: &std::path::Path,
    url: &str,
    extra_env: &[(&str, String)],
) -> Runs {
    let mut tried = HashSet::new();
    let mut enqueued: HashMap<String, String> = HashMap::new();
    let mut finished = 0;
    for run in 0..=runs {
        let last = run == runs;
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, run.to_string())
            .env("OUTBOX_CRASH_DB", db)
            .env("OUTBOX_CRASH_URL", url)
            .env(
                "OUTBOX_CRASH_ACTIONS",
                if last {
                    "0".to_owned()
                } else {
                    ACTIONS_PER_RUN.to_string()
                },
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (first_try, tried_once) = tokio::sync::oneshot::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut first_try = Some(first_try);
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("@TRY")
                    && let Some(tx) = first_try.take()
                {
                    let _ = tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        if !last {
            // Where the kill lands. One run in four counts from the spawn, so kills also land in
            // process start-up and while the outbox opens (and recovers) its file; the others
            // count from the child's first action, so that how long start-up takes on a loaded
            // machine does not decide how many actions get enqueued at all.
            let from_spawn = rng.below(4) == 0;
            let delay = Duration::from_millis(rng.below(120));
            if !from_spawn {
                // An Err means the child exited without trying anything: it is killed below anyway.
                let _ = tokio::time::timeout(Duration::from_secs(60), tried_once).await;
            }
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
            finished += 1;
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
    // Nothing left undelivered in the outbox, and every enqueued key is remembered as delivered.
    let outbox = Outbox::open(OutboxConfig::new(db), Arc::new(Never), None)
        .await
        .unwrap();
    let counts = outbox.counts().await.unwrap();
    assert_eq!((counts.pending(), counts.failed), (0, 0), "{counts:?}");
    for (id, key) in &enqueued {
        let status = outbox.lookup(key).await.unwrap();
        assert!(
            matches!(status, ActionStatus::Delivered(_)),
            "action {id} ({key}): {status:?}"
        );
    }
    outbox.shutdown().await.unwrap();
    drop(outbox);
    // Three runs in four are killed 0–120 ms after their first action, and enqueueing the six
    // takes ~15–35 ms here: ~5.8 enqueued per run measured on an idle machine, so the floor of
    // half an action per run still holds ten times slower.
    assert!(
        enqueued.len() >= runs / 2,
        "kills came too early to test much: {} actions enqueued in {runs} runs",
        enqueued.len()
    );
    Runs {
        tried,
        enqueued,
        finished,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_every_action_is_rewarded_exactly_once() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (runs, mut rng) = runs_and_rng();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = common::server::serve(listener);
    // Slow answers so that kills land while requests are in flight, too.
    server
        .max_latency_ms
        .store(15, std::sync::atomic::Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.sqlite");
    let Runs {
        tried,
        enqueued,
        finished,
    } = crash_runs(runs, &mut rng, &db, &url, &[]).await;
    eprintln!(
        "crash test: {} actions tried, {} confirmed enqueued, {finished} runs finished before the kill, {} requests, {} replays",
        tried.len(),
        enqueued.len(),
        server.requests.load(std::sync::atomic::Ordering::SeqCst),
        server.replays.load(std::sync::atomic::Ordering::SeqCst),
    );

    let issued = server.issued();
    // None doubled: one reward per action, under the key the outbox gave it.
    for (id, keys) in &issued {
        assert_eq!(keys.len(), 1, "action {id} rewarded {} times", keys.len());
        assert!(
            tried.contains(id),
            "reward for an action never reported: {id}"
        );
        if let Some(k) = enqueued.get(id) {
            assert_eq!(&keys[0], k, "action {id} sent under another key");
        }
    }
    // None lost: every action whose enqueue returned was rewarded.
    for id in enqueued.keys() {
        assert!(
            issued.contains_key(id),
            "action {id} was enqueued but never delivered"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_against_the_mock_the_rewards_match_the_actions() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (runs, mut rng) = runs_and_rng();
    let server = MockServer::start().await.unwrap();
    let base = server.base_url();
    let demo = server.demo().clone();
    let http = reqwest::Client::new();
    // Slow answers, so that kills also land while requests wait at the server.
    http.post(format!("{base}/_mock/faults"))
        .json(&json!({"route": "POST /v1/triggers", "count": 1_000_000, "latency_ms": 10}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.sqlite");
    let env = [
        ("OUTBOX_CRASH_SECRET", demo.secret_key.clone()),
        ("OUTBOX_CRASH_CAMPAIGN", demo.campaign_id.clone()),
    ];
    let Runs {
        tried,
        enqueued,
        finished,
    } = crash_runs(runs, &mut rng, &db, &base, &env).await;

    // The mock's rewards: one per customer (= per action), for every enqueued action.
    let rewards =
        common::rewards_per_customer(&http, &base, &demo.campaign_id, &demo.secret_key).await;
    // The journal: no key answered for the first time with anything but 200 (a second key for
    // an action would meet the frequency cap: 422), and at most one first 200 per key.
    let journal: Value = http
        .get(format!("{base}/_mock/journal?limit=10000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut first_answers: HashMap<String, usize> = HashMap::new();
    for e in journal["data"].as_array().unwrap() {
        if e["method"] == "POST" && e["path"] == "/v1/triggers" && e["replayed"] != true {
            let status = e["status"].as_u64().unwrap();
            assert!(
                matches!(status, 0 | 200 | 409 | 503),
                "unexpected first answer {e}"
            );
            if status == 200 {
                *first_answers
                    .entry(e["idempotency_key"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
    }
    eprintln!(
        "crash test (mock): {} actions tried, {} confirmed enqueued, {finished} runs finished before the kill, {} rewards",
        tried.len(),
        enqueued.len(),
        rewards.len(),
    );
    assert!(
        first_answers.values().all(|n| *n == 1),
        "a key was processed twice"
    );
    for (customer, n) in &rewards {
        assert_eq!(*n, 1, "action {customer} rewarded {n} times");
        assert!(
            tried.contains(customer),
            "reward for an action never reported: {customer}"
        );
    }
    for id in enqueued.keys() {
        assert!(
            rewards.contains_key(id),
            "action {id} was enqueued but never rewarded"
        );
    }
    server.shutdown().await;
}
