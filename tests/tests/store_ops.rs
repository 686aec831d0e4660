//! Operating the persistent stores: a database of a newer schema refuses to start, start-up waits
//! for a database (and gives up naming it), and an instance that loses its database answers `503`
//! until it comes back, losing nothing.
//!
//! The PostgreSQL tests need `MOMENTS_TEST_POSTGRES` (`cargo xtask postgres` prints it): without
//! it they are skipped, loudly, or fail when `CI` is set. Each makes its own database and drops it.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::mock_process::mock_binary;
use moments_e2e::mock::{Answer, Mock};
use moments_e2e::store::{MockProc, Proxy, TestDb, all_rewards, postgres_or_skip, trigger_body};
use moments_mock_server::{DEMO_CAMPAIGN_ID, MockConfig, MockServer, StoreSpec};

/// One PostgreSQL test at a time (the two cores; the proxies' ports).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const FUTURE: &str = "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
                      VALUES (999, 'from_the_future', '2099-01-01T00:00:00Z', '0')";

fn assert_newer_schema(e: &str) {
    assert!(
        e.contains("newer"),
        "the error says the schema is newer: {e}"
    );
    assert!(e.contains("V999"), "the error names the migration: {e}");
}

fn config(store: StoreSpec) -> MockConfig {
    MockConfig {
        store,
        ..MockConfig::default()
    }
}

