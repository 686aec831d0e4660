//! Retry rules: what is retried, how often, with which idempotency key, and how long it waits.

mod common;

use std::time::Duration;

use common::*;
use moments_client::models::{CampaignUpdate, DeviceType, LegacyRewardRequest, TriggerRequest};
use moments_client::{ErrorCode, ErrorKind, MomentsClient, RequestOptions, RetryPolicy, Timeouts};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn trigger() -> TriggerRequest {
    TriggerRequest::new("cmp_1", "first_workout", DeviceType::Android).customer("cust_42", "US")
}

async fn keys_seen(server: &MockServer) -> Vec<Option<String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn two_503_then_success_gives_one_result_with_one_key_sent_three_times() {
    let server = MockServer::builder().start().await;
    Mock::given(method("POST"))
        .and(path("/v1/triggers"))
        .respond_with(error_body("service_unavailable", 503, None))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/triggers"))
        .respond_with(ok_json(200, trigger_result_json()))
        .mount(&server)
        .await;

    let outcome = client(&server).moments().trigger(&trigger()).await.unwrap();
    assert_eq!(outcome.reward().unwrap().id, "rwd_1");
    assert!(!outcome.replayed);

    let keys = keys_seen(&server).await;
    assert_eq!(keys.len(), 3);
    let first = keys[0]
        .clone()
        .expect("every POST carries an Idempotency-Key");
    assert!(keys.iter().all(|k| k.as_deref() == Some(first.as_str())));
    assert_eq!(outcome.idempotency_key, first);
}

#[tokio::test]
async fn each_logical_call_gets_its_own_key() {
    let server = MockServer::builder().start().await;
    Mock::given(method("POST"))
        .respond_with(ok_json(200, trigger_result_json()))
        .mount(&server)
        .await;
    let c = client(&server);
    let a = c.moments().trigger(&trigger()).await.unwrap();
    let b = c.moments().trigger(&trigger()).await.unwrap();
    assert_ne!(a.idempotency_key, b.idempotency_key);
}

#[tokio::test]
async fn caller_supplied_key_is_used_on_every_attempt() {
    let server = MockServer::builder().start().await;
    Mock::given(method("POST"))
        .respond_with(error_body("internal_error", 500, None))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ok_json(200, trigger_result_json()).insert_header("idempotent-replayed", "true"),
        )
        .mount(&server)
        .await;
    let outcome = client(&server)
        .moments()
        .with_options(RequestOptions::new().idempotency_key("workout-7781"))
        .trigger(&trigger())
        .await
        .unwrap();
    assert!(outcome.replayed, "Idempotent-Replayed is surfaced");
    assert_eq!(outcome.idempotency_key, "workout-7781");
    assert_eq!(
        keys_seen(&server).await,
        vec![Some("workout-7781".to_owned()); 2]
    );
}

#[tokio::test]
async fn invalid_caller_key_is_refused_before_sending() {
    let server = MockServer::builder().start().await;
    let err = client(&server)
        .moments()
        .with_options(RequestOptions::new().idempotency_key(""))
        .trigger(&trigger())
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidConfig(_)));
    assert!(!err.may_have_reached_server());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_400_is_never_retried() {
    let server = MockServer::builder().start().await;
    Mock::given(method("POST"))
        .respond_with(error_body("validation_error", 400, Some("device.type")))
        .mount(&server)
        .await;
    let err = client(&server)
        .moments()
        .trigger(&trigger())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
    assert_eq!(
        err.api_error().unwrap().param.as_deref(),
        Some("device.type")
    );
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn other_4xx_are_not_retried_but_in_progress_is() {
    let server = MockServer::builder().start().await;
    Mock::given(method("POST"))
        .respond_with(error_body("idempotency_in_progress", 409, None))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(error_body("idempotency_conflict", 409, None))
        .mount(&server)
        .await;
    let err = client(&server)
        .moments()
        .trigger(&trigger())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::IdempotencyConflict));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn gets_are_retried_on_every_retryable_status() {
    for status in [429u16, 500, 502, 503, 504] {
        let server = MockServer::builder().start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/app"))
            .respond_with(ok_json(
                200,
                json!({"object": "app", "id": "app_1", "account_id": "acct_1", "name": "Demo",
                       "legacy_api_key_hint": "mk_…wxyz", "created_at": "2026-11-23T10:00:00Z"}),
            ))
            .mount(&server)
            .await;
        let app = client(&server).apps().get().await.unwrap();
        assert_eq!(app.id, "app_1");
        let reqs = server.received_requests().await.unwrap();
        assert_eq!(reqs.len(), 2, "status {status}");
        assert!(reqs[0].headers.get("idempotency-key").is_none());
    }
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(error_body("service_unavailable", 503, None))
        .mount(&server)
        .await;
    let err = client(&server).apps().get().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ServiceUnavailable));
    assert!(err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    let err = client(&server)
        .apps()
        .with_options(RequestOptions::new().retry_policy(RetryPolicy::disabled()))
        .get()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn patch_without_a_key_is_not_retried() {
    let server = MockServer::builder().start().await;
    Mock::given(method("PATCH"))
        .respond_with(error_body("service_unavailable", 503, None))
        .mount(&server)
        .await;
    let err = client(&server)
        .campaigns()
        .update("cmp_1", &CampaignUpdate::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].headers.get("idempotency-key").is_none());
}

fn legacy_client(server: &MockServer) -> MomentsClient {
    MomentsClient::builder()
        .base_url(server.uri())
        .legacy_api_key("mk_demo_legacy_key")
        .retry_policy(fast_retries(3))
        .build()
        .unwrap()
}

