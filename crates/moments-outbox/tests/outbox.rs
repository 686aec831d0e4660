//! Behaviour of the outbox against a fake deliverer.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use common::{Events, Fake, action, delivered, offline};
use moments_outbox::{
    ActionStatus, DeliveryResult, DropReason, FullPolicy, Outbox, OutboxConfig, OutboxError,
    OutboxEvent, OutboxListener, PermanentError,
};
use rusqlite::Connection;

fn config(dir: &tempfile::TempDir) -> OutboxConfig {
    OutboxConfig::new(dir.path().join("outbox.sqlite"))
}

async fn open(cfg: OutboxConfig, fake: &Arc<Fake>, events: &Arc<Events>) -> Outbox {
    let listener: Arc<dyn OutboxListener> = events.clone();
    Outbox::open(cfg, fake.clone(), Some(listener))
        .await
        .expect("open")
}

fn rows(cfg: &OutboxConfig) -> Vec<(String, String, u32)> {
    let c = Connection::open(&cfg.path).unwrap();
    let mut s = c
        .prepare("SELECT idempotency_key, state, attempts FROM actions ORDER BY seq")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn enqueue_is_on_disk_before_the_first_attempt_and_returns_queued_offline() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let path = cfg.path.clone();
    let seen_on_disk = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = seen_on_disk.clone();
    // Offline: every attempt fails; each attempt first looks for its row with its own connection.
    let fake = Fake::new(move |a| {
        let c = Connection::open(&path).unwrap();
        let n: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM actions WHERE idempotency_key = ?1",
                [&a.idempotency_key],
                |r| r.get(0),
            )
            .unwrap();
        seen.lock().unwrap().push(n);
        offline()
    });
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;

    let q = outbox.enqueue(action("cust_1", "m1")).await.unwrap();
    assert!(moments_idempotency::is_valid_key(&q.idempotency_key));
    assert_eq!(q.idempotency_key.len(), 36, "a UUID: {}", q.idempotency_key);
    assert!(!q.duplicate);
    let counts = outbox.flush().await.unwrap();
    assert_eq!(counts.queued, 1);
    assert_eq!(counts.pending(), 1);
    // Every attempt (the background one after enqueue, and the flush's) found the row on disk.
    let seen = seen_on_disk.lock().unwrap().clone();
    assert!(!seen.is_empty() && seen.iter().all(|n| *n == 1), "{seen:?}");
    // The body sent is the stored one, with the device time stamped at enqueue.
    let body: serde_json::Value = serde_json::from_str(&fake.calls()[0].body).unwrap();
    assert_eq!(body["customer"]["id"], "cust_1");
    assert!(body["occurred_at"].as_str().unwrap().ends_with('Z'));
    assert!(body.get("sent_at").is_none());
    assert!(events.all().is_empty());
}

#[tokio::test]
async fn rows_survive_a_restart_and_are_sent_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let offline_fake = Fake::new(|_| offline());
    let events = Events::new();
    let outbox = open(cfg.clone(), &offline_fake, &events).await;
    let mut keys = Vec::new();
    for i in 0..3 {
        keys.push(
            outbox
                .enqueue(action(&format!("cust_{i}"), "m"))
                .await
                .unwrap()
                .idempotency_key,
        );
    }
    outbox.flush().await.unwrap();
    // Per key: the body sent and the attempts made before the restart.
    let before: std::collections::BTreeMap<String, (String, u32)> = offline_fake
        .calls()
        .into_iter()
        .map(|c| (c.key, (c.body, c.attempt)))
        .collect();
    assert_eq!(before.len(), 3);
    outbox.shutdown().await.unwrap();
    drop(outbox);

    let fake = Fake::ok();
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    outbox.flush().await.unwrap();
    let mut delivered = events.delivered_keys();
    delivered.sort();
    keys.sort();
    assert_eq!(delivered, keys);
    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    for c in calls {
        let (body, attempts) = &before[&c.key];
        assert_eq!(c.attempt, attempts + 1, "attempt count persisted");
        // Byte-identical body on the retry: the server's idempotency replay will match.
        assert_eq!(&c.body, body);
    }
    assert_eq!(outbox.counts().await.unwrap().pending(), 0);
    // Delivered and told: each row stays only as the memory of its key.
    assert!(
        rows(&cfg)
            .iter()
            .all(|(_, state, _)| state == "delivered_notified")
    );
}

