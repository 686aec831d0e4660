//! Threat-model claims about leaked keys, replayed requests and reward farming
//! (`docs/security.md`), each shown over real HTTP against an in-process mock.

use moments_mock_server::MockServer;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    base: String,
    secret: String,
    campaign: String,
}

struct Answer {
    status: u16,
    body: Value,
    replayed: bool,
}

impl Api {
    async fn start(server: &MockServer) -> Api {
        let http = reqwest::Client::new();
        let base = server.base_url();
        let demo: Value = http
            .get(format!("{base}/_mock/demo"))
            .send()
            .await
            .expect("demo")
            .json()
            .await
            .expect("JSON");
        Api {
            http,
            base,
            secret: demo["secret_key"].as_str().expect("secret").to_owned(),
            campaign: demo["campaign_id"].as_str().expect("campaign").to_owned(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(auth);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("answer");
        let status = res.status().as_u16();
        let replayed = res
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        let body = res.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            body,
            replayed,
        }
    }

    fn trigger_body(&self, customer: &str, device: &str, ip: &str) -> Value {
        json!({"campaign_id": self.campaign, "moment_id": "first_workout",
               "customer": {"id": customer, "marketplace": "US"},
               "device": {"type": "Android", "id": device, "ip": ip}})
    }

    async fn rewards_of(&self, customer: &str, auth: &str) -> Vec<Value> {
        let a = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/rewards?customer_id={customer}"),
                auth,
                None,
                None,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["data"].as_array().expect("data").clone()
    }
}

/// A leaked secret key is rotated out: the revoked key stops at once, the new key works, and
/// de-duplication survives the rotation (keys are scoped to the app, not the credential).
#[tokio::test]
async fn a_revoked_key_stops_at_once_and_rotation_keeps_idempotency() {
    let server = MockServer::start().await.expect("mock");
    let api = Api::start(&server).await;
    let body = api.trigger_body("cust_rotate", "dev-rotate", "10.1.0.1");
    let first = api
        .call(
            reqwest::Method::POST,
            "/v1/triggers",
            &api.secret,
            Some("rotate-1"),
            Some(&body),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);

    let new_key = api
        .call(
            reqwest::Method::POST,
            "/v1/api_keys",
            &api.secret,
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
        .call(
            reqwest::Method::GET,
            "/v1/api_keys",
            &new_secret,
            None,
            None,
        )
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
        .call(
            reqwest::Method::GET,
            "/v1/api_keys",
            &new_secret,
            None,
            None,
        )
        .await;
    assert!(!listed.body.to_string().contains(&new_secret));
    assert!(!listed.body.to_string().contains(&api.secret));

    let revoked = api
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/api_keys/{old_id}"),
            &new_secret,
            None,
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let old = api
        .call(reqwest::Method::GET, "/v1/app", &api.secret, None, None)
        .await;
    assert_eq!(
        (old.status, old.body["error"]["code"].as_str()),
        (401, Some("invalid_api_key"))
    );

    let replay = api
        .call(
            reqwest::Method::POST,
            "/v1/triggers",
            &new_secret,
            Some("rotate-1"),
            Some(&body),
        )
        .await;
    assert_eq!(replay.status, 200);
    assert!(replay.replayed, "the replay is marked");
    assert_eq!(replay.body, first.body, "the replay is the first answer");
    assert_eq!(api.rewards_of("cust_rotate", &new_secret).await.len(), 1);
    server.shutdown().await;
}

/// A captured trigger replayed by an attacker — same key, another key, or a tweaked body —
/// never issues a second reward.
#[tokio::test]
async fn replayed_requests_never_issue_a_second_reward() {
    let server = MockServer::start().await.expect("mock");
    let api = Api::start(&server).await;
    let body = api.trigger_body("cust_replay", "dev-replay", "10.1.0.2");
    let first = api
        .call(
            reqwest::Method::POST,
            "/v1/triggers",
            &api.secret,
            Some("cap-1"),
            Some(&body),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    for _ in 0..5 {
        let again = api
            .call(
                reqwest::Method::POST,
                "/v1/triggers",
                &api.secret,
                Some("cap-1"),
                Some(&body),
            )
            .await;
        assert_eq!(again.body, first.body);
        assert!(again.replayed);
    }
    let mut tweaked = body.clone();
    tweaked["device"]["type"] = json!("Web");
    let conflict = api
        .call(
            reqwest::Method::POST,
            "/v1/triggers",
            &api.secret,
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
            reqwest::Method::POST,
            "/v1/triggers",
            &api.secret,
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
    assert_eq!(api.rewards_of("cust_replay", &api.secret).await.len(), 1);
    server.shutdown().await;
}

/// Reward farming with many accounts on one device: past `max_customers_per_device` (3) the
/// reward is held for review and its link does not work; velocity per IP refuses with 429.
#[tokio::test]
async fn farming_many_accounts_on_one_device_is_held_for_review() {
    let server = MockServer::start().await.expect("mock");
    let api = Api::start(&server).await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let body = api.trigger_body(
            &format!("cust_farm_{i}"),
            "dev-farm",
            &format!("10.2.0.{i}"),
        );
        let a = api
            .call(
                reqwest::Method::POST,
                "/v1/triggers",
                &api.secret,
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
            reqwest::Method::GET,
            "/v1/fraud_reviews?status=held",
            &api.secret,
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
                reqwest::Method::POST,
                "/v1/triggers",
                &api.secret,
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
    server.shutdown().await;
}
