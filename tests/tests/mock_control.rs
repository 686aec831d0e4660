//! The control API, fault injection, the compatibility endpoints, bad input and webhooks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use moments_e2e::mock::Mock;
use serde_json::{Value, json};
use sha2::Sha256;

#[tokio::test]
async fn reset_demo_apps_and_fixtures() {
    let m = Mock::start().await;
    let demo = m.call("GET", "/_mock/demo", None, None, None).await;
    assert_eq!(
        demo.body["secret_key"],
        "sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc"
    );
    assert_eq!(demo.body["api_key"], "mk_demo_8f2b9c1d4e5a6b7c");
    assert_eq!(
        demo.body["moment_ids"],
        json!(["first_workout", "five_workouts", "level_5"])
    );
    // Who may report each, from the seeded campaign itself.
    let reportable: Vec<(&str, bool)> = demo.body["moments"]
        .as_array()
        .expect("moments")
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap(),
                m["client_reportable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reportable,
        [
            ("first_workout", true),
            ("five_workouts", true),
            ("level_5", false)
        ]
    );
    assert_eq!(demo.body["moments"][1]["goal"]["target"], 5);
    assert_eq!(demo.body["base_url"], m.base);
    assert!(demo.header("x-request-id").unwrap().starts_with("req_"));
    let c = m.get(&format!("/v1/campaigns/{}", m.campaign)).await;
    assert_eq!(c.body["status"], "live");
    assert_eq!(c.body["budget"]["amount"], 500_000);

    // A new app in a new account, and one sharing the demo account.
    let app = m.control("/_mock/apps", json!({"name": "Other"})).await;
    assert_eq!(app.status, 201);
    let other_key = app.body["secret_key"].as_str().unwrap().to_string();
    let not_mine = m
        .call(
            "GET",
            &format!("/v1/campaigns/{}", m.campaign),
            Some(&other_key),
            None,
            None,
        )
        .await;
    assert_eq!(
        (not_mine.status, not_mine.code()),
        (404, "resource_not_found")
    );
    let same = m
        .control(
            "/_mock/apps",
            json!({"name": "Sibling", "account_id": demo.body["account_id"]}),
        )
        .await;
    assert_eq!(same.body["account_id"], demo.body["account_id"]);

    // Fixtures: an app and a live campaign with given ids.
    let body = m.campaign_body(-60, 10_000, 500).await;
    let f = m
        .control("/_mock/fixtures", json!({"apps": [{"id": "app_fx", "name": "Fixture app", "secret_key": "sk_test_fixture_key_0123456789abcdef0123"}],
                                           "campaigns": [{"id": "cmp_fx", "app_id": "app_fx", "status": "approved", "campaign": body}]}))
        .await;
    assert_eq!(f.status, 201, "{}", f.text);
    let t = m
        .call("POST", "/v1/triggers", Some("sk_test_fixture_key_0123456789abcdef0123"), Some("fx1"),
              Some(&json!({"campaign_id": "cmp_fx", "moment_id": "m1", "customer": {"id": "c", "marketplace": "US"}, "device": {"type": "Web"}})))
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let dup = m
        .control(
            "/_mock/fixtures",
            json!({"apps": [{"id": "app_fx", "name": "again"}]}),
        )
        .await;
    assert_eq!(dup.status, 400);

    // Reset: back to the seed.
    m.trigger(&m.campaign.clone(), "first_workout", "r1", "US")
        .await;
    m.advance(3600).await;
    assert_eq!(m.control("/_mock/reset", json!({})).await.status, 200);
    assert_eq!(
        m.get(&format!("/v1/campaigns/{}", m.campaign)).await.body["spend"]["spent"]["amount"],
        0
    );
    assert_eq!(
        m.call("GET", "/v1/app", Some(&other_key), None, None)
            .await
            .status,
        401
    );
    let clock = m.call("GET", "/_mock/clock", None, None, None).await;
    assert_eq!(clock.body["frozen"], false);
    assert!(clock.body["offset_seconds"].as_i64().unwrap().abs() <= 1);
}

