//! The mock binary killed (SIGKILL) at random moments under load, on a SQLite file and on a
//! PostgreSQL database, and restarted on the same store: every answered trigger keeps its reward,
//! the spend is the rewards' cost, and no idempotency key ever gets two rewards.
//!
//! The kill times come from a seeded random stream; the seed is printed, and `STORE_CRASH_SEED`
//! replays it. Beside them, a key held by an instance killed before answering is free at once on
//! another. The PostgreSQL tests need `MOMENTS_TEST_POSTGRES` (`cargo xtask postgres` prints
//! it): without it, they are skipped, loudly, or fail when `CI` is set.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::mock_process::mock_binary;
use moments_e2e::mock::Answer;
use moments_e2e::store::{
    MockProc, Rng, TestDb, all_rewards, call, campaign_body, http_client, launch_campaign,
    postgres_or_skip, random_u64, server_now, trigger_body, try_call,
};
use moments_mock_server::DEMO_SECRET_KEY as KEY;
use serde_json::Value;

/// The two tests one at a time: each loads the two cores by itself.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const COST: i64 = 500;
/// Kills (and restarts) per test.
const ROUNDS: usize = 5;
/// Clients sending triggers one after the other during a round.
const WORKERS: usize = 8;

/// What a trigger got before its server was killed.
#[derive(Debug)]
enum Outcome {
    /// `200`: the reward's id and status.
    Issued { reward: String, status: String },
    /// `422 budget_exhausted`.
    Refused,
    /// No answer: the server died first.
    Unanswered,
}

/// One trigger: its idempotency key (also its customer's id) and what it got.
#[derive(Debug)]
struct Sent {
    key: String,
    outcome: Outcome,
}

fn seed() -> u64 {
    std::env::var("STORE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(random_u64)
}

async fn start(bin: &Path, store: &str) -> MockProc {
    MockProc::start(
        bin,
        &["--store", store, "--store-wait", "10"],
        Duration::from_secs(60),
    )
    .await
    .unwrap_or_else(|f| panic!("the mock starts on {store}: {f:?}"))
}

/// Sends triggers with fresh keys one after the other until one gets no answer (the server was
/// killed) or `stop` is set.
async fn worker(
    http: reqwest::Client,
    base: String,
    camp: String,
    prefix: String,
    stop: Arc<AtomicBool>,
) -> Vec<Sent> {
    let mut out = Vec::new();
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let key = format!("{prefix}-{n}");
        let body = trigger_body(&camp, "m1", &key);
        let a = try_call(
            &http,
            &base,
            "POST",
            "/v1/triggers",
            Some(KEY),
            Some(&key),
            Some(&body),
        )
        .await;
        let outcome = match a {
            Err(_) => Outcome::Unanswered,
            Ok(a) => outcome_of(&a),
        };
        let last = matches!(outcome, Outcome::Unanswered);
        out.push(Sent { key, outcome });
        if last {
            break;
        }
    }
    out
}

fn outcome_of(a: &Answer) -> Outcome {
    match a.status {
        200 => Outcome::Issued {
            reward: a.body["reward"]["id"].as_str().expect("id").to_owned(),
            status: a.body["reward"]["status"]
                .as_str()
                .expect("status")
                .to_owned(),
        },
        422 if a.code() == "budget_exhausted" => Outcome::Refused,
        s => panic!("a trigger answered {s}: {}", a.text),
    }
}