#[tokio::test]
async fn an_attempt_cut_by_a_kill_is_resent_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    // The first process dies mid-request: the deliverer never answers.
    struct Hang;
    #[async_trait::async_trait]
    impl moments_outbox::Deliverer for Hang {
        async fn deliver(&self, _: &moments_outbox::QueuedAction) -> DeliveryResult {
            std::future::pending().await
        }
    }
    let outbox = Outbox::open(cfg.clone(), Arc::new(Hang), None)
        .await
        .unwrap();
    let key = outbox
        .enqueue(action("cust_1", "m"))
        .await
        .unwrap()
        .idempotency_key;
    // Wait until the row is in flight, then "kill" (drop without shutdown).
    while outbox.counts().await.unwrap().inflight == 0 {
        tokio::task::yield_now().await;
    }
    drop(outbox);
    assert_eq!(rows(&cfg), vec![(key.clone(), "inflight".into(), 1)]);

    let fake = Fake::ok();
    let events = Events::new();
    let outbox = open(cfg, &fake, &events).await;
    outbox.flush().await.unwrap();
    assert_eq!(events.delivered_keys(), vec![key.clone()]);
    assert_eq!(fake.calls()[0].key, key);
    assert_eq!(fake.calls()[0].attempt, 2);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_backoff_grows() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.backoff_base = Duration::from_secs(2);
    let n = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let n2 = n.clone();
    let fake = Fake::new(move |a| match n2.fetch_add(1, Ordering::SeqCst) {
        0 => DeliveryResult::Retry {
            after: Some(Duration::from_secs(30)),
            error: "429 rate_limited".into(),
        },
        1..=3 => offline(),
        _ => delivered(&a.idempotency_key),
    });
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    let key = outbox
        .enqueue(action("cust_1", "m"))
        .await
        .unwrap()
        .idempotency_key;
    // After the 429, a flush does not jump the server's Retry-After.
    let counts = outbox.flush().await.unwrap();
    assert_eq!(counts.queued, 1);
    assert_eq!(fake.call_count(), 1);

    events.wait_until(|e| !e.is_empty()).await;
    assert_eq!(events.delivered_keys(), vec![key]);
    let at: Vec<_> = fake.calls().iter().map(|c| c.at).collect();
    assert_eq!(at.len(), 5);
    assert!(at[1] - at[0] >= Duration::from_secs(30));
    // After failed attempt n the delay is in [d/2, d] for d = base * 2^(n-1): 4 s, 8 s, 16 s.
    for (i, d) in [4u64, 8, 16].into_iter().enumerate() {
        let gap = at[i + 2] - at[i + 1];
        assert!(
            gap >= Duration::from_secs(d) / 2
                && gap <= Duration::from_secs(d) + Duration::from_millis(5),
            "gap {i}: {gap:?}"
        );
    }
    let attempts: Vec<u32> = fake.calls().iter().map(|c| c.attempt).collect();
    assert_eq!(attempts, vec![1, 2, 3, 4, 5]);
}

#[tokio::test(start_paused = true)]
async fn retry_state_is_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let fake = Fake::new(|_| DeliveryResult::Retry {
        after: Some(Duration::from_secs(600)),
        error: "503 service_unavailable".into(),
    });
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    outbox.enqueue(action("cust_1", "m")).await.unwrap();
    outbox.flush().await.unwrap();
    outbox.shutdown().await.unwrap();
    drop(outbox);
    let c = Connection::open(&cfg.path).unwrap();
    let (state, attempts, err, next, created, sent): (String, u32, String, i64, i64, Option<i64>) =
        c.query_row(
            "SELECT state, attempts, last_error, next_attempt_at_ms, created_at_ms, sent_at_ms
             FROM actions",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(state, "queued");
    assert_eq!(attempts, 1);
    assert_eq!(err, "503 service_unavailable");
    assert!(next - created >= 600_000);
    assert!(sent.is_some());
    drop(c);
    // Reopened, the floor still holds: a flush makes no attempt.
    let fake = Fake::ok();
    let outbox = open(cfg, &fake, &events).await;
    assert_eq!(outbox.flush().await.unwrap().queued, 1);
    assert_eq!(fake.call_count(), 0);
}

#[tokio::test]
async fn a_permanent_refusal_moves_to_failed_and_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let refusal = PermanentError {
        status: Some(422),
        code: "frequency_cap_reached".into(),
        message: "already rewarded".into(),
        request_id: Some("req_1".into()),
    };
    let r2 = refusal.clone();
    let fake = Fake::new(move |_| DeliveryResult::Permanent(r2.clone()));
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    let key = outbox
        .enqueue(action("cust_1", "m"))
        .await
        .unwrap()
        .idempotency_key;
    let counts = outbox.flush().await.unwrap();
    assert_eq!((counts.failed, counts.pending()), (1, 0));
    outbox.flush().await.unwrap();
    outbox.network_available();
    outbox.flush().await.unwrap();
    assert_eq!(fake.call_count(), 1, "never retried");
    let failed = outbox.failed().await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].idempotency_key, key);
    assert_eq!(failed[0].error, refusal);
    assert_eq!(
        outbox.lookup(&key).await.unwrap(),
        ActionStatus::Failed(refusal.clone())
    );
    outbox.shutdown().await.unwrap();
    drop(outbox);

    // Not reported again after a restart, still visible, and dismissable.
    let outbox = open(cfg, &fake, &events).await;
    outbox.flush().await.unwrap();
    let reported: Vec<_> = events
        .all()
        .into_iter()
        .filter(|e| matches!(e, OutboxEvent::Failed { .. }))
        .collect();
    assert_eq!(
        reported,
        vec![OutboxEvent::Failed {
            idempotency_key: key.clone(),
            customer_id: "cust_1".into(),
            error: refusal.clone()
        }]
    );
    assert_eq!(fake.call_count(), 1);
    assert!(outbox.dismiss_failed(&key).await.unwrap());
    assert!(!outbox.dismiss_failed(&key).await.unwrap());
    assert_eq!(outbox.counts().await.unwrap().failed, 0);
    assert!(outbox.failed().await.unwrap().is_empty());
    // Dismissed from the list, still known by key.
    assert_eq!(
        outbox.lookup(&key).await.unwrap(),
        ActionStatus::Failed(refusal)
    );
}

#[tokio::test]
async fn unauthorized_refreshes_once_then_pauses_without_dropping() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let fake = Fake::new(|_| DeliveryResult::Unauthorized {
        code: "token_expired".into(),
    });
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    let k1 = outbox.enqueue(action("cust_1", "a")).await.unwrap();
    let k2 = outbox.enqueue(action("cust_1", "b")).await.unwrap();
    let counts = outbox.flush().await.unwrap();
    assert_eq!(counts.queued, 2);
    assert!(outbox.is_paused());
    assert_eq!(
        fake.call_count(),
        2,
        "one attempt and one retry after refresh"
    );
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(
        events.all(),
        vec![OutboxEvent::Paused {
            code: "token_expired".into()
        }]
    );
    // Paused: nothing is attempted, even on network return.
    outbox.network_available();
    outbox.flush().await.unwrap();
    assert_eq!(fake.call_count(), 2);
    // The unauthorized attempts are not counted against the action.
    assert_eq!(rows(&cfg)[0].2, 0);

    fake.set(|a| delivered(&a.idempotency_key));
    outbox.resume_delivery();
    outbox.flush().await.unwrap();
    assert_eq!(
        events.delivered_keys(),
        vec![k1.idempotency_key, k2.idempotency_key]
    );
}