#[tokio::test]
async fn clock_get_set_advance() {
    let m = Mock::start().await;
    let before = m.now().await;
    let now = m.freeze().await;
    assert!(
        now >= before,
        "frozen at {now}, before that it was {before}"
    );
    let c = m.call("GET", "/_mock/clock", None, None, None).await;
    assert_eq!(c.body["frozen"], true);
    assert_eq!(m.now().await, now, "a frozen clock does not move");
    let a = m.advance(90).await;
    assert_eq!(
        a.body["now"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        now + chrono::Duration::seconds(90)
    );
    let back = m
        .control("/_mock/clock/set", json!({"now": now.to_rfc3339()}))
        .await;
    assert_eq!((back.status, back.code()), (400, "validation_error"));
    let neg = m
        .control("/_mock/clock/advance", json!({"seconds": -1}))
        .await;
    assert_eq!(neg.body["error"]["param"], "seconds");
    // The demo campaign finishes at its end date.
    m.advance(91 * 86_400).await;
    assert_eq!(
        m.get(&format!("/v1/campaigns/{}", m.campaign)).await.body["status"],
        "finished"
    );
    let t = m
        .trigger(&m.campaign.clone(), "first_workout", "late", "US")
        .await;
    assert_eq!((t.status, t.code()), (422, "campaign_not_live"));
}

#[tokio::test]
async fn faults_status_latency_rate_limit_and_reset() {
    let m = Mock::start().await;
    let add = m
        .control(
            "/_mock/faults",
            json!({"route": "POST /v1/triggers", "count": 2, "status": 503}),
        )
        .await;
    assert_eq!(add.status, 201, "{}", add.text);
    assert_eq!(
        m.call("GET", "/_mock/faults", None, None, None).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let key = m.key.clone();
    let body = json!({"campaign_id": m.campaign, "moment_id": "first_workout", "customer": {"id": "f1", "marketplace": "US"}, "device": {"type": "Web"}});
    for _ in 0..2 {
        let a = m
            .call(
                "POST",
                "/v1/triggers",
                Some(&key),
                Some("fault-key"),
                Some(&body),
            )
            .await;
        assert_eq!((a.status, a.code()), (503, "service_unavailable"));
        assert_eq!(a.body["error"]["retryable"], true);
    }
    // The faulted requests had no effect; the same key now runs for real.
    let ok = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&key),
            Some("fault-key"),
            Some(&body),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert!(ok.header("idempotent-replayed").is_none());

    // Route templates, any method, rate limiting.
    m.control(
        "/_mock/faults",
        json!({"route": "* /v1/campaigns/{id}", "action": "rate_limit", "retry_after_seconds": 7}),
    )
    .await;
    let r = m.get(&format!("/v1/campaigns/{}", m.campaign)).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    assert_eq!(r.header("retry-after").as_deref(), Some("7"));
    assert_eq!(
        m.get(&format!("/v1/campaigns/{}", m.campaign)).await.status,
        200
    );

    // Latency alone: answers normally (no timing assertion).
    m.control(
        "/_mock/faults",
        json!({"route": "GET /v1/app", "latency_ms": 20}),
    )
    .await;
    assert_eq!(m.get("/v1/app").await.status, 200);

    // Connection reset: the client sees a connection error, not an HTTP answer.
    m.control(
        "/_mock/faults",
        json!({"route": "GET /v1/app", "action": "reset"}),
    )
    .await;
    let err = m
        .http
        .get(format!("{}/v1/app", m.base))
        .bearer_auth(&key)
        .send()
        .await;
    assert!(err.is_err(), "expected a connection error, got {err:?}");
    assert_eq!(m.get("/v1/app").await.status, 200);

    // Clear.
    m.control(
        "/_mock/faults",
        json!({"route": "GET /v1/app", "status": 500, "count": 5}),
    )
    .await;
    assert_eq!(
        m.call("DELETE", "/_mock/faults", None, None, None)
            .await
            .status,
        200
    );
    assert_eq!(m.get("/v1/app").await.status, 200);
    let bad = m.control("/_mock/faults", json!({"route": "nope"})).await;
    assert_eq!(bad.code(), "validation_error");
    // A route the mock does not serve would never fire: refused, naming the field.
    let typo = m
        .control(
            "/_mock/faults",
            json!({"route": "POST /v1/trigger", "status": 503}),
        )
        .await;
    assert_eq!(
        (typo.code(), typo.body["error"]["param"].as_str()),
        ("validation_error", Some("route")),
        "{}",
        typo.text
    );

    // The journal records every request with its id, route and fault.
    let j = m
        .call("GET", "/_mock/journal?limit=10000", None, None, None)
        .await;
    let entries = j.body["data"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["fault"].as_str().is_some_and(|f| f.contains("reset")) && e["status"] == 0)
    );
    assert!(
        entries
            .iter()
            .any(|e| e["route"] == "/v1/campaigns/{id}" && e["status"] == 429)
    );
    assert!(
        entries
            .iter()
            .all(|e| e["request_id"].as_str().unwrap().starts_with("req_"))
    );
    assert!(
        entries
            .iter()
            .any(|e| e["idempotency_key"] == "fault-key" && e["status"] == 200)
    );
    assert_eq!(
        m.call("DELETE", "/_mock/journal", None, None, None)
            .await
            .status,
        200
    );
    let j = m.call("GET", "/_mock/journal", None, None, None).await;
    assert!(j.body["data"].as_array().unwrap().len() <= 1);
}

