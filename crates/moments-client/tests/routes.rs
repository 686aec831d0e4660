//! Every endpoint of docs/api.md goes to its method and path, with the right credential and an
//! Idempotency-Key on every /v1/ POST.

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::*;
use moments_client::models::*;
use moments_client::{MomentsClient, Redemptions, RetryPolicy};
use wiremock::{Mock, MockServer, matchers::any};

#[tokio::test]
async fn every_endpoint_uses_its_method_and_path() {
    let server = MockServer::builder().start().await;
    Mock::given(any())
        .respond_with(error_body("resource_not_found", 404, None))
        .mount(&server)
        .await;
    let c = MomentsClient::builder()
        .base_url(server.uri())
        .secret_key(SECRET)
        .legacy_api_key("mk_legacy")
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let t = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let create = CampaignCreate {
        name: "n".into(),
        brand_name: "b".into(),
        start_at: t,
        end_at: t + chrono::Duration::days(30),
        budget: Money::usd(50_000),
        cost_per_action: Money::usd(500),
        marketplaces: vec!["US".into()],
        reward_groups: vec![RewardGroup::new("US", "US", vec!["itm_echo_dot".into()])],
        moments: vec![Moment::new("first_workout")],
        announcement_message: "a".into(),
        redemption_message: "r".into(),
        landing_image_url: None,
        reward_expiry_seconds: None,
        fraud: None,
    };
    let legacy = LegacyRewardRequest {
        app_id: "app_1".into(),
        moment_id: "m".into(),
        device_type: DeviceType::Web,
        campaign_id: "cmp_1".into(),
        reward_group_id: "US".into(),
    };
    let trig = TriggerRequest::new("cmp_1", "m", DeviceType::Android).customer("c", "US");
    let redeem = RedeemRequest {
        item_id: "itm_1".into(),
        shipping_address: None,
    };

    let _ = c.apps().get().await;
    let _ = c.apps().list_api_keys().await;
    let _ = c
        .apps()
        .create_api_key(&ApiKeyCreate {
            name: Some("ci".into()),
        })
        .await;
    let _ = c.apps().revoke_api_key("key_1").await;
    let _ = c
        .customer_tokens()
        .create(&CustomerTokenCreate::new("cust_42", "US"))
        .await;
    let _ = c
        .catalog()
        .list(&ItemListParams {
            kind: Some(ItemKind::Digital),
            q: Some("gift card".into()),
            ..Default::default()
        })
        .await;
    let _ = c.catalog().get("itm_1").await;
    let _ = c.campaigns().create(&create).await;
    let _ = c.campaigns().get("cmp_1").await;
    let _ = c
        .campaigns()
        .list(&CampaignListParams {
            status: Some(CampaignStatus::Live),
            ..Default::default()
        })
        .await;
    let _ = c
        .campaigns()
        .update(
            "cmp_1",
            &CampaignUpdate {
                name: Some("x".into()),
                ..Default::default()
            },
        )
        .await;
    let _ = c.campaigns().submit("cmp_1").await;
    let _ = c.campaigns().approve("cmp_1").await;
    let _ = c.campaigns().reject("cmp_1", "no").await;
    let _ = c.campaigns().pause("cmp_1").await;
    let _ = c.campaigns().resume("cmp_1").await;
    let _ = c.campaigns().end("cmp_1").await;
    let _ = c.moments().trigger(&trig).await;
    let _ = c
        .moments()
        .reward_info(
            "cmp_1",
            "m",
            &RewardInfoParams {
                marketplace: Some("US".into()),
                segment: None,
            },
        )
        .await;
    let _ = c.rewards().get("rwd_1").await;
    let _ = c
        .rewards()
        .list(&RewardListParams {
            customer_id: Some("cust 42".into()),
            ..Default::default()
        })
        .await;
    let _ = c.rewards().cancel("rwd_1").await;
    let _ = c.redemptions().get("tok_1").await;
    let _ = c.redemptions().redeem("tok_1", &redeem).await;
    let _ = c.progress().list("cust_42", Some("cmp_1")).await;
    let _ = c.progress().mine(None).await;
    let _ = c
        .fraud_reviews()
        .list(&FraudReviewListParams {
            status: Some(ReviewDecision::Held),
            ..Default::default()
        })
        .await;
    let _ = c.fraud_reviews().release("rwd_1").await;
    let _ = c.fraud_reviews().block("rwd_1").await;
    let _ = c
        .reports()
        .get(&ReportParams {
            campaign_id: Some("cmp_1".into()),
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            to: NaiveDate::from_ymd_opt(2026, 11, 30),
            group_by: Some(GroupBy::Day),
        })
        .await;
    let _ = c
        .webhook_endpoints()
        .create(&WebhookEndpointCreate {
            url: "https://x/hook".into(),
            events: vec![EventType::RewardIssued],
        })
        .await;
    let _ = c.webhook_endpoints().list().await;
    let _ = c.webhook_endpoints().get("whe_1").await;
    let _ = c.webhook_endpoints().delete("whe_1").await;
    let _ = c.webhook_endpoints().rotate_secret("whe_1", None).await;
    let _ = c.legacy().get_reward_info(&legacy).await;
    let _ = c.legacy().get_reward(&legacy).await;

    let expected = [
        ("GET", "/v1/app", None),
        ("GET", "/v1/api_keys", None),
        ("POST", "/v1/api_keys", None),
        ("DELETE", "/v1/api_keys/key_1", None),
        ("POST", "/v1/customer_tokens", None),
        ("GET", "/v1/catalog/items", Some("kind=digital&q=gift+card")),
        ("GET", "/v1/catalog/items/itm_1", None),
        ("POST", "/v1/campaigns", None),
        ("GET", "/v1/campaigns/cmp_1", None),
        ("GET", "/v1/campaigns", Some("status=live")),
        ("PATCH", "/v1/campaigns/cmp_1", None),
        ("POST", "/v1/campaigns/cmp_1/submit", None),
        ("POST", "/v1/campaigns/cmp_1/approve", None),
        ("POST", "/v1/campaigns/cmp_1/reject", None),
        ("POST", "/v1/campaigns/cmp_1/pause", None),
        ("POST", "/v1/campaigns/cmp_1/resume", None),
        ("POST", "/v1/campaigns/cmp_1/end", None),
        ("POST", "/v1/triggers", None),
        (
            "GET",
            "/v1/campaigns/cmp_1/moments/m/reward_info",
            Some("marketplace=US"),
        ),
        ("GET", "/v1/rewards/rwd_1", None),
        ("GET", "/v1/rewards", Some("customer_id=cust+42")),
        ("POST", "/v1/rewards/rwd_1/cancel", None),
        ("GET", "/v1/redemptions/tok_1", None),
        ("POST", "/v1/redemptions/tok_1", None),
        (
            "GET",
            "/v1/customers/cust_42/progress",
            Some("campaign_id=cmp_1"),
        ),
        ("GET", "/v1/customers/me/progress", None),
        ("GET", "/v1/fraud_reviews", Some("status=held")),
        ("POST", "/v1/fraud_reviews/rwd_1/release", None),
        ("POST", "/v1/fraud_reviews/rwd_1/block", None),
        (
            "GET",
            "/v1/reports",
            Some("campaign_id=cmp_1&from=2026-11-01&to=2026-11-30&group_by=day"),
        ),
        ("POST", "/v1/webhook_endpoints", None),
        ("GET", "/v1/webhook_endpoints", None),
        ("GET", "/v1/webhook_endpoints/whe_1", None),
        ("DELETE", "/v1/webhook_endpoints/whe_1", None),
        ("POST", "/v1/webhook_endpoints/whe_1/rotate_secret", None),
        ("POST", "/prod/GetRewardInfo", None),
        ("POST", "/prod/GetReward", None),
    ];
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), expected.len());
    for (r, (m, p, q)) in reqs.iter().zip(expected) {
        assert_eq!((r.method.as_str(), r.url.path()), (m, p));
        assert_eq!(r.url.query(), q, "{m} {p}");
        let auth = r
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        let key = r.headers.get("idempotency-key");
        let ua = r.headers.get("user-agent").unwrap().to_str().unwrap();
        assert!(ua.starts_with("moments-client-rust/"), "{ua}");
        if p.starts_with("/prod/") {
            assert_eq!(r.headers.get("x-api-key").unwrap(), "mk_legacy");
            assert!(auth.is_none());
        } else if p.starts_with("/v1/redemptions/") {
            assert!(auth.is_none(), "{m} {p} takes no credential");
        } else {
            assert_eq!(auth.as_deref(), Some(format!("Bearer {SECRET}").as_str()));
            assert!(r.headers.get("x-api-key").is_none());
        }
        assert_eq!(
            key.is_some(),
            m == "POST" && p.starts_with("/v1/"),
            "{m} {p}"
        );
        if !r.body.is_empty() {
            assert_eq!(r.headers.get("content-type").unwrap(), "application/json");
        }
    }
    // Bodies are what the contract names.
    let body = |i: usize| serde_json::from_slice::<serde_json::Value>(&reqs[i].body).unwrap();
    assert_eq!(body(13), serde_json::json!({"reason": "no"}));
    assert_eq!(
        body(17),
        serde_json::json!({"campaign_id": "cmp_1", "moment_id": "m",
            "customer": {"id": "c", "marketplace": "US"}, "device": {"type": "Android"}})
    );
    assert_eq!(body(10), serde_json::json!({"name": "x"}));
    assert!(reqs[11].body.is_empty());
}

#[test]
fn reward_url_tokens_are_extracted() {
    assert_eq!(
        Redemptions::token_from_url("http://127.0.0.1:8080/r/Xk3abc"),
        Some("Xk3abc")
    );
    assert_eq!(
        Redemptions::token_from_url("https://x/r/tok?utm=1"),
        Some("tok")
    );
    assert_eq!(Redemptions::token_from_url("https://x/other/tok"), None);
    assert_eq!(Redemptions::token_from_url("https://x/r/"), None);
}

#[test]
fn unknown_enum_values_and_fields_decode() {
    let mut r = reward_json("rwd_9");
    r["status"] = "gift_wrapped".into();
    r["device_type"] = "VisionOS".into();
    r["brand_new_field"] = serde_json::json!({"x": 1});
    let reward: Reward = serde_json::from_value(r).unwrap();
    assert_eq!(reward.status, RewardStatus::Unknown("gift_wrapped".into()));
    assert_eq!(reward.device_type.as_str(), "VisionOS");
    let back = serde_json::to_value(&reward).unwrap();
    assert_eq!(back["status"], "gift_wrapped");
}
