//! Webhook signature verification, event parsing, and the endpoint's secret rotation.

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use moments_client::models::{EventObject, EventType, RewardStatus};
use moments_client::webhooks::{self, DEFAULT_TOLERANCE};
use moments_client::{ErrorKind, WebhookSignatureError};

const SECRET: &str = "whsec_test_5f2b9c";
const T: i64 = 1_795_000_000;

fn body() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "event", "id": "evt_1", "type": "reward.issued", "created_at": "2026-11-23T10:00:00Z",
        "data": {"object": {
            "object": "reward", "id": "rwd_1", "campaign_id": "cmp_1", "moment_id": "first_workout",
            "reward_group_id": "US", "variant_id": null, "customer_id": "cust_42", "marketplace": "US",
            "segment": null, "device_type": "Android", "status": "issued", "test": false,
            "url": "http://127.0.0.1:8080/r/abc", "expires_at": "2026-12-23T10:00:00Z",
            "cost": {"amount": 500, "currency": "USD"}, "offer": {"items": []}, "flag": null,
            "created_at": "2026-11-23T10:00:00Z"}}
    }))
    .unwrap()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(T + 10, 0).unwrap()
}

fn reason(e: moments_client::Error) -> WebhookSignatureError {
    match e.kind() {
        ErrorKind::WebhookSignature(r) => r.clone(),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_good_signature_verifies_and_parses() {
    let body = body();
    let header = webhooks::sign(&body, SECRET, T);
    webhooks::verify(&body, &header, SECRET, DEFAULT_TOLERANCE, now()).unwrap();
    let event =
        webhooks::construct_event_at(&body, &header, SECRET, DEFAULT_TOLERANCE, now()).unwrap();
    assert_eq!(event.event_type, EventType::RewardIssued);
    match event.object() {
        EventObject::Reward(r) => assert_eq!(r.status, RewardStatus::Issued),
        other => panic!("{other:?}"),
    }
    assert_eq!(event.reward().unwrap().id, "rwd_1");
}

#[test]
fn a_tampered_body_is_rejected() {
    let body = body();
    let header = webhooks::sign(&body, SECRET, T);
    let mut tampered = body.clone();
    let pos = tampered.iter().position(|&b| b == b'5').unwrap();
    tampered[pos] = b'9';
    let e = webhooks::verify(&tampered, &header, SECRET, DEFAULT_TOLERANCE, now()).unwrap_err();
    assert_eq!(reason(e), WebhookSignatureError::NoMatchingSignature);
}

#[test]
fn a_wrong_secret_is_rejected() {
    let body = body();
    let header = webhooks::sign(&body, "whsec_other", T);
    let e = webhooks::verify(&body, &header, SECRET, DEFAULT_TOLERANCE, now()).unwrap_err();
    assert_eq!(reason(e), WebhookSignatureError::NoMatchingSignature);
}

#[test]
fn a_stale_or_future_timestamp_is_rejected() {
    let body = body();
    let header = webhooks::sign(&body, SECRET, T);
    let late = Utc.timestamp_opt(T + 301, 0).unwrap();
    let e = webhooks::verify(&body, &header, SECRET, DEFAULT_TOLERANCE, late).unwrap_err();
    assert_eq!(
        reason(e),
        WebhookSignatureError::TimestampOutsideTolerance { age_seconds: 301 }
    );
    let early = Utc.timestamp_opt(T - 301, 0).unwrap();
    assert!(webhooks::verify(&body, &header, SECRET, DEFAULT_TOLERANCE, early).is_err());
    // A wider window accepts it.
    webhooks::verify(&body, &header, SECRET, Duration::from_secs(400), late).unwrap();
}

#[test]
fn malformed_headers_are_rejected() {
    let body = body();
    for header in [
        "",
        "garbage",
        "t=abc,v1=00",
        "v1=deadbeef",
        &format!("t={T}"),
        &format!("t={T},v0=deadbeef"),
        &format!("t={T},t={T},v1=00"),
    ] {
        let e = webhooks::verify(&body, header, SECRET, DEFAULT_TOLERANCE, now()).unwrap_err();
        assert_eq!(
            reason(e),
            WebhookSignatureError::MalformedHeader,
            "{header:?}"
        );
    }
}

#[test]
fn any_of_several_v1_signatures_may_match() {
    let body = body();
    let good = webhooks::sign(&body, SECRET, T);
    let good_sig = good.split_once("v1=").unwrap().1;
    let old = webhooks::sign(&body, "whsec_old", T);
    let old_sig = old.split_once("v1=").unwrap().1;
    let header = format!("t={T},v1={old_sig},v1=nothex,v1={good_sig}");
    webhooks::verify(&body, &header, SECRET, DEFAULT_TOLERANCE, now()).unwrap();
    let header = format!("t={T}, v1={old_sig}");
    assert!(webhooks::verify(&body, &header, SECRET, DEFAULT_TOLERANCE, now()).is_err());
}

#[test]
fn unknown_event_types_and_objects_still_parse() {
    let body = br#"{"object":"event","id":"evt_9","type":"reward.gift_wrapped","created_at":"2026-11-23T10:00:00Z","data":{"object":{"object":"wrapping","id":"wrp_1"},"new_field":true}}"#;
    let header = webhooks::sign(body, SECRET, T);
    let ev = webhooks::construct_event_at(body, &header, SECRET, DEFAULT_TOLERANCE, now()).unwrap();
    assert_eq!(
        ev.event_type,
        EventType::Unknown("reward.gift_wrapped".into())
    );
    assert!(matches!(ev.object(), EventObject::Other(_)));
}

#[test]
fn a_campaign_state_change_carries_the_previous_status() {
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "event", "id": "evt_2", "type": "campaign.state_changed", "created_at": "2026-11-23T10:00:00Z",
        "data": {"previous_status": "approved", "object": {
            "object": "campaign", "id": "cmp_1", "app_id": "app_1", "status": "live", "name": "Demo",
            "brand_name": "Demo Fitness", "start_at": "2026-11-01T00:00:00Z", "end_at": "2026-12-31T00:00:00Z",
            "budget": {"amount": 500000, "currency": "USD"}, "cost_per_action": {"amount": 500, "currency": "USD"},
            "marketplaces": ["US"], "reward_groups": [], "moments": [], "announcement_message": "Hi",
            "redemption_message": "Enjoy", "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"}}
    }))
    .unwrap();
    let header = webhooks::sign(&body, SECRET, T);
    let ev =
        webhooks::construct_event_at(&body, &header, SECRET, DEFAULT_TOLERANCE, now()).unwrap();
    assert_eq!(ev.event_type, EventType::CampaignStateChanged);
    assert_eq!(
        ev.data.previous_status,
        Some(moments_client::models::CampaignStatus::Approved)
    );
    assert_eq!(ev.campaign().unwrap().status.as_str(), "live");
}