#[tokio::test]
async fn compat_endpoints_answer_and_carry_the_error_text() {
    let m = Mock::start().await;
    let demo = m.server.demo().clone();
    let body = json!({"appId": demo.app_id, "momentId": "first_workout", "deviceType": "Android", "campaignId": demo.campaign_id, "rewardGroupId": "US"});
    let post = |path: &'static str, key: Option<&'static str>, b: Value| {
        let m = &m;
        async move {
            let mut r = m.http.post(format!("{}{path}", m.base)).json(&b);
            if let Some(k) = key {
                r = r.header("x-api-key", k);
            }
            let res = r.send().await.unwrap();
            let st = res.status().as_u16();
            let ra = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (st, res.json::<Value>().await.unwrap(), ra)
        }
    };
    let key = Some("mk_demo_8f2b9c1d4e5a6b7c");
    let (st, info, _) = post("/prod/GetRewardInfo", key, body.clone()).await;
    assert_eq!(st, 200);
    assert_eq!(
        info["rewardNotificationText"],
        "Complete your first workout and get a gift!"
    );
    assert_eq!(info["rewardNotificationUrl"], Value::Null);
    assert!(info["remainingRewardCount"].as_i64().unwrap() > 0);
    let (st, r1, _) = post("/prod/GetReward", key, body.clone()).await;
    assert_eq!(st, 200);
    let (_, r2, _) = post("/prod/GetReward", key, body.clone()).await;
    assert_ne!(
        r1["rewardNotificationUrl"], r2["rewardNotificationUrl"],
        "unique URL per call when live"
    );
    assert!(r1["campaignEndDate"].as_str().unwrap().ends_with('Z'));
    let mut bad = body.clone();
    bad["campaignId"] = json!("cmp_nope");
    let (st, e, _) = post("/prod/GetReward", key, bad).await;
    assert_eq!(st, 404);
    assert_eq!(e["errorCode"], "resource_not_found");
    assert!(
        e["rewardNotificationText"]
            .as_str()
            .unwrap()
            .contains("cmp_nope")
    );
    assert_eq!(e["rewardNotificationUrl"], Value::Null);
    // The rate limit: tests/tests/trust_boundary.rs (it counts real time).
    let (st, e, _) = post("/prod/GetReward", None, body.clone()).await;
    assert_eq!(st, 403);
    assert_eq!(e["errorCode"], "authentication_required");
}

