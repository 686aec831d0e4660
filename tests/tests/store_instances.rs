//! Several instances of the mock on one store: three in-process servers on one fresh PostgreSQL
//! database are one sandbox (a campaign's budget, one redemption per link, idempotency keys, reads
//! after writes, time rules), and a SQLite file serves one instance only.
//!
//! The PostgreSQL tests need `MOMENTS_TEST_POSTGRES` (`cargo xtask postgres` prints it): without
//! it they are skipped, loudly, or fail when `CI` is set. Each makes its own database and drops it.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moments_e2e::mock::{Answer, Mock};
use moments_e2e::store::{
    TestDb, all_rewards, campaign_body, launch_campaign, postgres_or_skip, random_hex, server_now,
    trigger_body,
};
use moments_mock_server::{MockConfig, MockServer, StoreSpec};
use serde_json::{Value, json};

/// One PostgreSQL test at a time: three instances keep up to 3 × 32 connections under load, and
/// the machine has two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The base of the links every instance hands out, as behind one load balancer: the instances'
/// answers are then alike to the byte.
const PUBLIC_URL: &str = "http://moments.test";

/// Three in-process instances on `db`, started one after the other (the first creates the
/// sandbox).
async fn three(db: &TestDb) -> Vec<Mock> {
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(
            Mock::start_with(MockConfig {
                store: StoreSpec::Postgres(db.url.clone()),
                public_url: Some(PUBLIC_URL.into()),
                ..MockConfig::default()
            })
            .await,
        );
    }
    out
}

/// A call to instance `m` with the demo secret key and an explicit idempotency key (each instance's
/// own key counter would collide across instances, which share the keys).
async fn post(m: &Mock, path: &str, idem: &str, body: &Value) -> Answer {
    m.call("POST", path, Some(&m.key), Some(idem), Some(body))
        .await
}

