#![allow(dead_code)]
//! Shared helpers for the wiremock tests.

use std::time::Duration;

use moments_client::{MomentsClient, RetryPolicy, Timeouts};
use serde_json::{Value, json};
use wiremock::{MockServer, ResponseTemplate};

pub const SECRET: &str = "sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc";

/// Fast, deterministic retries: no jitter, 1 ms backoff.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(max_attempts)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(1))
        .with_jitter(false)
}

pub fn client(server: &MockServer) -> MomentsClient {
    MomentsClient::builder()
        .base_url(server.uri())
        .secret_key(SECRET)
        .retry_policy(fast_retries(3))
        .build()
        .unwrap()
}

/// For paused-clock tests: no timers except the client's own sleeps (no timeouts, no pool reaper).
pub fn paused_client(server: &MockServer, timeouts: Timeouts, retry: RetryPolicy) -> MomentsClient {
    let http = reqwest::Client::builder()
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    MomentsClient::builder()
        .base_url(server.uri())
        .secret_key(SECRET)
        .http_client(http)
        .timeouts(timeouts)
        .retry_policy(retry)
        .build()
        .unwrap()
}

pub fn error_body(code: &str, status: u16, param: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-request-id", "req_0f3c9a1b2d4e5f60")
        .set_body_json(json!({
            "error": {
                "code": code,
                "message": format!("{code} happened"),
                "param": param,
                "request_id": "req_0f3c9a1b2d4e5f60",
                "retryable": matches!(status, 429 | 500 | 502 | 503 | 504),
            }
        }))
}

pub fn reward_json(id: &str) -> Value {
    json!({
        "object": "reward", "id": id, "campaign_id": "cmp_1", "moment_id": "first_workout",
        "reward_group_id": "US", "variant_id": null, "customer_id": "cust_42", "marketplace": "US",
        "segment": null, "device_type": "Android", "status": "issued", "test": false,
        "url": format!("http://127.0.0.1:8080/r/tok_{id}"), "expires_at": "2026-12-23T10:00:00Z",
        "cost": {"amount": 500, "currency": "USD"},
        "offer": {"items": [{"item_id": "itm_echo_dot", "title": "Echo Dot", "kind": "physical",
                             "value": {"amount": 4999, "currency": "USD"}, "image_url": null}]},
        "flag": null,
        "created_at": "2026-11-23T10:00:00Z", "redeemed_at": null, "shipped_at": null,
        "delivered_at": null, "expired_at": null, "cancelled_at": null
    })
}

pub fn trigger_result_json() -> Value {
    json!({
        "object": "trigger_result", "outcome": "reward", "campaign_id": "cmp_1",
        "moment_id": "first_workout", "customer_id": "cust_42",
        "reward": reward_json("rwd_1"), "progress": null
    })
}

pub fn ok_json(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-request-id", "req_ok")
        .set_body_json(body)
}
