//! The error type: codes (known and unknown), request ids, redaction of secrets.

mod common;

use common::*;
use moments_client::{ErrorCode, ErrorKind, MomentsClient, TokenGrant};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn an_unknown_error_code_is_preserved() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(422).set_body_json(json!({"error": {
                "code": "loyalty_tier_too_low", "message": "Tier too low", "param": "customer.segment",
                "request_id": "req_from_body", "retryable": false, "some_future_field": 1}})),
        )
        .mount(&server)
        .await;
    let err = client(&server).apps().get().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&ErrorCode::Unknown("loyalty_tier_too_low".into()))
    );
    assert_eq!(err.code().unwrap().as_str(), "loyalty_tier_too_low");
    let api = err.api_error().unwrap();
    assert_eq!(api.message, "Tier too low");
    assert_eq!(api.param.as_deref(), Some("customer.segment"));
    assert_eq!(err.request_id(), Some("req_from_body"));
    assert!(!err.is_retryable());
    assert!(err.may_have_reached_server());
    assert!(err.to_string().contains("loyalty_tier_too_low"));
}

#[tokio::test]
async fn the_request_id_header_is_captured_when_the_body_is_not_an_envelope() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-request-id", "req_hdr")
                .set_body_string("<html>not found</html>"),
        )
        .mount(&server)
        .await;
    let err = client(&server).apps().get().await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.request_id(), Some("req_hdr"));
    assert!(!err.to_string().contains("<html>"));
}

#[tokio::test]
async fn a_body_that_does_not_decode_is_a_decode_error_with_the_request_id() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", "req_bad")
                .set_body_json(json!({"object": "app"})),
        )
        .mount(&server)
        .await;
    let err = client(&server).apps().get().await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Decode { .. }));
    assert_eq!(err.request_id(), Some("req_bad"));
    assert!(!err.is_retryable());
}

#[test]
fn every_documented_code_round_trips() {
    for code in [
        "invalid_json",
        "validation_error",
        "idempotency_key_required",
        "authentication_required",
        "invalid_api_key",
        "token_expired",
        "forbidden",
        "moment_not_client_reportable",
        "resource_not_found",
        "route_not_found",
        "method_not_allowed",
        "idempotency_conflict",
        "idempotency_in_progress",
        "invalid_state_transition",
        "reward_not_cancellable",
        "reward_already_redeemed",
        "reward_expired",
        "reward_not_redeemable",
        "payload_too_large",
        "unsupported_media_type",
        "campaign_not_live",
        "budget_exhausted",
        "account_budget_exhausted",
        "inventory_exhausted",
        "marketplace_not_allowed",
        "segment_not_targeted",
        "frequency_cap_reached",
        "flagged_for_review",
        "velocity_limit_exceeded",
        "rate_limited",
        "internal_error",
        "service_unavailable",
    ] {
        let c = ErrorCode::from(code);
        assert!(!matches!(c, ErrorCode::Unknown(_)), "{code} is known");
        assert_eq!(c.as_str(), code);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), c);
    }
    assert!(ErrorCode::RateLimited.is_retryable());
    assert!(ErrorCode::IdempotencyInProgress.is_retryable());
    assert!(!ErrorCode::BudgetExhausted.is_retryable());
}

#[tokio::test]
async fn secrets_never_appear_in_errors_config_or_debug_output() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(error_body("invalid_api_key", 401, None))
        .mount(&server)
        .await;
    let legacy = "mk_legacy_secret_value_123";
    let builder = MomentsClient::builder()
        .base_url(server.uri())
        .secret_key(SECRET)
        .legacy_api_key(legacy);
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let err = client.apps().get().await.unwrap_err();
    let token_grant = TokenGrant::new("ct_super_secret_token", 60);
    let token_client = MomentsClient::builder()
        .customer_token("ct_super_secret_token")
        .build()
        .unwrap();
    for text in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{client:?}"),
        builder_debug,
        format!("{token_grant:?}"),
        format!("{token_client:?}"),
    ] {
        assert!(!text.contains(SECRET), "secret key leaked: {text}");
        assert!(
            !text.contains("4eC39HqLyjWDarjtT1zdp7dc"),
            "secret key leaked: {text}"
        );
        assert!(!text.contains(legacy), "legacy key leaked: {text}");
        assert!(!text.contains("super_secret"), "token leaked: {text}");
    }
}

#[test]
fn invalid_configuration_is_refused() {
    for bad in [
        "not a url",
        "ftp://x",
        "http://user:pw@host",
        "http://h/?q=1",
    ] {
        let err = MomentsClient::builder().base_url(bad).build().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidConfig(_)), "{bad}");
        assert!(!err.to_string().contains("pw"));
    }
    let err = MomentsClient::builder()
        .secret_key("sk_with\nnewline")
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains("newline"));
}

#[tokio::test]
async fn base_url_with_a_path_prefix_is_kept() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path("/gateway/v1/app"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "app", "id": "app_1", "account_id": "acct_1", "name": "Demo",
            "created_at": "2026-11-23T10:00:00Z"})))
        .mount(&server)
        .await;
    let c = MomentsClient::builder()
        .base_url(format!("{}/gateway", server.uri()))
        .secret_key(SECRET)
        .build()
        .unwrap();
    assert_eq!(c.apps().get().await.unwrap().id, "app_1");
}
