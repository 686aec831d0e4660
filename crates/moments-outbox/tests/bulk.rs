//! 1,000 actions reported while the real mock resets every connection, then the network comes
//! back: exactly 1,000 outcomes, and the mock's journal and rewards show no action rewarded twice.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::Events;
use moments_client::MomentsClient;
use moments_mock_server::MockServer;
use moments_outbox::{
    Action, ClientDeliverer, Customer, Device, DeviceType, Outbox, OutboxConfig, OutboxEvent,
    OutboxListener,
};
use serde_json::{Value, json};

const N: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_actions_reported_offline_are_delivered_exactly_once() {
    let server = MockServer::start().await.unwrap();
    let base = server.base_url();
    let demo = server.demo().clone();
    let http = reqwest::Client::new();
    // Every trigger request has its connection reset, as if the network were gone.
    let r = http
        .post(format!("{base}/_mock/faults"))
        .json(&json!({"route": "POST /v1/triggers", "count": 1_000_000, "action": "reset"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    let client = MomentsClient::builder()
        .base_url(&base)
        .secret_key(&demo.secret_key)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = OutboxConfig::new(dir.path().join("outbox.sqlite"));
    cfg.backoff_base = Duration::from_millis(50);
    cfg.backoff_max = Duration::from_millis(500);
    let events = Events::new();
    let listener: Arc<dyn OutboxListener> = events.clone();
    let outbox = Outbox::open(cfg, Arc::new(ClientDeliverer::new(client)), Some(listener))
        .await
        .unwrap();

    let mut keys = HashSet::new();
    for i in 0..N {
        // One customer, device and IP per action, so no fraud velocity limit is hit.
        let mut device = Device::new(DeviceType::Android);
        device.id = Some(format!("dev_{i}"));
        device.ip = Some(format!("10.1.{}.{}", i / 256, i % 256));
        let a = Action::new(
            demo.campaign_id.clone(),
            "first_workout",
            Customer::new(format!("cust_{i}"), "US"),
            device,
        );
        keys.insert(outbox.enqueue(a).await.unwrap().idempotency_key);
    }
    assert_eq!(keys.len(), N);
    let counts = outbox.flush().await.unwrap();
    assert_eq!(counts.pending(), N as u64);
    assert!(events.all().is_empty(), "nothing delivered while offline");

    // The network comes back.
    http.delete(format!("{base}/_mock/faults"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    outbox.network_available();
    tokio::time::timeout(
        Duration::from_secs(120),
        events.wait_until(|e| e.len() >= N),
    )
    .await
    .expect("all outcomes within 2 minutes");
    outbox.flush().await.unwrap();

    // Exactly one outcome per action.
    let all = events.all();
    assert_eq!(all.len(), N, "no extra outcome");
    let mut outcome_keys = HashSet::new();
    let mut rewarded = 0;
    for e in &all {
        match e {
            OutboxEvent::Delivered {
                idempotency_key,
                delivered,
                ..
            } => {
                outcome_keys.insert(idempotency_key.clone());
                if matches!(delivered.outcome, moments_outbox::Outcome::Reward { .. }) {
                    rewarded += 1;
                }
            }
            OutboxEvent::Failed {
                idempotency_key, ..
            } => {
                outcome_keys.insert(idempotency_key.clone());
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(outcome_keys, keys);
    assert_eq!(outbox.counts().await.unwrap().pending(), 0);

    // The journal: at most one first (non-replayed) 200 per key.
    let journal: Value = http
        .get(format!("{base}/_mock/journal?limit=10000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = journal
        .get("data")
        .or(journal.get("entries"))
        .and_then(Value::as_array)
        .cloned()
        .or_else(|| journal.as_array().cloned())
        .expect("journal entries");
    let mut first_answers: HashMap<String, usize> = HashMap::new();
    for e in &entries {
        if e["method"] == "POST"
            && e["path"] == "/v1/triggers"
            && e["status"] == 200
            && e["replayed"] != true
            && let Some(k) = e["idempotency_key"].as_str()
        {
            *first_answers.entry(k.to_owned()).or_default() += 1;
        }
    }
    assert!(
        first_answers.values().all(|n| *n == 1),
        "a key was processed twice"
    );
    assert_eq!(first_answers.len(), rewarded);

    // The rewards: one per rewarded customer, never two.
    let per_customer =
        common::rewards_per_customer(&http, &base, &demo.campaign_id, &demo.secret_key).await;
    assert!(
        per_customer.values().all(|n| *n == 1),
        "a customer rewarded twice"
    );
    assert_eq!(per_customer.len(), rewarded);
    eprintln!(
        "bulk: {rewarded} rewarded, {} refused for good, {} journal entries",
        N - rewarded,
        entries.len()
    );
    outbox.shutdown().await.unwrap();
    server.shutdown().await;
}
