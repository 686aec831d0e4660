//! Threat-model claims about leaked keys, replayed requests and reward farming
//! (`docs/security.md`), each shown over real HTTP against an in-process mock.

use moments_e2e::mock::Mock;
use serde_json::{Value, json};

/// The requests these tests repeat, on the shared harness.
trait FraudApi {
    /// A trigger of the demo campaign's first moment from a customer, device and IP.
    fn trigger_body(&self, customer: &str, device: &str, ip: &str) -> Value;
    /// The rewards of a customer, read with `auth`.
    async fn rewards_of(&self, customer: &str, auth: &str) -> Vec<Value>;
}

impl FraudApi for Mock {
    fn trigger_body(&self, customer: &str, device: &str, ip: &str) -> Value {
        json!({"campaign_id": self.campaign, "moment_id": "first_workout",
               "customer": {"id": customer, "marketplace": "US"},
               "device": {"type": "Android", "id": device, "ip": ip}})
    }

    async fn rewards_of(&self, customer: &str, auth: &str) -> Vec<Value> {
        let a = self
            .call(
                "GET",
                &format!("/v1/rewards?customer_id={customer}"),
                Some(auth),
                None,
                None,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        a.body["data"].as_array().expect("data").clone()
    }
}

/// A leaked secret key is rotated out: the revoked key stops at once, the new key works, and
/// de-duplication survives the rotation (keys are scoped to the app, not the credential).
#[tokio::test]
async fn a_revoked_key_stops_at_once_and_rotation_keeps_idempotency() {
    let api = Mock::start().await;
    let body = api.trigger_body("cust_rotate", "dev-rotate", "10.1.0.1");
    let first = api
        .call(
            "POST",
            "/v1/triggers",
            Some(&api.key),
            Some("rotate-1"),
            Some(&body),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);

    let new_key = api
        .call(
            "POST",
            "/v1/api_keys",
            Some(&api.key),
            Some("new-key"),
            Some(&json!({"name": "rotated"})),
        )
        .await;
    assert_eq!(new_key.status, 201, "{}", new_key.body);
    let new_secret = new_key.body["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    let old_id = api
        .call("GET", "/v1/api_keys", Some(&new_secret), None, None)
        .await
        .body["data"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["id"] != new_key.body["id"])
        .expect("the old key")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Listing never shows a secret again.
    let listed = api
        .call("GET", "/v1/api_keys", Some(&new_secret), None, None)
        .await;
    assert!(!listed.body.to_string().contains(&new_secret));
    assert!(!listed.body.to_string().contains(&api.key));

    let revoked = api
        .call(
            "DELETE",
            &format!("/v1/api_keys/{old_id}"),
            Some(&new_secret),
            None,
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let old = api.call("GET", "/v1/app", Some(&api.key), None, None).await;
    assert_eq!(
        (old.status, old.body["error"]["code"].as_str()),
        (401, Some("invalid_api_key"))
    );

    let replay = api
        .call(
            "POST",
            "/v1/triggers",
            Some(&new_secret),
            Some("rotate-1"),
            Some(&body),
        )
        .await;
    assert_eq!(replay.status, 200);
    assert!(
        replay.header("idempotent-replayed").as_deref() == Some("true"),
        "the replay is marked"
    );
    assert_eq!(replay.body, first.body, "the replay is the first answer");
    assert_eq!(api.rewards_of("cust_rotate", &new_secret).await.len(), 1);
    api.server.shutdown().await;
}

/// A captured trigger replayed by an attacker — same key, another key, or a tweaked body —
/// never issues a second reward.
#[tokio::test]
async fn replayed_requests_never_issue_a_second_reward() {
    let api = Mock::start().await;
    let body = api.trigger_body("cust_replay", "dev-replay", "10.1.0.2");
    let first = api
        .call(
            "POST",
            "/v1/triggers",
            Some(&api.key),
            Some("cap-1"),
            Some(&body),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    for _ in 0..5 {
        let again = api
            .call(
                "POST",
                "/v1/triggers",
                Some(&api.key),
                Some("cap-1"),
                Some(&body),
            )
            .await;
        assert_eq!(again.body, first.body);
        assert!(again.header("idempotent-replayed").as_deref() == Some("true"));
    }
    let mut tweaked = body.clone();
    tweaked["device"]["type"] = json!("Web");
    let conflict = api
        .call(
            "POST",
            "/v1/triggers",
            Some(&api.key),
            Some("cap-1"),
            Some(&tweaked),
        )
        .await;
    assert_eq!(
        (conflict.status, conflict.body["error"]["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    let fresh = api
        .call(
            "POST",
            "/v1/triggers",
            Some(&api.key),
            Some("cap-2"),
            Some(&body),
        )
        .await;
    assert_eq!(
        (fresh.status, fresh.body["error"]["code"].as_str()),
        (422, Some("frequency_cap_reached")),
        "a new key for the same customer and moment: {}",
        fresh.body
    );
    assert_eq!(api.rewards_of("cust_replay", &api.key).await.len(), 1);
    api.server.shutdown().await;
}

/// Reward farming with many accounts on one device: past `max_customers_per_device` (3) the
/// reward is held for review and its link does not work; velocity per IP refuses with 429.
#[tokio::test]
async fn farming_many_accounts_on_one_device_is_held_for_review() {
    let api = Mock::start().await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let body = api.trigger_body(
            &format!("cust_farm_{i}"),
            "dev-farm",
            &format!("10.2.0.{i}"),
        );
        let a = api
            .call(
                "POST",
                "/v1/triggers",
                Some(&api.key),
                Some(&format!("farm-{i}")),
                Some(&body),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        statuses.push(a.body["reward"].clone());
    }
    for (i, r) in statuses.iter().enumerate() {
        let want = if i < 3 { "issued" } else { "flagged" };
        assert_eq!(r["status"], want, "customer {i}: {r}");
    }
    let held = &statuses[3];
    assert_eq!(held["flag"]["reason_code"], "device_shared", "{held}");
    let page = api
        .http
        .get(held["url"].as_str().expect("url"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 403, "a held reward's link does not work");
    let reviews = api
        .call(
            "GET",
            "/v1/fraud_reviews?status=held",
            Some(&api.key),
            None,
            None,
        )
        .await;
    assert_eq!(
        reviews.body["data"].as_array().map(Vec::len),
        Some(2),
        "{}",
        reviews.body
    );

    // One IP, many customers and devices: refused once the hourly IP limit (100) is reached.
    let mut refused = None;
    for i in 0..110 {
        let body = api.trigger_body(&format!("cust_ip_{i}"), &format!("dev-ip-{i}"), "10.3.3.3");
        let a = api
            .call(
                "POST",
                "/v1/triggers",
                Some(&api.key),
                Some(&format!("ip-{i}")),
                Some(&body),
            )
            .await;
        if a.status == 429 {
            refused = Some((i, a.body));
            break;
        }
    }
    let (i, body) = refused.expect("the IP velocity limit refuses");
    assert_eq!(body["error"]["code"], "velocity_limit_exceeded", "{body}");
    assert_eq!(body["error"]["retryable"], true);
    assert!(i <= 100, "refused only after {i} actions");
    api.server.shutdown().await;
}