#[tokio::test]
async fn bad_input_is_refused_with_the_envelope_and_changes_nothing() {
    let m = Mock::start().await;
    let key = m.key.clone();
    let camp = m.campaign.clone();
    let before = m.get(&format!("/v1/campaigns/{camp}")).await.body;
    let send_raw = |body: &'static str| {
        let m = &m;
        let key = key.clone();
        async move {
            let res = m
                .http
                .post(format!("{}/v1/triggers", m.base))
                .bearer_auth(key)
                .header("Idempotency-Key", m.idem())
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let st = res.status().as_u16();
            (st, res.json::<Value>().await.unwrap())
        }
    };
    let (st, e) = send_raw("{not json").await;
    assert_eq!(
        (st, e["error"]["code"].as_str().unwrap()),
        (400, "invalid_json")
    );
    assert!(
        e["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    let (st, e) = send_raw("[1,2]").await;
    assert_eq!(
        (st, e["error"]["code"].as_str().unwrap()),
        (400, "invalid_json")
    );
    let wrong = json!({"campaign_id": camp, "moment_id": "first_workout", "customer": {"id": "b", "marketplace": "US"}, "device": {"type": "Android"}, "quantity": "five"});
    let a = m.post("/v1/triggers", wrong).await;
    assert_eq!(
        (a.status, a.body["error"]["param"].as_str()),
        (400, Some("quantity"))
    );
    let a = m.post("/v1/triggers", json!({"campaign_id": camp, "moment_id": "first_workout", "customer": {"id": "b", "marketplace": "US"}, "device": {"type": "Palm"}})).await;
    assert_eq!(a.body["error"]["param"], "device.type");
    let a = m.post("/v1/triggers", json!({"campaign_id": camp, "moment_id": "first_workout", "device": {"type": "Web"}, "customer": {"id": "b", "marketplace": "US", "segmnt": "x"}})).await;
    assert_eq!(a.body["error"]["param"], "customer.segmnt");
    let a = m
        .post(
            "/v1/triggers",
            json!({"moment_id": "first_workout", "device": {"type": "Web"}}),
        )
        .await;
    assert_eq!(a.body["error"]["param"], "campaign_id");
    let mut cb = m.campaign_body(60, 10_000, 500).await;
    cb["moments"] = json!([{"id": "m1", "goal": {"target": 0, "window_seconds": 60}}]);
    let a = m.post("/v1/campaigns", cb).await;
    assert_eq!(a.body["error"]["param"], "moments[0].goal.target");

    // Oversized body.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024));
    let res = m
        .http
        .post(format!("{}/v1/campaigns", m.base))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "payload_too_large"
    );
    let res = m
        .http
        .post(format!("{}/v1/api_keys", m.base))
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);

    // Unknown ids, routes, methods, transitions.
    assert_eq!(
        m.get("/v1/campaigns/cmp_nope").await.code(),
        "resource_not_found"
    );
    assert_eq!(m.get("/v1/rewards/rwd_nope").await.status, 404);
    assert_eq!(m.get("/v1/nothing").await.code(), "route_not_found");
    assert_eq!(
        m.call("PUT", "/v1/campaigns", Some(&key), None, None)
            .await
            .code(),
        "method_not_allowed"
    );
    let t = m
        .post(&format!("/v1/campaigns/{camp}/submit"), json!({}))
        .await;
    assert_eq!(
        (t.status, t.code(), t.body["error"]["param"].as_str()),
        (409, "invalid_state_transition", Some("status"))
    );
    let p = m
        .call(
            "PATCH",
            &format!("/v1/campaigns/{camp}"),
            Some(&key),
            None,
            Some(&json!({"marketplaces": ["US"]})),
        )
        .await;
    assert_eq!(
        (p.status, p.body["error"]["param"].as_str()),
        (409, Some("marketplaces"))
    );
    let t = m.trigger(&camp, "no_such_moment", "b", "US").await;
    assert_eq!(t.status, 404);

    // Credentials.
    let a = m.call("GET", "/v1/app", None, None, None).await;
    assert_eq!((a.status, a.code()), (401, "authentication_required"));
    let a = m
        .call(
            "GET",
            "/v1/app",
            Some("sk_test_wrong_wrong_wrong_wrong_wrong_wrong"),
            None,
            None,
        )
        .await;
    assert_eq!((a.status, a.code()), (401, "invalid_api_key"));
    assert!(!a.text.contains("sk_test_wrong"), "never echo credentials");

    // Nothing changed.
    let after = m.get(&format!("/v1/campaigns/{camp}")).await.body;
    assert_eq!(before, after);
    assert_eq!(
        m.get("/v1/rewards").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Key rotation: a revoked key stops working.
    let k2 = m.post("/v1/api_keys", json!({"name": "new"})).await;
    let kid = k2.body["id"].as_str().unwrap();
    let secret2 = k2.body["secret"].as_str().unwrap().to_string();
    let listed = m.get("/v1/api_keys").await;
    assert!(!listed.text.contains(&secret2), "secrets masked in lists");
    // Used before it is revoked (through the idempotency layer too), so the server has resolved it.
    assert_eq!(app_as(&m, &secret2).await.status, 200);
    let made = new_key_as(&m, &secret2, "rot-1").await;
    assert_eq!(made.status, 201, "{}", made.text);
    m.call(
        "DELETE",
        &format!("/v1/api_keys/{kid}"),
        Some(&key),
        None,
        None,
    )
    .await;
    assert_eq!(app_as(&m, &secret2).await.code(), "invalid_api_key");
    let replay = new_key_as(&m, &secret2, "rot-1").await;
    assert_eq!(
        (replay.status, replay.code()),
        (401, "invalid_api_key"),
        "a revoked key gets no replay either"
    );

    // A reset forgets every key made since the seed, even one the server has just resolved.
    let k3 = m
        .post("/v1/api_keys", json!({"name": "before reset"}))
        .await;
    let secret3 = k3.body["secret"].as_str().unwrap().to_string();
    assert_eq!(app_as(&m, &secret3).await.status, 200);
    assert_eq!(m.control("/_mock/reset", json!({})).await.status, 200);
    assert_eq!(app_as(&m, &secret3).await.code(), "invalid_api_key");
}