/// Runs the rounds on `store` against a campaign of a budget of `actions` actions (chosen to be
/// spent about halfway, so the kills land both while rewards are issued and while triggers are
/// refused), then checks what the store kept.
async fn crash_and_restart(store: &str, label: &str, actions: i64) {
    let started = Instant::now();
    let seed = seed();
    eprintln!("{label}: seed {seed} (STORE_CRASH_SEED={seed} replays the kill times)");
    let mut rng = Rng::new(seed);
    let bin = tokio::task::spawn_blocking(mock_binary)
        .await
        .expect("the mock binary");
    let http = http_client(Duration::from_secs(20));
    let mut proc = start(&bin, store).await;
    let now = server_now(&http, &proc.base, KEY).await;
    let camp = launch_campaign(
        &http,
        &proc.base,
        KEY,
        "crash",
        &campaign_body(now, actions * COST, COST),
    )
    .await;

    let mut sent: Vec<Sent> = Vec::new();
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                tokio::spawn(worker(
                    http.clone(),
                    proc.base.clone(),
                    camp.clone(),
                    format!("r{round}w{w}"),
                    stop.clone(),
                ))
            })
            .collect();
        let after = Duration::from_millis(rng.range(150, 1500));
        tokio::time::sleep(after).await;
        proc.kill();
        stop.store(true, Ordering::Relaxed);
        let mut this_round = Vec::new();
        for w in workers {
            this_round.extend(w.await.expect("a worker"));
        }
        let count = |f: fn(&Outcome) -> bool| this_round.iter().filter(|s| f(&s.outcome)).count();
        eprintln!(
            "{label} round {round}: killed after {} ms; {} issued, {} refused, {} unanswered",
            after.as_millis(),
            count(|o| matches!(o, Outcome::Issued { .. })),
            count(|o| matches!(o, Outcome::Refused)),
            count(|o| matches!(o, Outcome::Unanswered)),
        );
        sent.extend(this_round);
        proc = start(&bin, store).await;
    }

    // Every answered reward is there, as answered; and its key answers it again.
    let list = all_rewards(&http, &proc.base, KEY, &camp).await;
    let by_id: HashMap<&str, &Value> = list
        .iter()
        .map(|r| (r["id"].as_str().expect("id"), r))
        .collect();
    for s in &sent {
        if let Outcome::Issued { reward, status } = &s.outcome {
            let r = by_id
                .get(reward.as_str())
                .unwrap_or_else(|| panic!("{label}: reward {reward} (key {}) lost", s.key));
            assert_eq!(r["status"], status.as_str(), "{label}: {r}");
            assert_eq!(r["customer_id"], s.key.as_str(), "{label}: {r}");
        }
    }
    let issued_keys: Vec<&Sent> = sent
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Issued { .. }))
        .collect();
    let unanswered: Vec<&Sent> = sent
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Unanswered))
        .collect();
    for s in issued_keys.iter().step_by(5) {
        let a = call(
            &http,
            &proc.base,
            "POST",
            "/v1/triggers",
            Some(KEY),
            Some(&s.key),
            Some(&trigger_body(&camp, "m1", &s.key)),
        )
        .await;
        let Outcome::Issued { reward, .. } = &s.outcome else {
            unreachable!()
        };
        assert_eq!(
            a.status, 200,
            "{label}: the replay of {}: {}",
            s.key, a.text
        );
        assert_eq!(
            a.body["reward"]["id"],
            reward.as_str(),
            "{label}: {}",
            a.text
        );
    }

    // Each unanswered key, sent again: its original reward (committed, the answer lost), a fresh
    // one, a refusal, or (SQLite) "in progress" (claimed by the killed process, not committed: the
    // claim is taken over a minute later); never a second reward.
    let mut pending = HashSet::new();
    let mut retried: HashMap<&str, String> = HashMap::new();
    for s in &unanswered {
        let a = call(
            &http,
            &proc.base,
            "POST",
            "/v1/triggers",
            Some(KEY),
            Some(&s.key),
            Some(&trigger_body(&camp, "m1", &s.key)),
        )
        .await;
        match (a.status, a.code()) {
            (200, _) => {
                let id = a.body["reward"]["id"].as_str().expect("id").to_owned();
                retried.insert(&s.key, id);
            }
            (422, "budget_exhausted") => {}
            (409, "idempotency_in_progress") => {
                pending.insert(s.key.as_str());
            }
            (st, _) => panic!("{label}: the retry of {} answered {st}: {}", s.key, a.text),
        }
    }
    eprintln!(
        "{label}: {} issued, {} unanswered: {} answered 200 on retry, {} still in progress",
        issued_keys.len(),
        unanswered.len(),
        retried.len(),
        pending.len()
    );

    let list = all_rewards(&http, &proc.base, KEY, &camp).await;
    let mut per_customer: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &list {
        per_customer
            .entry(r["customer_id"].as_str().expect("customer"))
            .or_default()
            .push(r["id"].as_str().expect("id"));
    }
    let keys: HashSet<&str> = sent.iter().map(|s| s.key.as_str()).collect();
    for (customer, ids) in &per_customer {
        assert!(keys.contains(customer), "{label}: a reward for {customer}");
        assert_eq!(
            ids.len(),
            1,
            "{label}: {customer} (one key) has rewards {ids:?}"
        );
    }
    for (key, id) in &retried {
        assert_eq!(
            per_customer.get(key).map(|v| v[0]),
            Some(id.as_str()),
            "{label}: the retried {key}'s reward is listed"
        );
    }
    for key in &pending {
        assert!(
            !per_customer.contains_key(key),
            "{label}: {key} is in progress but has a reward"
        );
    }
    for s in &sent {
        if matches!(s.outcome, Outcome::Refused) {
            assert!(
                !per_customer.contains_key(s.key.as_str()),
                "{label}: {} was refused but has a reward",
                s.key
            );
        }
    }
    let c = call(
        &http,
        &proc.base,
        "GET",
        &format!("/v1/campaigns/{camp}"),
        Some(KEY),
        None,
        None,
    )
    .await;
    let spent = c.body["spend"]["spent"]["amount"].as_i64().expect("spent");
    assert_eq!(
        spent,
        list.len() as i64 * COST,
        "{label}: spent: {}",
        c.text
    );
    assert!(spent <= actions * COST, "{label}: over budget: {}", c.text);
    let h = call(&http, &proc.base, "GET", "/_mock/health", None, None, None).await;
    assert_eq!(h.status, 200, "{}", h.text);
    eprintln!(
        "{label}: {} rewards after {ROUNDS} kills, {} triggers, {:.1} s",
        list.len(),
        sent.len(),
        started.elapsed().as_secs_f64()
    );
    proc.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_killed_and_restarted_keeps_every_answered_reward() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = format!("sqlite:{}", dir.path().join("crash.db").display());
    // SQLite answers a few hundred triggers a second here.
    crash_and_restart(&store, "sqlite", 600).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_killed_and_restarted_keeps_every_answered_reward() {
    let Some(admin) = postgres_or_skip("postgres_killed_and_restarted_keeps_every_answered_reward")
    else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    // PostgreSQL, committing each trigger, fewer.
    crash_and_restart(&db.url, "postgres", 150).await;
}