#[tokio::test]
async fn full_outbox_rejects_new_actions_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.max_rows = 3;
    let fake = Fake::new(|_| offline());
    let events = Events::new();
    let outbox = open(cfg, &fake, &events).await;
    for i in 0..3 {
        outbox.enqueue(action("c", &format!("m{i}"))).await.unwrap();
    }
    let err = outbox.enqueue(action("c", "m3")).await.unwrap_err();
    assert!(matches!(err, OutboxError::Full { max_rows: 3 }), "{err}");
    assert_eq!(outbox.counts().await.unwrap().pending(), 3);
    assert!(events.all().is_empty());
}

#[tokio::test]
async fn the_cap_counts_only_undelivered_actions() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.max_rows = 2;
    let fake = Fake::ok();
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    for i in 0..2 {
        outbox.enqueue(action("c", &format!("d{i}"))).await.unwrap();
    }
    outbox.flush().await.unwrap();
    assert_eq!(events.delivered_keys().len(), 2);
    // Delivered actions leave room: two more fit while delivery is suspended, a third does not.
    outbox.suspend().await.unwrap();
    for i in 0..2 {
        outbox.enqueue(action("c", &format!("q{i}"))).await.unwrap();
    }
    let err = outbox.enqueue(action("c", "q2")).await.unwrap_err();
    assert!(matches!(err, OutboxError::Full { max_rows: 2 }), "{err}");
    // The count the cap reads (kept by triggers) is the count of undelivered rows.
    let c = Connection::open(&cfg.path).unwrap();
    let kept: i64 = c
        .query_row("SELECT n FROM live_count", [], |r| r.get(0))
        .unwrap();
    let counted: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM actions WHERE state IN ('queued', 'inflight')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!((kept, counted), (2, 2));
}

#[tokio::test]
async fn drop_oldest_policy_evicts_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.max_rows = 2;
    cfg.full_policy = FullPolicy::DropOldest;
    let fake = Fake::new(|_| offline());
    let events = Events::new();
    let outbox = open(cfg, &fake, &events).await;
    // No delivery meanwhile: nothing is in flight, so the oldest is the one evicted.
    outbox.suspend().await.unwrap();
    let first = outbox.enqueue(action("c", "m0")).await.unwrap();
    outbox.enqueue(action("c", "m1")).await.unwrap();
    outbox.enqueue(action("c", "m2")).await.unwrap();
    assert_eq!(
        events.all(),
        vec![OutboxEvent::Dropped {
            idempotency_key: first.idempotency_key,
            customer_id: "c".into(),
            reason: DropReason::Evicted
        }]
    );
    assert_eq!(outbox.counts().await.unwrap().pending(), 2);
}

#[tokio::test]
async fn oversize_and_malformed_actions_are_refused_at_enqueue() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.max_payload_bytes = 512;
    let fake = Fake::ok();
    let events = Events::new();
    let outbox = open(cfg, &fake, &events).await;
    let mut big = action("c", "m");
    big.reward_group_id = Some("x".repeat(600));
    let err = outbox.enqueue(big).await.unwrap_err();
    assert!(
        matches!(err, OutboxError::PayloadTooLarge { max: 512, size } if size > 600),
        "{err}"
    );
    assert!(matches!(
        outbox.enqueue(action("bad id!", "m")).await.unwrap_err(),
        OutboxError::InvalidAction(_)
    ));
    assert!(matches!(
        outbox
            .enqueue_with_key(action("c", "m"), "tab\there".into())
            .await
            .unwrap_err(),
        OutboxError::InvalidIdempotencyKey
    ));
    assert_eq!(outbox.counts().await.unwrap().pending(), 0);
}

#[tokio::test]
async fn app_keys_are_used_and_a_repeat_while_queued_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let fake = Fake::new(|_| offline());
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    // Suspended before the delivery task first runs: the action stays queued with no attempt.
    outbox.suspend().await.unwrap();
    let a = action("c", "m");
    let q = outbox
        .enqueue_with_key(a.clone(), "app-key-1".into())
        .await
        .unwrap();
    assert_eq!(q.idempotency_key, "app-key-1");
    assert!(!q.duplicate);
    assert_eq!(
        q.status,
        ActionStatus::Queued {
            attempts: 0,
            last_error: None
        }
    );
    let body = fake_body(&outbox).await;
    // The app's retry of its own enqueue: the device time unset (the outbox would stamp a later
    // one), or set by the app to a later time. Both are the same action; the first time stays.
    let mut later = a.clone();
    later.occurred_at = Some(SystemTime::now() + Duration::from_secs(3600));
    for again in [a.clone(), later] {
        let q = outbox
            .enqueue_with_key(again, "app-key-1".into())
            .await
            .unwrap();
        assert!(q.duplicate);
        assert_eq!(
            q.status,
            ActionStatus::Queued {
                attempts: 0,
                last_error: None
            }
        );
    }
    assert_eq!(fake_body(&outbox).await, body);
    let other = action("c", "other");
    assert!(matches!(
        outbox
            .enqueue_with_key(other, "app-key-1".into())
            .await
            .unwrap_err(),
        OutboxError::DuplicateKey
    ));
    assert_eq!(outbox.counts().await.unwrap().pending(), 1);
    assert_eq!(rows(&cfg).len(), 1);
}