/// `GET /v1/app` with `secret`.
async fn app_as(m: &Mock, secret: &str) -> moments_e2e::mock::Answer {
    m.call("GET", "/v1/app", Some(secret), None, None).await
}

/// `POST /v1/api_keys` with `secret` under the idempotency key `key`.
async fn new_key_as(m: &Mock, secret: &str, key: &str) -> moments_e2e::mock::Answer {
    let named = json!({"name": "by the new key"});
    m.call(
        "POST",
        "/v1/api_keys",
        Some(secret),
        Some(key),
        Some(&named),
    )
    .await
}

type Received = Arc<Mutex<Vec<(String, String, String)>>>;

async fn webhook_listener(fail_first: usize) -> (String, Received) {
    let got: Received = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (g, calls) = (g.clone(), calls.clone());
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let h = |k: &str| {
                    headers
                        .get(k)
                        .map(|v| v.to_str().unwrap().to_string())
                        .unwrap_or_default()
                };
                g.lock()
                    .unwrap()
                    .push((h("moments-signature"), h("moments-event-type"), body));
                if n < fail_first {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

fn verify(secret: &str, header: &str, body: &str) -> bool {
    let mut t = "";
    let mut sigs = vec![];
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v,
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let want = hex::encode(mac.finalize().into_bytes());
    sigs.contains(&want)
}

#[tokio::test]
async fn webhooks_are_signed_and_retried_on_the_clock() {
    let m = Mock::start().await;
    // Frozen: the retry schedule is checked to the second, and a real second passing between two
    // steps would move it (found by an audit: 2 failures in 70 runs started just before a tick).
    m.freeze().await;
    let (good_url, good) = webhook_listener(0).await;
    let (bad_url, bad) = webhook_listener(2).await;
    let ep = m
        .post(
            "/v1/webhook_endpoints",
            json!({"url": good_url, "events": ["reward.issued", "reward.redeemed"]}),
        )
        .await;
    assert_eq!(ep.status, 201, "{}", ep.text);
    let secret = ep.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let got = m
        .get(&format!(
            "/v1/webhook_endpoints/{}",
            ep.body["id"].as_str().unwrap()
        ))
        .await;
    assert!(got.body.get("secret").is_none());
    m.post(
        "/v1/webhook_endpoints",
        json!({"url": bad_url, "events": ["reward.issued"]}),
    )
    .await;

    let t = m
        .trigger(&m.campaign.clone(), "first_workout", "wh", "US")
        .await;
    m.advance(0).await; // deliver what is due now
    {
        let g = good.lock().unwrap();
        assert_eq!(g.len(), 1);
        let (sig, ty, body) = &g[0];
        assert_eq!(ty, "reward.issued");
        assert!(verify(&secret, sig, body), "valid HMAC");
        assert!(!verify("whsec_other", sig, body));
        let ev: Value = serde_json::from_str(body).unwrap();
        assert_eq!(ev["object"], "event");
        assert_eq!(ev["data"]["object"]["id"], t.body["reward"]["id"]);
    }
    let d = m
        .call(
            "GET",
            "/_mock/webhooks/deliveries?event_type=reward.issued",
            None,
            None,
            None,
        )
        .await;
    let ds = d.body["data"].as_array().unwrap();
    let failed: Vec<_> = ds.iter().filter(|x| x["succeeded"] == false).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempt"], 1);
    assert!(failed[0]["next_retry_at"].is_string());
    assert_eq!(bad.lock().unwrap().len(), 1);

    m.advance(60).await; // 2nd attempt (fails again), next in 5 min
    assert_eq!(bad.lock().unwrap().len(), 2);
    m.advance(299).await;
    assert_eq!(bad.lock().unwrap().len(), 2, "not before the backoff");
    m.advance(1).await; // 3rd attempt succeeds
    assert_eq!(bad.lock().unwrap().len(), 3);
    let d = m
        .call("GET", "/_mock/webhooks/deliveries", None, None, None)
        .await;
    let last = d.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|x| x["url"] == bad_url)
        .cloned()
        .unwrap();
    assert_eq!(
        (last["attempt"].as_u64(), last["succeeded"].as_bool()),
        (Some(3), Some(true))
    );
    m.advance(86_400).await;
    assert_eq!(bad.lock().unwrap().len(), 3, "no retry after success");
    assert_eq!(good.lock().unwrap().len(), 1, "only subscribed events");
}

#[tokio::test]
async fn campaign_events_and_budget_exhausted_are_emitted_once() {
    let m = Mock::start().await;
    let (url, got) = webhook_listener(0).await;
    let ep = m.post("/v1/webhook_endpoints", json!({"url": url})).await;
    assert_eq!(ep.body["events"], json!([]), "empty = all events");
    let body = m.campaign_body(-60, 5_000, 2_500).await;
    let id = m.launch(body).await;
    for c in ["x1", "x2"] {
        assert_eq!(m.trigger(&id, "m1", c, "US").await.status, 200);
    }
    assert_eq!(
        m.trigger(&id, "m1", "x3", "US").await.code(),
        "budget_exhausted"
    );
    m.advance(0).await;
    let types: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t, _)| t.clone())
        .collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "campaign.state_changed")
            .count(),
        2,
        "{types:?}"
    );
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "campaign.budget_exhausted")
            .count(),
        1,
        "{types:?}"
    );
    assert_eq!(types.iter().filter(|t| *t == "reward.issued").count(), 2);
    let changed: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, t, _)| t == "campaign.state_changed")
        .map(|(_, _, b)| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(changed[0]["data"]["previous_status"], "draft");
    assert_eq!(changed[1]["data"]["object"]["status"], "live");
    // Deleted endpoints get nothing more.
    m.call(
        "DELETE",
        &format!("/v1/webhook_endpoints/{}", ep.body["id"].as_str().unwrap()),
        Some(&m.key.clone()),
        None,
        None,
    )
    .await;
    m.trigger(&m.campaign.clone(), "first_workout", "x9", "US")
        .await;
    m.advance(0).await;
    assert_eq!(got.lock().unwrap().len(), types.len());
}

