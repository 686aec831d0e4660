//! Test doubles shared by the outbox tests.
#![allow(dead_code)]

pub mod server;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use moments_outbox::{
    Action, Customer, Delivered, Deliverer, DeliveryResult, Device, DeviceType, OutboxEvent,
    OutboxListener, Outcome, QueuedAction,
};
use tokio::sync::Notify;

/// An action for `customer`, told apart by `moment`.
pub fn action(customer: &str, moment: &str) -> Action {
    Action::new(
        "cmp_test",
        moment,
        Customer::new(customer, "US"),
        Device::new(DeviceType::Android),
    )
}

pub fn delivered(key: &str) -> DeliveryResult {
    DeliveryResult::Delivered(Delivered {
        outcome: Outcome::Reward {
            reward_id: format!("rwd_{key}"),
            url: format!("http://rewards.test/r/{key}"),
            status: "issued".into(),
            test: false,
        },
        replayed: false,
        request_id: Some("req_test".into()),
    })
}

pub fn offline() -> DeliveryResult {
    DeliveryResult::Retry {
        after: None,
        error: "connection refused".into(),
    }
}

/// One call the fake received.
#[derive(Clone, Debug)]
pub struct Call {
    pub key: String,
    pub customer: String,
    pub attempt: u32,
    pub body: String,
    pub at: tokio::time::Instant,
}

type Behaviour = Box<dyn FnMut(&QueuedAction) -> DeliveryResult + Send>;

/// A scriptable deliverer that records its calls.
pub struct Fake {
    behaviour: Mutex<Behaviour>,
    pub calls: Mutex<Vec<Call>>,
    pub refreshes: AtomicU32,
}

impl Fake {
    pub fn new(f: impl FnMut(&QueuedAction) -> DeliveryResult + Send + 'static) -> Arc<Fake> {
        Arc::new(Fake {
            behaviour: Mutex::new(Box::new(f)),
            calls: Mutex::new(Vec::new()),
            refreshes: AtomicU32::new(0),
        })
    }

    /// Delivers everything.
    pub fn ok() -> Arc<Fake> {
        Fake::new(|a| delivered(&a.idempotency_key))
    }

    pub fn set(&self, f: impl FnMut(&QueuedAction) -> DeliveryResult + Send + 'static) {
        *self.behaviour.lock().unwrap() = Box::new(f);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn call_count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

#[async_trait]
impl Deliverer for Fake {
    async fn deliver(&self, a: &QueuedAction) -> DeliveryResult {
        self.calls.lock().unwrap().push(Call {
            key: a.idempotency_key.clone(),
            customer: a.customer_id.clone(),
            attempt: a.attempt,
            body: a.body.clone(),
            at: tokio::time::Instant::now(),
        });
        (self.behaviour.lock().unwrap())(a)
    }

    async fn refresh_credentials(&self, _customer_id: &str) {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Collects listener events.
#[derive(Default)]
pub struct Events {
    events: Mutex<Vec<OutboxEvent>>,
    changed: Notify,
}

impl Events {
    pub fn new() -> Arc<Events> {
        Arc::new(Events::default())
    }

    pub fn all(&self) -> Vec<OutboxEvent> {
        self.events.lock().unwrap().clone()
    }

    pub fn delivered_keys(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                OutboxEvent::Delivered {
                    idempotency_key, ..
                } => Some(idempotency_key),
                _ => None,
            })
            .collect()
    }

    /// Waits until `cond` holds over the events seen so far.
    pub async fn wait_until(&self, cond: impl Fn(&[OutboxEvent]) -> bool) {
        loop {
            let notified = self.changed.notified();
            if cond(&self.events.lock().unwrap()) {
                return;
            }
            notified.await;
        }
    }
}

impl OutboxListener for Events {
    fn on_event(&self, event: OutboxEvent) {
        self.events.lock().unwrap().push(event);
        self.changed.notify_waiters();
    }
}

/// The mock's rewards of one campaign, counted per customer id, over every page.
pub async fn rewards_per_customer(
    http: &reqwest::Client,
    base: &str,
    campaign_id: &str,
    secret_key: &str,
) -> std::collections::HashMap<String, usize> {
    let mut per_customer = std::collections::HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/rewards?limit=100&campaign_id={campaign_id}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: serde_json::Value = http
            .get(url)
            .bearer_auth(secret_key)
            .send()
            .await
            .expect("rewards page")
            .json()
            .await
            .expect("rewards JSON");
        for r in page["data"].as_array().expect("data") {
            *per_customer
                .entry(r["customer_id"].as_str().expect("customer id").to_owned())
                .or_default() += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    per_customer
}