#[tokio::test]
async fn rotate_secret_posts_the_overlap_and_returns_the_new_secret() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/webhook_endpoints/whe_1/rotate_secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "object": "webhook_endpoint", "id": "whe_1", "url": "https://brand.example.com/hooks",
            "events": ["reward.issued"], "secret": "whsec_new_2b7c",
            "previous_secret_expires_at": "2026-11-24T10:00:00Z",
            "created_at": "2026-11-23T10:00:00Z"
        })))
        .mount(&server)
        .await;
    let c = common::client(&server);
    let ep = c
        .webhook_endpoints()
        .rotate_secret("whe_1", Some(Duration::from_secs(3600)))
        .await
        .unwrap();
    assert_eq!(ep.secret.as_deref(), Some("whsec_new_2b7c"));
    assert_eq!(
        ep.previous_secret_expires_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap())
    );
    assert!(!format!("{ep:?}").contains("whsec_new"), "Debug redacts it");
    // The server's default; a fraction of a second rounds up; zero stops the old secret at once.
    c.webhook_endpoints()
        .rotate_secret("whe_1", None)
        .await
        .unwrap();
    let half = Duration::from_millis(1500);
    c.webhook_endpoints()
        .rotate_secret("whe_1", Some(half))
        .await
        .unwrap();
    c.webhook_endpoints()
        .rotate_secret("whe_1", Some(Duration::ZERO))
        .await
        .unwrap();

    let reqs = server.received_requests().await.unwrap();
    let bodies: Vec<serde_json::Value> = reqs
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            serde_json::json!({"expires_in_seconds": 3600}),
            serde_json::json!({}),
            serde_json::json!({"expires_in_seconds": 2}),
            serde_json::json!({"expires_in_seconds": 0}),
        ]
    );
    for r in &reqs {
        let auth = r.headers.get("authorization").unwrap().to_str().unwrap();
        assert_eq!(auth, format!("Bearer {}", common::SECRET));
        assert!(r.headers.get("idempotency-key").is_some());
    }
}

#[tokio::test]
async fn a_refused_rotation_is_an_api_error_naming_the_field() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/webhook_endpoints/whe_1/rotate_secret"))
        .respond_with(common::error_body(
            "validation_error",
            400,
            Some("expires_in_seconds"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = common::client(&server);
    let e = c
        .webhook_endpoints()
        .rotate_secret("whe_1", Some(Duration::from_secs(8 * 86_400)))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.code(), Some(&moments_client::ErrorCode::ValidationError));
    let api = e.api_error().expect("an API error");
    assert_eq!(api.param.as_deref(), Some("expires_in_seconds"));
}