#[tokio::test]
async fn ip_velocity_uses_the_given_device_ip() {
    let m = Mock::start().await;
    let mut body = m.campaign_body(-60, 50_000, 500).await;
    body["fraud"] = json!({"max_actions_per_ip_per_hour": 2});
    let id = m.launch(body).await;
    let go = |c: &str, ip: &str| json!({"campaign_id": id, "moment_id": "m1", "customer": {"id": c, "marketplace": "US"}, "device": {"type": "Web", "ip": ip}});
    assert_eq!(
        m.post("/v1/triggers", go("i1", "203.0.113.7")).await.status,
        200
    );
    assert_eq!(
        m.post("/v1/triggers", go("i2", "203.0.113.7")).await.status,
        200
    );
    let t = m.post("/v1/triggers", go("i3", "203.0.113.7")).await;
    assert_eq!((t.status, t.code()), (429, "velocity_limit_exceeded"));
    assert_eq!(
        m.post("/v1/triggers", go("i3", "198.51.100.1"))
            .await
            .status,
        200
    );
    // A brand server's own address is not a customer's: no ip given, no ip limit.
    for c in ["n1", "n2", "n3"] {
        assert_eq!(m.trigger(&id, "m1", c, "US").await.status, 200);
    }
}

#[tokio::test]
async fn the_journal_is_stamped_by_the_server_clock_and_a_reset_empties_it() {
    let m = Mock::start().await;
    let at = "2031-05-17T08:30:00Z";
    let set = m
        .control("/_mock/clock/set", json!({"now": at, "frozen": true}))
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    m.get("/v1/app").await;
    let advanced = m
        .control("/_mock/clock/advance", json!({"seconds": 90}))
        .await;
    assert_eq!(advanced.status, 200, "{}", advanced.text);
    m.get("/v1/app").await;
    let j = m
        .call("GET", "/_mock/journal?limit=3", None, None, None)
        .await;
    let stamps: Vec<(&str, &str)> = j.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["at"].as_str().unwrap()))
        .collect();
    assert_eq!(
        stamps,
        [
            ("/v1/app", at),
            ("/_mock/clock/advance", "2031-05-17T08:31:30Z"),
            ("/v1/app", "2031-05-17T08:31:30Z"),
        ]
    );

    // A reset brings the clock back to real time and forgets the journal: it then holds the reset itself,
    // stamped with the real time, and what came after.
    let reset = m.control("/_mock/reset", json!({})).await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    m.get("/v1/app").await;
    let j = m.call("GET", "/_mock/journal", None, None, None).await;
    let entries = j.body["data"].as_array().unwrap();
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/_mock/reset", "/v1/app"]);
    let now = chrono::Utc::now();
    for e in entries {
        let stamped: chrono::DateTime<chrono::Utc> = e["at"].as_str().unwrap().parse().unwrap();
        assert!(
            (now - stamped).num_seconds().abs() < 60,
            "{stamped} is not real time"
        );
    }
}