/// The reward the fake deliverer gives `key`.
fn reward_for(key: &str) -> moments_outbox::Delivered {
    match delivered(key) {
        DeliveryResult::Delivered(d) => d,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_repeat_of_a_delivered_key_is_a_no_op_reporting_the_first_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let fake = Fake::ok();
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    let a = action("c", "m");
    outbox
        .enqueue_with_key(a.clone(), "app-key-1".into())
        .await
        .unwrap();
    outbox.flush().await.unwrap();
    assert_eq!(events.delivered_keys(), vec!["app-key-1"]);
    let sent = fake.calls()[0].body.clone();
    let reward = reward_for("app-key-1");

    // The app was killed after its enqueue and enqueues again, with the device time unset, or
    // set to a later time: a no-op that reports the first outcome, not a new row.
    let mut later = a.clone();
    later.occurred_at = Some(SystemTime::now() + Duration::from_secs(3600));
    for again in [a.clone(), later] {
        let q = outbox
            .enqueue_with_key(again, "app-key-1".into())
            .await
            .unwrap();
        assert!(q.duplicate);
        assert_eq!(q.status, ActionStatus::Delivered(reward.clone()));
    }
    outbox.flush().await.unwrap();
    assert_eq!(fake.call_count(), 1, "not sent again");
    assert_eq!(
        events.delivered_keys(),
        vec!["app-key-1"],
        "not reported again"
    );

    // Remembered across a restart, with the body (and device time) of the first enqueue.
    outbox.shutdown().await.unwrap();
    drop(outbox);
    let outbox = open(cfg.clone(), &fake, &events).await;
    assert_eq!(
        outbox.lookup("app-key-1").await.unwrap(),
        ActionStatus::Delivered(reward.clone())
    );
    assert!(
        outbox
            .enqueue_with_key(a.clone(), "app-key-1".into())
            .await
            .unwrap()
            .duplicate
    );
    assert_eq!(fake_body(&outbox).await, sent);

    // Another action under the delivered key is refused at enqueue; nothing is written.
    let mut other_customer = a.clone();
    other_customer.customer.id = "d".into();
    for other in [action("c", "other"), other_customer] {
        let err = outbox
            .enqueue_with_key(other, "app-key-1".into())
            .await
            .unwrap_err();
        assert!(matches!(err, OutboxError::DuplicateKey), "{err}");
    }
    outbox.flush().await.unwrap();
    assert_eq!(fake.call_count(), 1);
    assert_eq!(rows(&cfg).len(), 1);
    assert_eq!(events.delivered_keys(), vec!["app-key-1"]);
}

/// Delivers only once `open` is set; until then every attempt waits.
struct Gated {
    open: tokio::sync::watch::Sender<bool>,
}

#[async_trait::async_trait]
impl moments_outbox::Deliverer for Gated {
    async fn deliver(&self, a: &moments_outbox::QueuedAction) -> DeliveryResult {
        let mut rx = self.open.subscribe();
        let _ = rx.wait_for(|open| *open).await;
        delivered(&a.idempotency_key)
    }
}

#[tokio::test]
async fn lookup_tells_unknown_queued_in_flight_and_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let gate = Arc::new(Gated {
        open: tokio::sync::watch::channel(false).0,
    });
    let outbox = Outbox::open(cfg.clone(), gate.clone(), None).await.unwrap();
    // Suspended before the delivery task first runs: nothing is attempted until `resume`, and
    // lookup works meanwhile (it opens the file and closes it).
    outbox.suspend().await.unwrap();
    assert_eq!(
        outbox.lookup("never-enqueued").await.unwrap(),
        ActionStatus::Unknown
    );
    for bad in ["", "tab\there", &"k".repeat(256)] {
        assert!(matches!(
            outbox.lookup(bad).await.unwrap_err(),
            OutboxError::InvalidIdempotencyKey
        ));
    }
    outbox
        .enqueue_with_key(action("c", "m"), "k-1".into())
        .await
        .unwrap();
    assert_eq!(
        outbox.lookup("k-1").await.unwrap(),
        ActionStatus::Queued {
            attempts: 0,
            last_error: None
        }
    );
    outbox.resume().await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        while outbox.lookup("k-1").await.unwrap() != (ActionStatus::InFlight { attempt: 1 }) {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the attempt starts within 30 s");
    gate.open.send_replace(true);
    outbox.flush().await.unwrap();
    assert_eq!(
        outbox.lookup("k-1").await.unwrap(),
        ActionStatus::Delivered(reward_for("k-1"))
    );
}

#[tokio::test]
async fn lookup_of_a_retried_action_gives_its_attempts_and_last_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    // No retry on its own: only the attempts made by enqueue and flush.
    cfg.backoff_base = Duration::from_secs(3600);
    let fake = Fake::new(|_| offline());
    let events = Events::new();
    let outbox = open(cfg, &fake, &events).await;
    outbox
        .enqueue_with_key(action("c", "m"), "k-1".into())
        .await
        .unwrap();
    outbox.flush().await.unwrap();
    assert_eq!(
        outbox.lookup("k-1").await.unwrap(),
        ActionStatus::Queued {
            attempts: fake.call_count() as u32,
            last_error: Some("connection refused".into())
        }
    );
    assert!(fake.call_count() >= 1);
}