async fn start_err(config: MockConfig) -> String {
    match MockServer::start_with(config).await {
        Ok(_) => panic!("the mock started"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_postgres_database_of_a_newer_schema_refuses_to_start() {
    let Some(admin) = postgres_or_skip("a_postgres_database_of_a_newer_schema_refuses_to_start")
    else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let store = StoreSpec::Postgres(db.url.clone());
    MockServer::start_with(config(store.clone()))
        .await
        .expect("the mock starts on a fresh database")
        .shutdown()
        .await;
    db.client()
        .await
        .batch_execute(FUTURE)
        .await
        .expect("a migration from the future recorded");
    assert_newer_schema(&start_err(config(store)).await);
}

#[tokio::test]
async fn a_sqlite_file_of_a_newer_schema_refuses_to_start() {
    // The binary: stopped, its process lets the file go.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("future.db");
    let store = format!("sqlite:{}", path.display());
    let bin = tokio::task::spawn_blocking(mock_binary)
        .await
        .expect("the mock binary");
    let args = ["--store", store.as_str()];
    let mut first = MockProc::start(&bin, &args, Duration::from_secs(30))
        .await
        .unwrap_or_else(|f| panic!("the mock starts on a fresh file: {f:?}"));
    first.kill();
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch(FUTURE))
        .expect("a migration from the future recorded");
    let f = match MockProc::start(&bin, &args, Duration::from_secs(30)).await {
        Ok(p) => panic!("the mock started on a newer schema at {}", p.base),
        Err(f) => f,
    };
    assert_eq!(f.code, Some(1), "{f:?}");
    assert_newer_schema(&f.stderr);
    assert!(f.stderr.contains("SQLite"), "{}", f.stderr);
    // In process, the same.
    assert_newer_schema(&start_err(config(StoreSpec::Sqlite(path))).await);
}

#[tokio::test]
async fn a_stopped_in_process_server_lets_its_sqlite_file_go() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = StoreSpec::Sqlite(dir.path().join("again.db"));
    let first = MockServer::start_with(config(store.clone()))
        .await
        .expect("the mock starts on a fresh file");
    let a = moments_e2e::store::call(
        &reqwest::Client::new(),
        &first.base_url(),
        "POST",
        "/v1/triggers",
        Some(&first.demo().secret_key),
        Some("kept"),
        Some(&trigger_body(DEMO_CAMPAIGN_ID, "level_5", "kept")),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    first.shutdown().await;
    // Shut down, it no longer holds the file: a new server in the same process opens it, with
    // the reward.
    let second = match MockServer::start_with(config(store)).await {
        Ok(s) => s,
        Err(e) => panic!("a server started after the first one shut down: {e}"),
    };
    let r = moments_e2e::store::call(
        &reqwest::Client::new(),
        &second.base_url(),
        "GET",
        &format!(
            "/v1/rewards/{}",
            a.body["reward"]["id"].as_str().expect("id")
        ),
        Some(&second.demo().secret_key),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    second.shutdown().await;
}

/// A port of 127.0.0.1 on which nothing listens (free when chosen).
fn closed_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

#[tokio::test]
async fn start_up_gives_up_on_an_unreachable_database_naming_it() {
    let addr = closed_port();
    let url = format!("postgres://moments@{addr}/nowhere");
    let t = Instant::now();
    let e = start_err(MockConfig {
        store_wait: Some(Duration::from_secs(2)),
        ..config(StoreSpec::Postgres(url.clone()))
    })
    .await;
    let took = t.elapsed();
    assert!(e.contains(&addr.to_string()), "the error names {addr}: {e}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "it retried for about the wait (2 s), took {took:?}: {e}"
    );
    // The binary too: `--store-wait`, the waits said on standard error, exit 1.
    let bin = tokio::task::spawn_blocking(mock_binary)
        .await
        .expect("the mock binary");
    let f = match MockProc::start(
        &bin,
        &["--store", &url, "--store-wait", "2"],
        Duration::from_secs(30),
    )
    .await
    {
        Ok(p) => panic!("the binary started on {url} at {}", p.base),
        Err(f) => f,
    };
    assert_eq!(f.code, Some(1), "{f:?}");
    assert!(f.stderr.contains("waiting for PostgreSQL"), "{}", f.stderr);
    assert!(f.stderr.contains(&addr.to_string()), "{}", f.stderr);
    assert!(f.stderr.contains("error: cannot start"), "{}", f.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_waits_for_a_database_that_appears() {
    let Some(admin) = postgres_or_skip("start_up_waits_for_a_database_that_appears") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let addr = closed_port();
    let url = db.url_via(addr);
    let t = Instant::now();
    let starting = tokio::spawn(MockServer::start_with(MockConfig {
        store_wait: Some(Duration::from_secs(20)),
        ..config(StoreSpec::Postgres(url))
    }));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!starting.is_finished(), "the mock waits for the database");
    let _proxy = Proxy::start_on(addr, db.server()).await;
    let server = starting
        .await
        .expect("the start's task")
        .expect("the mock starts once the database appears");
    let took = t.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    let http = reqwest::Client::new();
    let a = moments_e2e::store::call(
        &http,
        &server.base_url(),
        "POST",
        "/v1/triggers",
        Some(&server.demo().secret_key),
        Some("appeared"),
        Some(&trigger_body(DEMO_CAMPAIGN_ID, "level_5", "appeared")),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    server.shutdown().await;
}

async fn trigger(m: &Mock, key: &str) -> Answer {
    m.call(
        "POST",
        "/v1/triggers",
        Some(&m.key),
        Some(key),
        Some(&trigger_body(DEMO_CAMPAIGN_ID, "level_5", key)),
    )
    .await
}

async fn health(m: &Mock) -> Answer {
    m.call("GET", "/_mock/health", None, None, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_answers_503_until_it_comes_back_and_loses_nothing() {
    let Some(admin) = postgres_or_skip("a_lost_database_answers_503") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let proxy = Proxy::start(db.server()).await;
    let m = Mock::start_with(MockConfig {
        store_wait: Some(Duration::from_secs(5)),
        ..config(StoreSpec::Postgres(db.url_via(proxy.addr)))
    })
    .await;
    let mut rewards = Vec::new();
    for i in 0..5 {
        let a = trigger(&m, &format!("before-{i}")).await;
        assert_eq!(a.status, 200, "{}", a.text);
        rewards.push(a.body["reward"]["id"].as_str().expect("id").to_owned());
    }
    let h = health(&m).await;
    assert_eq!(
        (h.status, h.body["status"].as_str()),
        (200, Some("ok")),
        "{}",
        h.text
    );

    proxy.cut().await;
    let t = Instant::now();
    let h = health(&m).await;
    assert_eq!(h.status, 503, "{}", h.text);
    assert_eq!(h.body["status"], "unavailable", "{}", h.text);
    assert_eq!(h.body["store"]["reachable"], false, "{}", h.text);
    assert!(h.body["store"]["error"].is_string(), "{}", h.text);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "health answered in {:?}",
        t.elapsed()
    );
    let a = trigger(&m, "during").await;
    assert_eq!(
        (a.status, a.code()),
        (503, "service_unavailable"),
        "{}",
        a.text
    );
    assert_eq!(a.body["error"]["retryable"], true, "{}", a.text);
    let a = m.get(&format!("/v1/campaigns/{DEMO_CAMPAIGN_ID}")).await;
    assert_eq!(
        (a.status, a.code()),
        (503, "service_unavailable"),
        "{}",
        a.text
    );

    proxy.restore().await;
    let back = Instant::now();
    loop {
        let h = health(&m).await;
        if h.status == 200 {
            assert_eq!(h.body["status"], "ok", "{}", h.text);
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "health still {} after 5 s: {}",
            h.status,
            h.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("healthy {:?} after the database came back", back.elapsed());
    // The refused trigger's key was never used: its retry issues the reward now.
    for key in ["during", "after"] {
        let a = trigger(&m, key).await;
        assert_eq!(a.status, 200, "{key}: {}", a.text);
        rewards.push(a.body["reward"]["id"].as_str().expect("id").to_owned());
    }
    // Nothing lost: this instance, and another one straight on the database, list every reward.
    let other = Mock::start_with(config(StoreSpec::Postgres(db.url.clone()))).await;
    for x in [&m, &other] {
        let list = all_rewards(&x.http, &x.base, &x.key, DEMO_CAMPAIGN_ID).await;
        let mut ids: Vec<String> = list
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        let mut want = rewards.clone();
        want.sort();
        assert_eq!(ids, want, "the rewards on {}", x.base);
        let c = x.get(&format!("/v1/campaigns/{DEMO_CAMPAIGN_ID}")).await;
        assert_eq!(c.body["spend"]["spent"]["amount"], 7 * 500, "{}", c.text);
    }
}

/// What one trigger of the load got.
enum Got {
    /// `200`: the reward's id.
    Reward(String),
    /// `503 service_unavailable`, retryable.
    Unavailable,
}

/// Sends triggers with fresh keys (`<prefix>-N`, also the customers' ids) one after the other
/// until `stop`.
async fn load(m: Arc<Mock>, prefix: String, stop: Arc<AtomicBool>) -> Vec<(String, Got)> {
    let mut out = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("{prefix}-{n}");
        n += 1;
        let a = trigger(&m, &key).await;
        match (a.status, a.code()) {
            (200, _) => {
                let id = a.body["reward"]["id"].as_str().expect("id").to_owned();
                out.push((key, Got::Reward(id)));
            }
            (503, "service_unavailable") => {
                assert_eq!(a.body["error"]["retryable"], true, "{}", a.text);
                out.push((key, Got::Unavailable));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (s, _) => panic!(
                "a trigger answered {s} while the database came and went: {}",
                a.text
            ),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_lost_under_load_keeps_every_answered_reward() {
    let Some(admin) = postgres_or_skip("a_database_lost_under_load_keeps_every_answered_reward")
    else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let proxy = Proxy::start(db.server()).await;
    let m = Arc::new(
        Mock::start_with(MockConfig {
            store_wait: Some(Duration::from_secs(5)),
            ..config(StoreSpec::Postgres(db.url_via(proxy.addr)))
        })
        .await,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..6)
        .map(|w| tokio::spawn(load(m.clone(), format!("load{w}"), stop.clone())))
        .collect();
    // Lost twice while triggers keep coming: whatever was in flight fails or commits.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        proxy.cut().await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        proxy.restore().await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = Vec::new();
    for w in workers {
        sent.extend(w.await.expect("a load worker"));
    }
    let issued: Vec<(&str, &str)> = sent
        .iter()
        .filter_map(|(k, g)| match g {
            Got::Reward(id) => Some((k.as_str(), id.as_str())),
            Got::Unavailable => None,
        })
        .collect();
    let failed: Vec<&str> = sent
        .iter()
        .filter(|(_, g)| matches!(g, Got::Unavailable))
        .map(|(k, _)| k.as_str())
        .collect();
    eprintln!(
        "{} triggers: {} answered 200, {} answered 503",
        sent.len(),
        issued.len(),
        failed.len()
    );
    assert!(!failed.is_empty(), "some triggers met the lost database");
    assert!(!issued.is_empty(), "some triggers were served");

    // Each refused key, sent again: a reward (committed after all, or fresh) or "in progress"
    // (claimed before the loss, not committed: the claim is taken over a minute later).
    let mut retried = Vec::new();
    let mut pending = Vec::new();
    for key in &failed {
        let a = trigger(&m, key).await;
        match (a.status, a.code()) {
            (200, _) => retried.push((
                *key,
                a.body["reward"]["id"].as_str().expect("id").to_owned(),
            )),
            (409, "idempotency_in_progress") => pending.push(*key),
            (s, _) => panic!("the retry of {key} answered {s}: {}", a.text),
        }
    }
    eprintln!(
        "retried: {} issued now, {} still in progress",
        retried.len(),
        pending.len()
    );
    let list = all_rewards(&m.http, &m.base, &m.key, DEMO_CAMPAIGN_ID).await;
    let mut per_customer: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &list {
        per_customer
            .entry(r["customer_id"].as_str().expect("customer"))
            .or_default()
            .push(r["id"].as_str().expect("id"));
    }
    for (c, ids) in &per_customer {
        assert_eq!(ids.len(), 1, "{c} (one key) has rewards {ids:?}");
    }
    for (key, id) in issued
        .iter()
        .copied()
        .chain(retried.iter().map(|(k, i)| (*k, i.as_str())))
    {
        assert_eq!(
            per_customer.get(key).map(|v| v[0]),
            Some(id),
            "the reward of {key} is kept"
        );
    }
    for key in &pending {
        assert!(
            !per_customer.contains_key(key),
            "{key} is in progress but has a reward"
        );
    }
    assert_eq!(
        list.len(),
        issued.len() + retried.len(),
        "no reward but the answered ones"
    );
    let c = m.get(&format!("/v1/campaigns/{DEMO_CAMPAIGN_ID}")).await;
    assert_eq!(
        c.body["spend"]["spent"]["amount"].as_i64(),
        Some(list.len() as i64 * 500),
        "{}",
        c.text
    );
}