#[tokio::test]
async fn a_reset_returns_to_the_fixtures_the_library_started_with() {
    const KEY: &str = "sk_test_lib_fixture_key_0123456789abcdef0";
    let now = chrono::Utc::now();
    let t = |d: chrono::Duration| (now + d).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let fixtures = json!({
        "accounts": ["acct_lib_fx"],
        "apps": [{"id": "app_lib_fx", "account_id": "acct_lib_fx", "name": "Library fixture app", "secret_key": KEY}],
        "campaigns": [{"app_id": "app_lib_fx", "status": "approved", "campaign": {
            "name": "Library fixture", "brand_name": "Lib Brand",
            "start_at": t(-chrono::Duration::hours(1)), "end_at": t(chrono::Duration::days(30)),
            "budget": {"amount": 10_000, "currency": "USD"}, "cost_per_action": {"amount": 500, "currency": "USD"},
            "marketplaces": ["US"], "reward_groups": [{"id": "US", "marketplace": "US", "items": ["itm_gc_10"]}],
            "moments": [{"id": "m1"}], "announcement_message": "Hi", "redemption_message": "Enjoy"}}]
    });
    let server = moments_mock_server::MockServer::start_with(moments_mock_server::MockConfig {
        fixtures: Some(fixtures),
        ..Default::default()
    })
    .await
    .expect("starts with the fixtures");
    let base = server.base_url();
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, idem: Option<&str>, body: Option<&Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(KEY);
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        async move {
            let res = req.send().await.expect("an answer");
            let status = res.status().as_u16();
            let replayed = res.headers().contains_key("idempotent-replayed");
            let body: Value = res.json().await.unwrap_or(Value::Null);
            (status, body, replayed)
        }
    };
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let (s, before, _) = call(get.clone(), "/v1/campaigns", None, None).await;
    assert_eq!(s, 200, "{before}");
    let cid = before["data"][0]["id"].as_str().unwrap().to_owned();
    let trig = json!({"campaign_id": cid, "moment_id": "m1", "customer": {"id": "c1", "marketplace": "US"},
                      "device": {"type": "Web"}});
    let (s, first, _) = call(post.clone(), "/v1/triggers", Some("lib-1"), Some(&trig)).await;
    assert_eq!(s, 200, "{first}");
    let (_, app, _) = call(get.clone(), "/v1/app", None, None).await;
    assert_eq!(app["account_id"], "acct_lib_fx", "{app}");

    let reset = http
        .post(format!("{base}/_mock/reset"))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 200);
    let (s, after, _) = call(get.clone(), "/v1/campaigns", None, None).await;
    assert_eq!(s, 200, "{after}");
    let data = after["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{after}");
    assert_eq!(data[0]["id"], cid.as_str());
    assert_eq!(data[0]["status"], "live");
    assert_eq!(data[0]["spend"]["spent"]["amount"], 0, "{after}");
    let (_, app_after, _) = call(get.clone(), "/v1/app", None, None).await;
    // The same app in the same account, made again at the reset (so its `created_at` is the reset's).
    for field in ["id", "account_id", "name", "legacy_api_key_hint"] {
        assert_eq!(
            app_after[field], app[field],
            "{field}: {app_after} vs {app}"
        );
    }
    // The idempotency key was forgotten with the rest: the same trigger runs afresh, not a replay.
    let (s, again, replayed) = call(post, "/v1/triggers", Some("lib-1"), Some(&trig)).await;
    assert_eq!(s, 200, "{again}");
    assert!(!replayed);
    assert_ne!(again["reward"]["id"], first["reward"]["id"]);
    server.shutdown().await;
}