#[tokio::test(start_paused = true)]
async fn answered_keys_are_kept_for_the_key_retention_then_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    assert_eq!(cfg.key_retention, Duration::from_secs(48 * 3600));
    let refusal = PermanentError {
        status: Some(422),
        code: "budget_exhausted".into(),
        message: "no budget left".into(),
        request_id: None,
    };
    let r2 = refusal.clone();
    let fake = Fake::new(move |a| {
        if a.idempotency_key == "refused" {
            DeliveryResult::Permanent(r2.clone())
        } else {
            delivered(&a.idempotency_key)
        }
    });
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    for (key, moment) in [("rewarded", "m1"), ("refused", "m2"), ("kept", "m3")] {
        outbox
            .enqueue_with_key(action("c", moment), key.into())
            .await
            .unwrap();
    }
    outbox.flush().await.unwrap();
    // A dismissed failure and a refused one still listed are remembered alike.
    assert!(outbox.dismiss_failed("refused").await.unwrap());
    let known = [
        ("rewarded", ActionStatus::Delivered(reward_for("rewarded"))),
        ("refused", ActionStatus::Failed(refusal)),
        ("kept", ActionStatus::Delivered(reward_for("kept"))),
    ];

    // Just before the retention ends (each pass prunes what is past it), all are known.
    tokio::time::advance(cfg.key_retention - Duration::from_secs(600)).await;
    outbox.flush().await.unwrap();
    for (key, status) in &known {
        assert_eq!(&outbox.lookup(key).await.unwrap(), status, "{key}");
    }
    assert!(
        outbox
            .enqueue_with_key(action("c", "m1"), "rewarded".into())
            .await
            .unwrap()
            .duplicate
    );

    // Just after, they are forgotten: the rows are gone and the key is new again.
    tokio::time::advance(Duration::from_secs(1200)).await;
    outbox.flush().await.unwrap();
    for (key, _) in &known {
        assert_eq!(
            outbox.lookup(key).await.unwrap(),
            ActionStatus::Unknown,
            "{key}"
        );
    }
    assert!(rows(&cfg).is_empty());
    let again = outbox
        .enqueue_with_key(action("c", "m1"), "rewarded".into())
        .await
        .unwrap();
    assert!(!again.duplicate);
    outbox.flush().await.unwrap();
    assert_eq!(fake.call_count(), 4);
}

#[tokio::test]
async fn a_key_retention_shorter_than_the_servers_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.key_retention = moments_outbox::MIN_KEY_RETENTION - Duration::from_secs(1);
    let err = Outbox::open(cfg.clone(), Fake::ok(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OutboxError::InvalidConfig(m) if m.contains("key_retention")),
        "{err}"
    );
    assert!(!cfg.path.exists(), "nothing created");
    cfg.key_retention = moments_outbox::MIN_KEY_RETENTION;
    Outbox::open(cfg, Fake::ok(), None).await.unwrap();
}

async fn fake_body(outbox: &Outbox) -> String {
    let c = Connection::open(outbox.path()).unwrap();
    c.query_row("SELECT payload FROM actions", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn actions_older_than_max_age_are_dropped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir);
    cfg.max_age = Duration::from_secs(3600);
    let fake = Fake::new(|_| offline());
    let events = Events::new();
    let outbox = open(cfg, &fake, &events).await;
    let q = outbox.enqueue(action("c", "m")).await.unwrap();
    events
        .wait_until(|e| matches!(e, [OutboxEvent::Dropped { .. }]))
        .await;
    assert_eq!(
        events.all(),
        vec![OutboxEvent::Dropped {
            idempotency_key: q.idempotency_key,
            customer_id: "c".into(),
            reason: DropReason::Expired
        }]
    );
    assert_eq!(outbox.counts().await.unwrap().pending(), 0);
    assert!(fake.call_count() > 5, "retried until it expired");
}

#[tokio::test]
async fn a_corrupt_file_is_moved_aside_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let garbage = b"this is not a database, it is a file a crash left behind.".repeat(100);
    std::fs::write(&cfg.path, &garbage).unwrap();
    let fake = Fake::ok();
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    let moved_to = match events.all().as_slice() {
        [OutboxEvent::DatabaseRecovered { moved_to, .. }] => moved_to.clone(),
        other => panic!("{other:?}"),
    };
    let name = moved_to.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("outbox.sqlite.corrupt-"), "{name}");
    assert_eq!(std::fs::read(&moved_to).unwrap(), garbage);
    // The fresh outbox works.
    outbox.enqueue(action("c", "m")).await.unwrap();
    outbox.flush().await.unwrap();
    assert_eq!(events.delivered_keys().len(), 1);
}

#[tokio::test]
async fn a_damaged_page_is_detected_by_quick_check() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    {
        let fake = Fake::new(|_| offline());
        let outbox = Outbox::open(cfg.clone(), fake, None).await.unwrap();
        for i in 0..200 {
            let mut a = action("c", &format!("m{i}"));
            a.reward_group_id = Some("g".repeat(200));
            outbox.enqueue(a).await.unwrap();
        }
        outbox.shutdown().await.unwrap();
    }
    // Overwrite the middle of the file (past the header) with zeros and junk.
    let mut bytes = std::fs::read(&cfg.path).unwrap();
    assert!(bytes.len() > 16 * 4096);
    for b in &mut bytes[4096 * 2..4096 * 6] {
        *b = 0xA5;
    }
    std::fs::write(&cfg.path, &bytes).unwrap();
    let events = Events::new();
    let outbox = open(cfg, &Fake::ok(), &events).await;
    assert!(matches!(
        events.all().as_slice(),
        [OutboxEvent::DatabaseRecovered { .. }]
    ));
    assert_eq!(outbox.counts().await.unwrap().pending(), 0);
}

