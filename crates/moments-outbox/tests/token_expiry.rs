//! A customer token that expires while the phone is offline (the mock's clock advanced past it)
//! is replaced through the app's token provider, and the queued action is delivered.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::Events;
use moments_client::models::CustomerTokenCreate;
use moments_client::{BoxError, MomentsClient, TokenGrant, TokenProvider, async_trait};
use moments_mock_server::MockServer;
use moments_outbox::{
    Action, ClientDeliverer, Customer, Device, DeviceType, Outbox, OutboxConfig, OutboxEvent,
    OutboxListener, Outcome,
};
use serde_json::json;

/// The app's provider: asks "its backend" (here a secret-key client) for a 60 s token.
struct Minting {
    backend: MomentsClient,
    fetches: AtomicU32,
}

#[async_trait]
impl TokenProvider for Minting {
    async fn fetch_token(&self) -> Result<TokenGrant, BoxError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let mut req = CustomerTokenCreate::new("cust_token_1", "US");
        req.ttl_seconds = Some(60);
        let t = self.backend.customer_tokens().create(&req).await?;
        Ok(TokenGrant::new(t.token, t.expires_in_seconds.max(0) as u64))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expired_while_offline_is_refetched_and_the_action_delivered() {
    let server = MockServer::start().await.unwrap();
    let base = server.base_url();
    let demo = server.demo().clone();
    let backend = MomentsClient::builder()
        .base_url(&base)
        .secret_key(&demo.secret_key)
        .build()
        .unwrap();
    let provider = Arc::new(Minting {
        backend,
        fetches: AtomicU32::new(0),
    });
    let app_client = MomentsClient::builder()
        .base_url(&base)
        .token_provider(provider.clone())
        .build()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let events = Events::new();
    let listener: Arc<dyn OutboxListener> = events.clone();
    let outbox = Outbox::open(
        OutboxConfig::new(dir.path().join("outbox.sqlite")),
        Arc::new(ClientDeliverer::new(app_client)),
        Some(listener),
    )
    .await
    .unwrap();

    // Offline: every trigger connection is reset. A first attempt fetches a token.
    let http = reqwest::Client::new();
    http.post(format!("{base}/_mock/faults"))
        .json(&json!({"route": "POST /v1/triggers", "count": 1_000, "action": "reset"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let action = Action::new(
        demo.campaign_id.clone(),
        "first_workout",
        Customer::new("cust_token_1", "US"),
        Device::new(DeviceType::Android),
    );
    let key = outbox.enqueue(action).await.unwrap().idempotency_key;
    assert_eq!(outbox.flush().await.unwrap().queued, 1);
    let fetched_offline = provider.fetches.load(Ordering::SeqCst);
    assert!(fetched_offline >= 1);

    // Two minutes pass on the server while offline: the cached token is now expired there.
    server.advance_clock(120).await;
    http.delete(format!("{base}/_mock/faults"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    outbox.network_available();
    events.wait_until(|e| !e.is_empty()).await;
    outbox.flush().await.unwrap();

    match events.all().as_slice() {
        [
            OutboxEvent::Delivered {
                idempotency_key,
                delivered,
                ..
            },
        ] => {
            assert_eq!(idempotency_key, &key);
            assert!(matches!(delivered.outcome, Outcome::Reward { .. }));
        }
        other => panic!("{other:?}"),
    }
    assert!(!outbox.is_paused());
    assert!(
        provider.fetches.load(Ordering::SeqCst) > fetched_offline,
        "a new token was fetched"
    );
    outbox.shutdown().await.unwrap();
    server.shutdown().await;
}