#[tokio::test]
async fn health_answers_version_and_uptime_outside_the_journal_and_faults() {
    let m = Mock::start().await;
    m.call("DELETE", "/_mock/journal", None, None, None).await;
    // A fault on every route: the health check is not one the API's faults reach.
    let f = m
        .control(
            "/_mock/faults",
            json!({"route": "* /_mock/health", "count": 5, "status": 503}),
        )
        .await;
    assert_eq!(f.status, 201, "{}", f.text);
    for _ in 0..3 {
        let h = m.call("GET", "/_mock/health", None, None, None).await;
        assert_eq!(h.status, 200, "{}", h.text);
        assert_eq!(h.body["status"], "ok");
        assert_eq!(h.body["version"], env!("CARGO_PKG_VERSION"));
        assert!(h.body["uptime_seconds"].as_u64().is_some(), "{}", h.body);
        assert!(h.header("x-request-id").unwrap().starts_with("req_"));
    }
    let faults = m.call("GET", "/_mock/faults", None, None, None).await;
    assert_eq!(faults.body["data"][0]["count"], 5, "the fault never fired");
    // Moving the virtual clock a year does not move the uptime (real time since start).
    m.control("/_mock/clock/advance", json!({"seconds": 365 * 86_400}))
        .await;
    let h = m.call("GET", "/_mock/health", None, None, None).await;
    assert!(
        h.body["uptime_seconds"].as_u64().unwrap() < 3600,
        "{}",
        h.body
    );
    let journal = m
        .call("GET", "/_mock/journal?limit=10000", None, None, None)
        .await;
    let routes: Vec<&str> = journal.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["route"].as_str())
        .collect();
    assert!(
        !routes.contains(&"/_mock/health"),
        "health checks are not journaled: {routes:?}"
    );
}