/// Polls `sql` (one count) on `db` until `done` says yes; panics after 20 s.
async fn wait_for_count(db: &tokio_postgres::Client, sql: &str, done: impl Fn(i64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: i64 = db.query_one(sql, &[]).await.expect(sql).get(0);
        if done(n) {
            return;
        }
        assert!(Instant::now() < deadline, "still {n} after 20 s: {sql}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_held_by_a_killed_instance_is_free_at_once_on_another() {
    let Some(admin) = postgres_or_skip("a_key_held_by_a_killed_instance_is_free_at_once") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let bin = tokio::task::spawn_blocking(mock_binary)
        .await
        .expect("the mock binary");
    let http = http_client(Duration::from_secs(20));
    let mut a = start(&bin, &db.url).await;
    let b = start(&bin, &db.url).await;
    let now = server_now(&http, &a.base, KEY).await;
    let camp = launch_campaign(
        &http,
        &a.base,
        KEY,
        "held",
        &campaign_body(now, 10 * COST, COST),
    )
    .await;
    // This database's advisory locks (the server may serve other tests at the same time).
    let advisory = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    let sql = moments_e2e::store::connect(&db.url).await;
    wait_for_count(&sql, advisory, |n| n == 0).await;

    // The sandbox's row lock taken here: a write on either instance waits for it.
    sql.batch_execute("BEGIN; SELECT head FROM sandbox WHERE tenant = 'default' FOR UPDATE")
        .await
        .expect("the sandbox's lock");
    let body = trigger_body(&camp, "m1", "held-key");
    let on_a = {
        let (http, base, body) = (http.clone(), a.base.clone(), body.clone());
        tokio::spawn(async move {
            try_call(
                &http,
                &base,
                "POST",
                "/v1/triggers",
                Some(KEY),
                Some("held-key"),
                Some(&body),
            )
            .await
        })
    };
    let to_b = || {
        call(
            &http,
            &b.base,
            "POST",
            "/v1/triggers",
            Some(KEY),
            Some("held-key"),
            Some(&body),
        )
    };
    // A holds the key (and waits for the sandbox): B says so.
    wait_for_count(&sql, advisory, |n| n == 1).await;
    let busy = to_b().await;
    assert_eq!(
        (busy.status, busy.code()),
        (409, "idempotency_in_progress"),
        "{}",
        busy.text
    );

    // A dies holding it, before committing anything: its lock goes with its session.
    a.kill();
    assert!(
        on_a.await.expect("the task").is_err(),
        "A answered before it was killed"
    );
    wait_for_count(&sql, advisory, |n| n == 0).await;
    sql.batch_execute("ROLLBACK").await.expect("rollback");

    // B takes the key at once (not after an abandonment delay) and answers it once.
    let first = to_b().await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = to_b().await;
    assert_eq!((again.status, &again.text), (200, &first.text), "replayed");
    let mine: Vec<Value> = all_rewards(&http, &b.base, KEY, &camp)
        .await
        .into_iter()
        .filter(|r| r["customer_id"] == "held-key")
        .collect();
    assert_eq!(mine.len(), 1, "one reward for the key: {mine:#?}");
    assert_eq!(mine[0]["id"], first.body["reward"]["id"]);
    // Every key B held is given back.
    wait_for_count(&sql, advisory, |n| n == 0).await;
}