#[tokio::test]
async fn a_schema_v1_database_is_migrated_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    {
        let c = Connection::open(&cfg.path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE actions (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                idempotency_key TEXT NOT NULL UNIQUE,
                customer_id TEXT NOT NULL,
                payload TEXT NOT NULL,
                occurred_at TEXT NOT NULL,
                created_at_ms INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at_ms INTEGER NOT NULL,
                state TEXT NOT NULL DEFAULT 'queued',
                last_error TEXT);
             CREATE INDEX actions_customer ON actions(customer_id, seq);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        for (i, state) in [(1, "queued"), (2, "inflight"), (3, "failed")] {
            let body = serde_json::to_string(&action("c", &format!("m{i}"))).unwrap();
            c.execute(
                "INSERT INTO actions (idempotency_key, customer_id, payload, occurred_at,
                   created_at_ms, attempts, next_attempt_at_ms, state, last_error)
                 VALUES (?1, 'c', ?2, '2026-11-23T10:00:00Z', ?3, 1, 0, ?4, 'x')",
                rusqlite::params![format!("v1-key-{i}"), body, now_ms(), state],
            )
            .unwrap();
        }
    }
    let fake = Fake::ok();
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    outbox.flush().await.unwrap();
    assert_eq!(events.delivered_keys(), vec!["v1-key-1", "v1-key-2"]);
    // The v1 failure was already reported by v1: not reported again, still visible.
    assert!(
        !events
            .all()
            .iter()
            .any(|e| matches!(e, OutboxEvent::Failed { .. }))
    );
    assert_eq!(
        outbox.failed().await.unwrap()[0].idempotency_key,
        "v1-key-3"
    );
    let c = Connection::open(&cfg.path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, moments_outbox::SCHEMA_VERSION);
    // v3's count of undelivered actions started at the two queued or in flight, and their
    // deliveries took it to zero.
    let live: i64 = c
        .query_row("SELECT n FROM live_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(live, 0);
    // v4: the failure answered under v1 counts as answered at its enqueue (v1 kept no upload
    // time) and is remembered; the delivered keys are too.
    let (answered, created): (i64, i64) = c
        .query_row(
            "SELECT answered_at_ms, created_at_ms FROM actions WHERE idempotency_key = 'v1-key-3'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(answered, created);
    assert!(matches!(
        outbox.lookup("v1-key-1").await.unwrap(),
        ActionStatus::Delivered(_)
    ));
    assert!(matches!(
        outbox.lookup("v1-key-3").await.unwrap(),
        ActionStatus::Failed(_)
    ));
}

/// The v3 schema (the last before answered keys were remembered), as a v3 SDK created it.
const SCHEMA_V3: &str = "
    PRAGMA journal_mode = WAL;
    CREATE TABLE actions (
        seq                INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key    TEXT    NOT NULL UNIQUE,
        customer_id        TEXT    NOT NULL,
        payload            TEXT    NOT NULL,
        occurred_at        TEXT    NOT NULL,
        created_at_ms      INTEGER NOT NULL,
        attempts           INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL,
        state              TEXT    NOT NULL DEFAULT 'queued',
        last_error         TEXT
    );
    CREATE INDEX actions_customer ON actions(customer_id, seq);
    ALTER TABLE actions ADD COLUMN sent_at_ms INTEGER;
    ALTER TABLE actions ADD COLUMN not_before_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE actions ADD COLUMN outcome TEXT;
    ALTER TABLE actions ADD COLUMN notified INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX actions_state ON actions(state, next_attempt_at_ms);
    CREATE TABLE live_count (n INTEGER NOT NULL);
    INSERT INTO live_count (n) VALUES (0);
    CREATE TRIGGER live_count_insert AFTER INSERT ON actions
        WHEN NEW.state IN ('queued', 'inflight')
        BEGIN UPDATE live_count SET n = n + 1; END;
    CREATE TRIGGER live_count_delete AFTER DELETE ON actions
        WHEN OLD.state IN ('queued', 'inflight')
        BEGIN UPDATE live_count SET n = n - 1; END;
    CREATE TRIGGER live_count_update AFTER UPDATE OF state ON actions
        WHEN (OLD.state IN ('queued', 'inflight')) <> (NEW.state IN ('queued', 'inflight'))
        BEGIN UPDATE live_count
            SET n = n + CASE WHEN NEW.state IN ('queued', 'inflight') THEN 1 ELSE -1 END;
        END;
    PRAGMA user_version = 3;";

/// A v3 file holding a queued action, a delivery recorded but not yet told to the listener,
/// and a failure already reported, as `(key, moment)` of `action("c", moment)`.
fn v3_database(cfg: &OutboxConfig, extra_sql: &str) {
    let c = Connection::open(&cfg.path).unwrap();
    c.execute_batch(SCHEMA_V3).unwrap();
    c.execute_batch(extra_sql).unwrap();
    let now = now_ms();
    let refusal = serde_json::json!({"status": 422, "code": "frequency_cap_reached",
        "message": "already rewarded", "request_id": "req_9"});
    let outcome = serde_json::to_string(&reward_for("v3-delivered")).unwrap();
    for (key, moment, state, sent, outcome, error, notified) in [
        ("v3-queued", "m1", "queued", None, None, None, 0),
        (
            "v3-delivered",
            "m2",
            "delivered",
            Some(now - 5_000),
            Some(outcome),
            None,
            0,
        ),
        (
            "v3-failed",
            "m3",
            "failed",
            Some(now - 3_600_000),
            None,
            Some(refusal.to_string()),
            1,
        ),
    ] {
        let body = serde_json::to_string(&action("c", moment)).unwrap();
        c.execute(
            "INSERT INTO actions (idempotency_key, customer_id, payload, occurred_at,
               created_at_ms, attempts, next_attempt_at_ms, state, last_error, sent_at_ms,
               outcome, notified)
             VALUES (?1, 'c', ?2, '2026-11-23T10:00:00Z', ?3, 1, 0, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                key,
                body,
                now - 7_200_000,
                state,
                error,
                sent,
                outcome,
                notified
            ],
        )
        .unwrap();
    }
}