async fn get(m: &Mock, path: &str) -> Answer {
    let a = m.get(path).await;
    assert_eq!(a.status, 200, "GET {path} on {}: {}", m.base, a.text);
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_issue_exactly_the_budget_under_3000_concurrent_triggers() {
    let Some(admin) = postgres_or_skip("three_instances_issue_exactly_the_budget") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let ms = three(&db).await;
    const COST: i64 = 500;
    const ACTIONS: i64 = 20;
    const N: usize = 3000;
    let now = server_now(&ms[0].http, &ms[0].base, &ms[0].key).await;
    let camp = launch_campaign(
        &ms[0].http,
        &ms[0].base,
        &ms[0].key,
        "budget",
        &campaign_body(now, ACTIONS * COST, COST),
    )
    .await;

    // All sent at once, at most IN_FLIGHT at a time per instance: each listener's accept queue
    // holds 128 connections, and thousands of simultaneous connects on two cores overflow it
    // (dropped SYNs, connections timing out), which is the kernel's limit, not the sandbox's.
    const IN_FLIGHT: usize = 100;
    let started = Instant::now();
    let ms = Arc::new(ms);
    let gates: Arc<Vec<tokio::sync::Semaphore>> = Arc::new(
        (0..3)
            .map(|_| tokio::sync::Semaphore::new(IN_FLIGHT))
            .collect(),
    );
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (ms, gates, camp) = (ms.clone(), gates.clone(), camp.clone());
            tokio::spawn(async move {
                let _slot = gates[i % 3].acquire().await.expect("open");
                let m = &ms[i % 3];
                let body = trigger_body(&camp, "m1", &format!("crowd-{i}"));
                post(m, "/v1/triggers", &format!("crowd-{i}"), &body).await
            })
        })
        .collect();
    let mut issued = HashSet::new();
    let mut refused = 0;
    for t in tasks {
        let a = t.await.expect("a trigger task");
        assert!(a.status < 500, "no 5xx: {} {}", a.status, a.text);
        match a.status {
            200 => assert!(
                issued.insert(a.body["reward"]["id"].as_str().expect("id").to_owned()),
                "a reward answered twice: {}",
                a.text
            ),
            422 => {
                assert_eq!(a.code(), "budget_exhausted", "{}", a.text);
                refused += 1;
            }
            s => panic!("unexpected {s}: {}", a.text),
        }
    }
    eprintln!(
        "{N} triggers over three instances in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        issued.len() as i64,
        ACTIONS,
        "exactly budget / cost rewards"
    );
    assert_eq!(refused, N - ACTIONS as usize);

    // Every instance answers alike: the campaign (spent == budget), the reward list (the issued
    // rewards, each once), and the log position they have applied.
    let mut campaigns = Vec::new();
    let mut lists = Vec::new();
    for m in ms.iter() {
        let c = get(m, &format!("/v1/campaigns/{camp}")).await;
        assert_eq!(
            c.body["spend"]["spent"]["amount"],
            ACTIONS * COST,
            "{}",
            c.text
        );
        assert_eq!(c.body["spend"]["remaining"]["amount"], 0, "{}", c.text);
        campaigns.push(c.body);
        let list = all_rewards(&m.http, &m.base, &m.key, &camp).await;
        let ids: HashSet<String> = list
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(ids.len(), list.len(), "no reward listed twice");
        assert_eq!(
            ids, issued,
            "the list holds the issued rewards on {}",
            m.base
        );
        lists.push(list);
    }
    assert!(campaigns.windows(2).all(|w| w[0] == w[1]), "{campaigns:#?}");
    assert!(
        lists.windows(2).all(|w| w[0] == w[1]),
        "the instances' lists differ"
    );
    let mut applied = Vec::new();
    for m in ms.iter() {
        let h = m.call("GET", "/_mock/health", None, None, None).await;
        assert_eq!(h.status, 200, "{}", h.text);
        assert_eq!(h.body["status"], "ok");
        assert_eq!(h.body["store"]["kind"], "postgres");
        assert_eq!(h.body["store"]["reachable"], true);
        assert!(
            h.body["store"]["location"]
                .as_str()
                .is_some_and(|l| l.ends_with(&format!("/{}", db.name))),
            "{}",
            h.text
        );
        applied.push(h.body["store"]["applied"].as_i64().expect("applied"));
    }
    assert!(applied.windows(2).all(|w| w[0] == w[1]), "{applied:?}");
    assert!(
        applied[0] >= N as i64,
        "every trigger is an entry: {applied:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_link_redeemed_on_three_instances_at_once_is_redeemed_once() {
    let Some(admin) = postgres_or_skip("one_link_redeemed_on_three_instances") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let ms = Arc::new(three(&db).await);
    let t = post(
        &ms[0],
        "/v1/triggers",
        "racer",
        &trigger_body(&ms[0].campaign, "first_workout", "racer"),
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let reward = t.body["reward"]["id"].as_str().expect("id").to_owned();
    let token = Mock::link_token(t.body["reward"]["url"].as_str().expect("url"));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (ms, token) = (ms.clone(), token.clone());
            tokio::spawn(async move {
                ms[i % 3]
                    .call(
                        "POST",
                        &format!("/v1/redemptions/{token}"),
                        None,
                        None,
                        Some(&json!({"item_id": "itm_gc_10"})),
                    )
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    let mut refusals = BTreeMap::new();
    for t in tasks {
        let a = t.await.expect("a redemption task");
        if a.status == 200 {
            wins += 1;
        } else {
            assert_eq!(
                a.code(),
                "reward_already_redeemed",
                "{} {}",
                a.status,
                a.text
            );
            *refusals.entry(a.status).or_insert(0) += 1;
        }
    }
    assert_eq!(wins, 1, "exactly one redemption wins");
    assert_eq!(refusals.values().sum::<i32>(), 29);
    assert_eq!(refusals.len(), 1, "one refusal status: {refusals:?}");
    assert!(
        refusals.keys().all(|s| (400..500).contains(s)),
        "{refusals:?}"
    );
    let mut seen = Vec::new();
    for m in ms.iter() {
        let r = get(m, &format!("/v1/rewards/{reward}")).await;
        assert_eq!(r.body["status"], "redeemed", "{}", r.text);
        seen.push(r.body);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_has_one_answer_on_every_instance() {
    let Some(admin) = postgres_or_skip("one_idempotency_key_has_one_answer") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let ms = Arc::new(three(&db).await);
    let key = format!("once-{}", random_hex());
    let body = trigger_body(
        moments_mock_server::DEMO_CAMPAIGN_ID,
        "level_5",
        "keyholder",
    );
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let (ms, key, body) = (ms.clone(), key.clone(), body.clone());
            tokio::spawn(async move { post(&ms[i % 3], "/v1/triggers", &key, &body).await })
        })
        .collect();
    let mut answers = Vec::new();
    let mut in_progress = 0;
    for t in tasks {
        let a = t.await.expect("a trigger task");
        match a.status {
            200 => answers.push(a.text),
            409 => {
                assert_eq!(a.code(), "idempotency_in_progress", "{}", a.text);
                in_progress += 1;
            }
            s => panic!("unexpected {s}: {}", a.text),
        }
    }
    assert!(!answers.is_empty(), "at least one answer");
    // Once answered, every instance replays the answer.
    for m in ms.iter() {
        let a = post(m, "/v1/triggers", &key, &body).await;
        assert_eq!(a.status, 200, "{}", a.text);
        answers.push(a.text);
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "every answer byte-identical: {answers:#?}"
    );
    eprintln!(
        "60 concurrent sends of one key: {} answers, {in_progress} in progress",
        answers.len() - 3
    );
    let first: Value = serde_json::from_str(&answers[0]).expect("JSON");
    let reward = first["reward"]["id"].as_str().expect("id");
    for m in ms.iter() {
        let mine: Vec<Value> = all_rewards(
            &m.http,
            &m.base,
            &m.key,
            moments_mock_server::DEMO_CAMPAIGN_ID,
        )
        .await
        .into_iter()
        .filter(|r| r["customer_id"] == "keyholder")
        .collect();
        assert_eq!(mine.len(), 1, "one reward for the key: {mine:#?}");
        assert_eq!(mine[0]["id"], reward);
    }
    // The same key with another body is a conflict, on every instance.
    let other = trigger_body(
        moments_mock_server::DEMO_CAMPAIGN_ID,
        "level_5",
        "someone-else",
    );
    for m in ms.iter() {
        let a = post(m, "/v1/triggers", &key, &other).await;
        assert_eq!(
            (a.status, a.code()),
            (409, "idempotency_conflict"),
            "{}",
            a.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_on_one_instance_is_read_on_the_others_at_once() {
    let Some(admin) = postgres_or_skip("a_write_on_one_instance_is_read_on_the_others") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let ms = three(&db).await;
    let camp = ms[0].campaign.clone();
    for i in 0..12 {
        let (w, readers) = (i % 3, [(i + 1) % 3, (i + 2) % 3]);
        let t = post(
            &ms[w],
            "/v1/triggers",
            &format!("ryw-{i}"),
            &trigger_body(&camp, "level_5", &format!("ryw-{i}")),
        )
        .await;
        assert_eq!(t.status, 200, "{}", t.text);
        let id = t.body["reward"]["id"].as_str().expect("id");
        let spent =
            get(&ms[w], &format!("/v1/campaigns/{camp}")).await.body["spend"]["spent"].clone();
        let mine = get(&ms[w], &format!("/v1/rewards/{id}")).await.body;
        assert_eq!(mine["id"], t.body["reward"]["id"]);
        assert_eq!(mine["status"], t.body["reward"]["status"]);
        // No wait: the next request, to another instance, sees the write.
        for r in readers {
            let got = ms[r].get(&format!("/v1/rewards/{id}")).await;
            assert_eq!(
                got.status, 200,
                "reward {id} written on instance {w}, read on {r}: {}",
                got.text
            );
            assert_eq!(got.body, mine, "instance {r} answers as instance {w}");
            let c = get(&ms[r], &format!("/v1/campaigns/{camp}")).await;
            assert_eq!(c.body["spend"]["spent"], spent, "the spend on instance {r}");
        }
    }
}

/// Moves instance `m`'s clock (the control API of a shared sandbox asks for a secret key).
async fn advance(m: &Mock, seconds: i64) -> Answer {
    m.call(
        "POST",
        "/_mock/clock/advance",
        Some(&m.key),
        None,
        Some(&json!({ "seconds": seconds })),
    )
    .await
}

/// A webhook receiver counting the events it gets, by type.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let g = g.clone();
            async move {
                g.lock()
                    .unwrap()
                    .push(serde_json::from_str(&body).unwrap_or(Value::Null));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn expired_events(got: &Arc<Mutex<Vec<Value>>>) -> Vec<Value> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "reward.expired")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn time_rules_run_once_whichever_instance_moves_the_clock() {
    let Some(admin) = postgres_or_skip("time_rules_run_once") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let ms = three(&db).await;
    let (a, b, c) = (&ms[0], &ms[1], &ms[2]);
    let (hook, got) = webhook_receiver().await;
    let ep = post(
        a,
        "/v1/webhook_endpoints",
        "hook",
        &json!({"url": hook, "events": ["reward.expired"]}),
    )
    .await;
    assert_eq!(ep.status, 201, "{}", ep.text);
    let now = server_now(&a.http, &a.base, &a.key).await;
    let mut body = campaign_body(now, 50_000, 500);
    body["reward_expiry_seconds"] = json!(3600);
    let camp = launch_campaign(&a.http, &a.base, &a.key, "expiry", &body).await;
    let t = post(
        a,
        "/v1/triggers",
        "expiring",
        &trigger_body(&camp, "m1", "expiring"),
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let reward = t.body["reward"]["id"].as_str().expect("id").to_owned();
    let before = server_now(&b.http, &b.base, &b.key).await;

    let adv = advance(a, 3700).await;
    assert_eq!(adv.status, 200, "{}", adv.text);
    for m in [b, c] {
        assert!(
            server_now(&m.http, &m.base, &m.key).await >= before + chrono::Duration::seconds(3700),
            "the clock moved on {}",
            m.base
        );
        let r = get(m, &format!("/v1/rewards/{reward}")).await;
        assert_eq!(r.body["status"], "expired", "{}", r.text);
    }
    // The other instances' own ticks, and clock moves of zero on them, find nothing more to do.
    for m in [b, c] {
        let adv = advance(m, 0).await;
        assert_eq!(adv.status, 200, "{}", adv.text);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while expired_events(&got).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few ticks of every instance (every 500 ms) for a second send to show up, if any would.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = expired_events(&got);
    assert_eq!(events.len(), 1, "one reward.expired sent: {events:#?}");
    assert_eq!(events[0]["data"]["object"]["id"], reward.as_str());

    let mut seen = Vec::new();
    for m in [a, b, c] {
        let camp_now = get(m, &format!("/v1/campaigns/{camp}")).await;
        assert_eq!(
            camp_now.body["spend"]["refunded"]["amount"], 500,
            "refunded once: {}",
            camp_now.text
        );
        assert_eq!(camp_now.body["spend"]["spent"]["amount"], 0);
        let rep = get(m, &format!("/v1/reports?campaign_id={camp}&group_by=day")).await;
        let totals = &rep.body["totals"];
        assert_eq!(totals["rewards_expired"], 1, "{}", rep.text);
        assert_eq!(totals["refunds"]["amount"], 500, "{}", rep.text);
        let d = m
            .call(
                "GET",
                "/_mock/webhooks/deliveries?event_type=reward.expired",
                Some(&m.key),
                None,
                None,
            )
            .await;
        assert_eq!(d.status, 200, "{}", d.text);
        let ds = d.body["data"].as_array().expect("data");
        assert_eq!(
            ds.len(),
            1,
            "one delivery recorded on {}: {}",
            m.base,
            d.text
        );
        assert_eq!(ds[0]["succeeded"], true, "{}", d.text);
        seen.push((camp_now.body, rep.body["totals"].clone(), ds[0].clone()));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:#?}");
}

#[tokio::test]
async fn a_second_instance_on_a_sqlite_file_does_not_start() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("one.db");
    let config = MockConfig {
        store: StoreSpec::Sqlite(path.clone()),
        ..MockConfig::default()
    };
    let first = MockServer::start_with(config.clone())
        .await
        .expect("the first instance starts");
    let second = MockServer::start_with(config).await;
    let e = match second {
        Ok(_) => panic!("a second instance started on {}", path.display()),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains(&path.display().to_string()),
        "the error names the file: {e}"
    );
    assert!(e.contains("serves one instance"), "{e}");
    // The first one is unharmed.
    let h = reqwest::get(format!("{}/_mock/health", first.base_url()))
        .await
        .expect("an answer");
    assert_eq!(h.status(), 200);
    let h: Value = h.json().await.expect("JSON");
    assert_eq!(h["store"]["kind"], "sqlite");
    assert_eq!(h["store"]["reachable"], true);
    first.shutdown().await;
}

/// A trigger of the demo campaign by customer `key`, with `key` as its idempotency key.
async fn demo_trigger(m: &Mock, key: &str) -> Answer {
    let body = trigger_body(moments_mock_server::DEMO_CAMPAIGN_ID, "level_5", key);
    post(m, "/v1/triggers", key, &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reset_on_one_instance_forgets_the_keys_on_the_others_at_once() {
    let Some(admin) = postgres_or_skip("a_reset_on_one_instance_forgets_the_keys") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(&admin).await;
    let ms = three(&db).await;
    let (a, b) = (&ms[0], &ms[1]);
    let campaign = moments_mock_server::DEMO_CAMPAIGN_ID;
    let before = format!("kept-{}", random_hex());
    let fresh = format!("fresh-{}", random_hex());
    let old = demo_trigger(a, &before).await;
    assert_eq!(old.status, 200, "{}", old.text);
    // B has seen the answer (and so the sandbox before the reset).
    let seen = demo_trigger(b, &before).await;
    assert_eq!(seen.text, old.text, "replayed on B");

    let reset = a
        .call("POST", "/_mock/reset", Some(&a.key), None, None)
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);

    // At once on B, which has not read since: the key answered before the reset runs again, as
    // in one process (a reset forgets every key), rather than replaying a reward the reset removed.
    let again = demo_trigger(b, &before).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_ne!(
        again.body["reward"]["id"], old.body["reward"]["id"],
        "a new reward after the reset: {}",
        again.text
    );
    // A key first sent to B just after the reset is answered once, under the sandbox after it:
    // A, which made the reset, replays B's answer.
    let on_b = demo_trigger(b, &fresh).await;
    assert_eq!(on_b.status, 200, "{}", on_b.text);
    let on_a = demo_trigger(a, &fresh).await;
    assert_eq!(on_a.text, on_b.text, "replayed on A");
    let on_a = demo_trigger(a, &before).await;
    assert_eq!(on_a.text, again.text, "the post-reset answer replayed on A");
    for m in &ms {
        let rewards = all_rewards(&m.http, &m.base, &m.key, campaign).await;
        for customer in [&before, &fresh] {
            let mine: Vec<&Value> = rewards
                .iter()
                .filter(|r| r["customer_id"] == customer.as_str())
                .collect();
            assert_eq!(
                mine.len(),
                1,
                "{customer}: one reward after the reset: {mine:#?}"
            );
        }
    }
}
