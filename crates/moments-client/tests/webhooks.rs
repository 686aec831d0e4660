//! Webhook signature verification and event parsing.

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