#[tokio::test]
async fn a_schema_v3_database_is_migrated_and_its_answered_keys_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    v3_database(&cfg, "");
    let fake = Fake::ok();
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    // The delivery v3 recorded but did not tell is told at open, from disk.
    assert_eq!(events.delivered_keys(), vec!["v3-delivered"]);
    outbox.flush().await.unwrap();
    assert_eq!(events.delivered_keys(), vec!["v3-delivered", "v3-queued"]);
    assert_eq!(fake.call_count(), 1, "only the queued action is sent");

    let c = Connection::open(&cfg.path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, moments_outbox::SCHEMA_VERSION);
    // The head of each customer's queue is found without walking remembered rows.
    let plan: String = c
        .query_row(
            "EXPLAIN QUERY PLAN SELECT MIN(seq) FROM actions
             WHERE customer_id = 'c' AND state IN ('queued', 'inflight')",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("actions_live"), "{plan}");
    // Answered before v4: answered at their last upload.
    let answered: Vec<(String, Option<i64>, Option<i64>)> = c
        .prepare("SELECT idempotency_key, answered_at_ms, sent_at_ms FROM actions ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(answered[1].1, answered[1].2);
    assert_eq!(answered[2].1, answered[2].2);
    assert!(answered[0].1.is_some(), "answered after the migration");

    // Every key is remembered, and a repeat of each is a no-op reporting its outcome.
    let expected_failure = PermanentError {
        status: Some(422),
        code: "frequency_cap_reached".into(),
        message: "already rewarded".into(),
        request_id: Some("req_9".into()),
    };
    for (key, moment, status) in [
        (
            "v3-queued",
            "m1",
            ActionStatus::Delivered(reward_for("v3-queued")),
        ),
        (
            "v3-delivered",
            "m2",
            ActionStatus::Delivered(reward_for("v3-delivered")),
        ),
        ("v3-failed", "m3", ActionStatus::Failed(expected_failure)),
    ] {
        assert_eq!(outbox.lookup(key).await.unwrap(), status, "{key}");
        let q = outbox
            .enqueue_with_key(action("c", moment), key.into())
            .await
            .unwrap();
        assert!(q.duplicate, "{key}");
        assert_eq!(q.status, status, "{key}");
    }
    outbox.flush().await.unwrap();
    assert_eq!(fake.call_count(), 1);
    // The v3 failure was reported by v3: not again.
    assert!(
        !events
            .all()
            .iter()
            .any(|e| matches!(e, OutboxEvent::Failed { .. }))
    );
    let live: i64 = c
        .query_row("SELECT n FROM live_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(live, 0);
}

#[tokio::test]
async fn a_migration_that_fails_leaves_the_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    // A v3 file the v4 step cannot apply to (the column it adds is already there).
    v3_database(
        &cfg,
        "ALTER TABLE actions ADD COLUMN answered_at_ms INTEGER;",
    );
    let before: Vec<(String, String, u32)> = rows(&cfg);
    for _ in 0..2 {
        let err = Outbox::open(cfg.clone(), Fake::ok(), None)
            .await
            .unwrap_err();
        assert!(matches!(err, OutboxError::Storage(_)), "{err}");
    }
    // Not taken for corruption (nothing moved aside), still v3, every row as it was.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.contains("corrupt")), "{names:?}");
    let c = Connection::open(&cfg.path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 3);
    let indexes: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('actions_answered', 'actions_live')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 0, "the step's other changes were rolled back");
    assert_eq!(rows(&cfg), before);
}

#[tokio::test]
async fn a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    {
        let c = Connection::open(&cfg.path).unwrap();
        c.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
            .unwrap();
    }
    let err = Outbox::open(cfg.clone(), Fake::ok(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OutboxError::UnsupportedSchema { found: 99, .. }),
        "{err}"
    );
    // The path is free again after a failed open, and the file is intact.
    let err = Outbox::open(cfg.clone(), Fake::ok(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, OutboxError::UnsupportedSchema { .. }));
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn delivery_is_fifo_per_customer() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    // Customer A's first action fails once; A's later actions must wait for it, B's must not.
    let failed_once = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f = failed_once.clone();
    let fake = Fake::new(move |a| {
        if a.action.moment_id == "a0" && !f.swap(true, Ordering::SeqCst) {
            offline()
        } else {
            delivered(&a.idempotency_key)
        }
    });
    let events = Events::new();
    let mut cfg = cfg;
    // A's failed head waits for the flush below, never for its backoff.
    cfg.backoff_base = Duration::from_secs(3600);
    cfg.backoff_max = Duration::from_secs(3600);
    let outbox = open(cfg, &fake, &events).await;
    outbox.suspend().await.unwrap(); // queue everything before delivery starts
    let mut expected = Vec::new();
    for i in 0..3 {
        for c in ["a", "b"] {
            expected.push((
                c,
                outbox
                    .enqueue(action(c, &format!("{c}{i}")))
                    .await
                    .unwrap()
                    .idempotency_key,
            ));
        }
    }
    outbox.resume().await.unwrap();
    // B is done while A waits behind its failed head. (Waited for rather than flushed: a
    // flush makes every queued action due at once, A's failed head included.)
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let a0_tried = fake.calls().iter().any(|c| c.customer == "a");
            let counts = outbox.counts().await.unwrap();
            if a0_tried && counts.inflight == 0 && events.delivered_keys().len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("B's actions delivered and A's head tried within 30 s");
    let b_keys: Vec<_> = expected
        .iter()
        .filter(|(c, _)| *c == "b")
        .map(|(_, k)| k.clone())
        .collect();
    assert_eq!(events.delivered_keys(), b_keys);
    assert_eq!(outbox.counts().await.unwrap().queued, 3);
    outbox.flush().await.unwrap();
    let a_keys: Vec<_> = expected
        .iter()
        .filter(|(c, _)| *c == "a")
        .map(|(_, k)| k.clone())
        .collect();
    assert_eq!(events.delivered_keys()[3..], a_keys[..]);
    // Calls per customer were made in enqueue order.
    let a_calls: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.customer == "a")
        .map(|c| c.key)
        .collect();
    assert_eq!(a_calls, [&a_keys[..1], &a_keys[..]].concat());
}

