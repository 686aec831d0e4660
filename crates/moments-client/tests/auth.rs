//! Credentials: token provider caching, coalescing, refresh ahead of expiry, 401 refetch.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use moments_client::{
    BoxError, ErrorKind, MomentsClient, RetryPolicy, Timeouts, TokenGrant, TokenProvider,
};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Hands out `ct_1`, `ct_2`, … with the given lifetime; counts calls.
struct CountingProvider {
    calls: AtomicU32,
    ttl: u64,
}

impl CountingProvider {
    fn new(ttl: u64) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicU32::new(0),
            ttl,
        })
    }
    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[moments_client::async_trait]
impl TokenProvider for CountingProvider {
    async fn fetch_token(&self) -> Result<TokenGrant, BoxError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        // Let other callers pile up behind this fetch.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        Ok(TokenGrant::new(format!("ct_{n}"), self.ttl))
    }
}

struct FailingProvider;

#[moments_client::async_trait]
impl TokenProvider for FailingProvider {
    async fn fetch_token(&self) -> Result<TokenGrant, BoxError> {
        Err("backend unreachable".into())
    }
}

fn app_json() -> serde_json::Value {
    json!({"object": "app", "id": "app_1", "account_id": "acct_1", "name": "Demo",
           "legacy_api_key_hint": null, "created_at": "2026-11-23T10:00:00Z"})
}

fn provider_client(server: &MockServer, p: Arc<dyn TokenProvider>) -> MomentsClient {
    MomentsClient::builder()
        .base_url(server.uri())
        .token_provider(p)
        .retry_policy(fast_retries(3))
        .build()
        .unwrap()
}

/// A server answering `GET` with the app for `Bearer ct_1`, and a client whose provider hands out `ct_1`
/// valid for 900 s.
async fn app_behind_token_ct_1() -> (MockServer, Arc<CountingProvider>, MomentsClient) {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer ct_1"))
        .respond_with(ok_json(200, app_json()))
        .mount(&server)
        .await;
    let provider = CountingProvider::new(900);
    let client = provider_client(&server, provider.clone());
    (server, provider, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_calls_share_one_token_fetch() {
    let (server, provider, client) = app_behind_token_ct_1().await;
    let calls = (0..50).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.apps().get().await })
    });
    for r in futures_util::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(provider.calls(), 1);
    assert_eq!(client.token_fetch_count(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 50);
}

#[tokio::test]
async fn a_401_token_expired_refetches_once_and_retries_once() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer ct_1"))
        .respond_with(error_body("token_expired", 401, None))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer ct_2"))
        .respond_with(ok_json(200, app_json()))
        .mount(&server)
        .await;
    let provider = CountingProvider::new(900);
    let client = provider_client(&server, provider.clone());
    client.apps().get().await.unwrap();
    assert_eq!(provider.calls(), 2);
    // The new token is cached.
    client.apps().get().await.unwrap();
    assert_eq!(provider.calls(), 2);
}

#[tokio::test]
async fn a_second_401_is_returned_not_looped() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(error_body("invalid_api_key", 401, None))
        .mount(&server)
        .await;
    let provider = CountingProvider::new(900);
    let client = provider_client(&server, provider.clone());
    let err = client.apps().get().await.unwrap_err();
    assert!(err.is_unauthorized());
    assert!(!err.is_retryable());
    assert_eq!(provider.calls(), 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_static_secret_key_is_not_refetched_on_401() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(error_body("invalid_api_key", 401, None))
        .mount(&server)
        .await;
    let err = client(&server).apps().get().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].headers.get("authorization").unwrap(),
        &format!("Bearer {SECRET}")
    );
}

#[tokio::test(start_paused = true)]
async fn the_token_is_refreshed_ahead_of_expiry_on_the_monotonic_clock() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json(200, app_json()))
        .mount(&server)
        .await;
    let provider = CountingProvider::new(100); // refreshed 10 s early, at 90 s
    let http = reqwest::Client::builder()
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    let client = MomentsClient::builder()
        .base_url(server.uri())
        .token_provider(provider.clone())
        .http_client(http)
        .timeouts(Timeouts::none())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    client.apps().get().await.unwrap();
    tokio::time::advance(Duration::from_secs(80)).await;
    client.apps().get().await.unwrap();
    assert_eq!(provider.calls(), 1);
    tokio::time::advance(Duration::from_secs(15)).await;
    client.apps().get().await.unwrap();
    assert_eq!(provider.calls(), 2);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs[2].headers.get("authorization").unwrap(), "Bearer ct_2");
}

#[tokio::test]
async fn invalidating_the_cache_forces_a_fetch() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json(200, app_json()))
        .mount(&server)
        .await;
    let provider = CountingProvider::new(900);
    let client = provider_client(&server, provider.clone());
    client.apps().get().await.unwrap();
    client.invalidate_cached_token().await;
    client.apps().get().await.unwrap();
    assert_eq!(provider.calls(), 2);
}

#[tokio::test]
async fn a_failing_provider_fails_the_call_before_sending() {
    let server = MockServer::builder().start().await;
    let client = provider_client(&server, Arc::new(FailingProvider));
    let err = client.apps().get().await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TokenProvider { .. }));
    assert!(!err.may_have_reached_server());
    assert!(err.to_string().contains("backend unreachable"));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn customer_token_and_redemptions_send_the_right_credentials() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .and(path("/v1/redemptions/tok_abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "redemption", "reward_id": "rwd_1", "status": "issued", "brand_name": "Demo",
            "redemption_message": "Enjoy", "image_url": null, "expires_at": "2026-12-23T10:00:00Z",
            "choices": [], "requires_shipping": false, "redeemed_item": null, "digital_code": null})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/app"))
        .and(header("authorization", "Bearer ct_fixed"))
        .respond_with(ok_json(200, app_json()))
        .mount(&server)
        .await;
    let client = MomentsClient::builder()
        .base_url(server.uri())
        .customer_token("ct_fixed")
        .build()
        .unwrap();
    client.apps().get().await.unwrap();
    let r = client.redemptions().get("tok_abc").await.unwrap();
    assert_eq!(r.reward_id, "rwd_1");
    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs[1].headers.get("authorization").is_none(),
        "redemption routes take no credential"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_its_own_pool_shares_the_token_cache_and_runs_on_another_runtime() {
    let (server, provider, client) = app_behind_token_ct_1().await;
    client.apps().get().await.unwrap();
    let twin = client.with_own_connection_pool().unwrap();
    assert_eq!(twin.base_url(), client.base_url());
    // Driven entirely by a current-thread runtime on another thread: its connections live there.
    let got = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { (twin.apps().get().await, twin.apps().get().await) })
    })
    .join()
    .unwrap();
    got.0.unwrap();
    got.1.unwrap();
    client.apps().get().await.unwrap();
    assert_eq!(provider.calls(), 1, "one token for both clients");
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}