fn legacy_req() -> LegacyRewardRequest {
    LegacyRewardRequest {
        app_id: "app_1".into(),
        moment_id: "first_workout".into(),
        device_type: DeviceType::Ios,
        campaign_id: "cmp_1".into(),
        reward_group_id: "US".into(),
    }
}

#[tokio::test]
async fn legacy_get_reward_is_not_retried_after_a_5xx_but_is_after_a_429() {
    let server = MockServer::builder().start().await;
    Mock::given(method("POST"))
        .and(path("/prod/GetReward"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let err = legacy_client(&server)
        .legacy()
        .get_reward(&legacy_req())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/prod/GetReward"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(
                    json!({"rewardNotificationText": "Rate exceeded", "rewardNotificationUrl": null,
                    "campaignEndDate": null, "rewardImageUrl": null, "remainingRewardCount": null,
                    "errorCode": "rate_limited"}),
                ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/prod/GetReward"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "rewardNotificationText": "Enjoy!", "rewardNotificationUrl": "http://x/r/abc",
            "campaignEndDate": "2026-12-31T00:00:00Z", "rewardImageUrl": null, "remainingRewardCount": 99})))
        .mount(&server)
        .await;
    let ok = legacy_client(&server)
        .legacy()
        .get_reward(&legacy_req())
        .await
        .unwrap();
    assert_eq!(
        ok.reward_notification_url.as_deref(),
        Some("http://x/r/abc")
    );
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].headers.get("x-api-key").unwrap(),
        "mk_demo_legacy_key"
    );
    assert!(reqs[0].headers.get("authorization").is_none());
    let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["deviceType"], "iOS");
    assert_eq!(body["rewardGroupId"], "US");
}

#[tokio::test]
async fn legacy_failure_body_becomes_a_typed_error() {
    let server = MockServer::builder().start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(422)
                .insert_header("x-request-id", "req_legacy")
                .set_body_json(
                    json!({"rewardNotificationText": "Campaign budget exhausted",
                "rewardNotificationUrl": null, "campaignEndDate": null, "rewardImageUrl": null,
                "remainingRewardCount": null, "errorCode": "budget_exhausted"}),
                ),
        )
        .mount(&server)
        .await;
    let err = legacy_client(&server)
        .legacy()
        .get_reward_info(&legacy_req())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::BudgetExhausted));
    assert_eq!(err.request_id(), Some("req_legacy"));
    assert_eq!(
        err.api_error().unwrap().message,
        "Campaign budget exhausted"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_on_the_virtual_clock() {
    let server = MockServer::builder().start().await;
    Mock::given(method("POST"))
        .respond_with(error_body("rate_limited", 429, None).insert_header("retry-after", "7"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_json(200, trigger_result_json()))
        .mount(&server)
        .await;
    let c = paused_client(&server, Timeouts::none(), RetryPolicy::default());
    let start = tokio::time::Instant::now();
    c.moments().trigger(&trigger()).await.unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(7) && elapsed < Duration::from_secs(8),
        "slept {elapsed:?} of virtual time"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_exponentially_without_jitter() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let retry = RetryPolicy::default()
        .with_max_attempts(4)
        .with_backoff(Duration::from_secs(1), Duration::from_secs(3))
        .with_jitter(false);
    let c = paused_client(&server, Timeouts::none(), retry);
    let start = tokio::time::Instant::now();
    c.apps().get().await.unwrap_err();
    // 1 s + 2 s + 3 s (capped)
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(6) && elapsed < Duration::from_secs(7),
        "{elapsed:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_not_waited_for() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(error_body("rate_limited", 429, None).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let err = client(&server).apps().get().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::RateLimited));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// A server whose every `GET` answer takes an hour.
async fn never_answering_server() -> MockServer {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3600)))
        .mount(&server)
        .await;
    server
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_is_a_timeout() {
    let server = never_answering_server().await;
    let timeouts = Timeouts {
        connect: None,
        attempt: Some(Duration::from_secs(2)),
        total: None,
    };
    let c = paused_client(&server, timeouts, RetryPolicy::disabled());
    let err = c.apps().get().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.may_have_reached_server());
    assert!(matches!(
        err.kind(),
        ErrorKind::Timeout { total: false, .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn the_whole_call_deadline_covers_retries() {
    let server = never_answering_server().await;
    let timeouts = Timeouts {
        connect: None,
        attempt: Some(Duration::from_secs(2)),
        total: Some(Duration::from_secs(5)),
    };
    let retry = RetryPolicy::default()
        .with_max_attempts(10)
        .with_backoff(Duration::from_millis(100), Duration::from_millis(100))
        .with_jitter(false);
    let c = paused_client(&server, timeouts, retry);
    let start = tokio::time::Instant::now();
    let err = c.apps().get().await.unwrap_err();
    assert!(err.is_timeout());
    assert!(
        matches!(err.kind(), ErrorKind::Timeout { total: true, .. }),
        "the call's deadline, not an attempt's timeout, ended it: {err:?}"
    );
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(5),
        "ends at the deadline"
    );
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_that_never_reached_the_server() {
    // A socket bound but not listening: connections to its port are refused, and, unlike a
    // listener dropped before the call, no server started in parallel can take the port meanwhile.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = reserved.local_addr().unwrap().port();
    let c = MomentsClient::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .secret_key(SECRET)
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let err = c.moments().trigger(&trigger()).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_retryable());
    assert!(!err.may_have_reached_server());
}