#[tokio::test]
async fn suspend_releases_the_database_and_resume_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let fake = Fake::ok();
    let events = Events::new();
    let outbox = open(cfg.clone(), &fake, &events).await;
    let wal = dir.path().join("outbox.sqlite-wal");
    let shm = dir.path().join("outbox.sqlite-shm");
    assert!(wal.exists());
    outbox.suspend().await.unwrap();
    // The last connection closed: SQLite checkpointed and removed the WAL and shared memory.
    assert!(!wal.exists() && !shm.exists());
    // Enqueue while suspended still lands on disk, and leaves nothing open.
    let q = outbox.enqueue(action("c", "m")).await.unwrap();
    assert!(!wal.exists() && !shm.exists());
    assert_eq!(outbox.flush().await.unwrap().queued, 1);
    assert_eq!(fake.call_count(), 0, "no delivery while suspended");
    // Another process can take an exclusive lock meanwhile.
    {
        let c = Connection::open(&cfg.path).unwrap();
        c.execute_batch("BEGIN EXCLUSIVE; COMMIT;").unwrap();
    }
    outbox.resume().await.unwrap();
    outbox.flush().await.unwrap();
    assert_eq!(events.delivered_keys(), vec![q.idempotency_key]);
}

#[tokio::test]
async fn logout_purges_or_flushes_one_customer() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let fake = Fake::new(|_| offline());
    let events = Events::new();
    let outbox = open(cfg, &fake, &events).await;
    let a = outbox.enqueue(action("alice", "m1")).await.unwrap();
    let a2 = outbox.enqueue(action("alice", "m2")).await.unwrap();
    let b = outbox.enqueue(action("bob", "m1")).await.unwrap();
    outbox.flush().await.unwrap();
    assert_eq!(outbox.purge_customer("alice").await.unwrap(), 2);
    assert_eq!(
        events.all(),
        vec![
            OutboxEvent::Dropped {
                idempotency_key: a.idempotency_key,
                customer_id: "alice".into(),
                reason: DropReason::Purged
            },
            OutboxEvent::Dropped {
                idempotency_key: a2.idempotency_key.clone(),
                customer_id: "alice".into(),
                reason: DropReason::Purged
            },
        ]
    );
    assert_eq!(
        outbox.lookup(&a2.idempotency_key).await.unwrap(),
        ActionStatus::Unknown
    );
    fake.set(|a| delivered(&a.idempotency_key));
    let bob = outbox.flush_customer("bob").await.unwrap();
    assert_eq!(bob.pending(), 0);
    assert_eq!(events.delivered_keys(), vec![b.idempotency_key.clone()]);
    // Purging after delivery removes nothing undelivered and keeps the answered key.
    assert_eq!(outbox.purge_customer("bob").await.unwrap(), 0);
    assert_eq!(
        outbox.lookup(&b.idempotency_key).await.unwrap(),
        ActionStatus::Delivered(reward_for(&b.idempotency_key))
    );
}

#[tokio::test]
async fn an_answer_recorded_but_not_told_is_reported_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    {
        let outbox = Outbox::open(cfg.clone(), Fake::new(|_| offline()), None)
            .await
            .unwrap();
        outbox.enqueue(action("c", "m")).await.unwrap();
        outbox.shutdown().await.unwrap();
    }
    // The app died between recording the answer and telling the listener.
    let outcome = match delivered("k") {
        DeliveryResult::Delivered(d) => d,
        _ => unreachable!(),
    };
    Connection::open(&cfg.path)
        .unwrap()
        .execute(
            "UPDATE actions SET state = 'delivered', outcome = ?1",
            [serde_json::to_string(&outcome).unwrap()],
        )
        .unwrap();
    let events = Events::new();
    let fake = Fake::ok();
    let outbox = open(cfg.clone(), &fake, &events).await;
    assert!(matches!(
        events.all().as_slice(),
        [OutboxEvent::Delivered { delivered, .. }] if *delivered == outcome
    ));
    outbox.flush().await.unwrap();
    assert_eq!(fake.call_count(), 0, "not sent again");
    assert!(matches!(
        rows(&cfg).as_slice(),
        [(_, state, _)] if state == "delivered_notified"
    ));
}

#[tokio::test]
async fn one_outbox_per_file_per_process() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let first = Outbox::open(cfg.clone(), Fake::ok(), None).await.unwrap();
    let err = Outbox::open(cfg.clone(), Fake::ok(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, OutboxError::AlreadyOpen(_)));
    drop(first);
    Outbox::open(cfg, Fake::ok(), None).await.unwrap();
}

#[test]
fn the_outbox_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Outbox>();
    assert_send_sync::<OutboxEvent>();
}
