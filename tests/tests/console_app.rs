//! The Moments Console's app and sandbox pages over plain HTTP: keys and webhook endpoints made
//! and removed as the API makes them (secrets shown once), and the sandbox's controls.

use moments_e2e::console::ConsoleClient;
use moments_e2e::mock::Mock;
use serde_json::json;

/// The mock's clock, as the control API reads it.
async fn clock(m: &Mock) -> serde_json::Value {
    m.call("GET", "/_mock/clock", None, None, None).await.body
}

/// The text of the one-time secret box of a page, if it shows one.
fn secret_shown(text: &str) -> Option<String> {
    let at = text.find(r#"<code class="secret">"#)? + r#"<code class="secret">"#.len();
    Some(text[at..at + text[at..].find('<')?].to_string())
}

#[tokio::test]
async fn a_key_is_shown_once_works_on_the_api_and_stops_when_revoked() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    let p = c.get("/console/app").await;
    assert!(p.text.contains(m.server.demo().app_id.as_str()));
    assert!(p.text.contains("acct_demo"));
    assert!(
        p.text.contains("mk_…"),
        "the legacy key's hint, not the key"
    );
    assert!(!p.text.contains(m.server.demo().api_key.as_str()));
    assert!(!p.text.contains(&m.key), "no secret key is ever listed");
    assert_eq!(p.text.matches("this session's key").count(), 1);

    let r = c.post("/console/app/keys", &[("name", "ci")]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    // Another tab's rewards list polling (htmx) in between does not take the message with the secret.
    let poll = c.get_htmx("/console/rewards").await;
    assert_eq!(poll.status, 200);
    assert!(!poll.text.contains("sk_test_"), "{}", poll.text);
    // As the API, an unknown status is refused rather than read as "any".
    let bad = c.get("/console/rewards?status=lost").await;
    assert!(bad.text.contains("Unknown reward status"), "{}", bad.text);
    let p = c.get("/console/app").await;
    let secret = secret_shown(&p.text).expect("the new key, this once");
    assert!(secret.starts_with("sk_test_"));
    assert!(
        !c.get("/console/app").await.text.contains(&secret),
        "shown once"
    );
    let app = m.call("GET", "/v1/app", Some(&secret), None, None).await;
    assert_eq!(app.status, 200);

    let keys = m
        .call("GET", "/v1/api_keys", Some(&m.key), None, None)
        .await;
    let id = keys.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "ci")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c.post(&format!("/console/app/keys/{id}/revoke"), &[]).await;
    assert_eq!(r.status, 303);
    let app = m.call("GET", "/v1/app", Some(&secret), None, None).await;
    assert_eq!(app.status, 401);
    assert!(c.get("/console/app").await.text.contains("revoked"));

    // A name the API refuses: its error beside the field.
    let long = "n".repeat(201);
    let p = c.post("/console/app/keys", &[("name", &long)]).await;
    assert_eq!(p.status, 400);
    assert!(p.text.contains(r#"id="f-name-error""#), "{}", p.text);
}

#[tokio::test]
async fn a_webhook_endpoint_is_made_with_its_secret_shown_once_and_deleted() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    c.get("/console/app").await;
    let p = c
        .post(
            "/console/app/webhook-endpoints",
            &[("url", "ftp://nope"), ("events", "reward.issued")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.text.contains(r#"id="f-url-error""#));
    let r = c
        .post(
            "/console/app/webhook-endpoints",
            &[
                ("url", "http://127.0.0.1:9/hook"),
                ("events", "reward.issued"),
                ("events", "reward.redeemed"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let p = c.get("/console/app").await;
    assert!(secret_shown(&p.text).is_some_and(|s| s.starts_with("whsec_")));
    let list = m
        .call("GET", "/v1/webhook_endpoints", Some(&m.key), None, None)
        .await;
    let e = &list.body["data"][0];
    assert_eq!(e["events"], json!(["reward.issued", "reward.redeemed"]));
    let id = e["id"].as_str().unwrap();
    let r = c
        .post(&format!("/console/app/webhook-endpoints/{id}/delete"), &[])
        .await;
    assert_eq!(r.status, 303);
    let list = m
        .call("GET", "/v1/webhook_endpoints", Some(&m.key), None, None)
        .await;
    assert_eq!(list.body["data"], json!([]));
}

#[tokio::test]
async fn the_sandbox_controls_move_the_clock_mode_and_faults_as_the_control_api_does() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    c.get("/console/sandbox").await;
    let before = clock(&m).await["offset_seconds"].as_i64().unwrap();
    assert_eq!(
        c.post("/console/sandbox/clock/advance", &[("seconds", "86400")])
            .await
            .status,
        303
    );
    let after = clock(&m).await["offset_seconds"].as_i64().unwrap();
    assert!(
        after - before >= 86_400 && after - before < 86_500,
        "{before} → {after}"
    );
    assert_eq!(
        c.post("/console/sandbox/clock/freeze", &[("frozen", "true")])
            .await
            .status,
        303
    );
    assert_eq!(clock(&m).await["frozen"], true);
    assert!(c.get("/console/sandbox").await.text.contains("frozen"));

    // To the demo campaign's end: it finishes.
    let r = c
        .post(
            "/console/sandbox/clock/to-end",
            &[("campaign_id", &m.campaign)],
        )
        .await;
    assert_eq!(r.status, 303);
    let cmp = m
        .call(
            "GET",
            &format!("/v1/campaigns/{}", m.campaign),
            Some(&m.key),
            None,
            None,
        )
        .await;
    assert_eq!(cmp.body["status"], "finished");

    assert_eq!(
        c.post("/console/sandbox/mode", &[("mode", "test")])
            .await
            .status,
        303
    );
    assert_eq!(
        m.call("GET", "/_mock/mode", None, None, None).await.body["mode"],
        "test"
    );

    let p = c
        .post(
            "/console/sandbox/faults",
            &[("route", "POST /nowhere"), ("status", "503")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.text.contains(r#"id="f-route-error""#), "{}", p.text);
    let r = c
        .post(
            "/console/sandbox/faults",
            &[("route", "GET /v1/app"), ("status", "503"), ("count", "1")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        m.call("GET", "/v1/app", Some(&m.key), None, None)
            .await
            .status,
        503
    );
    c.post(
        "/console/sandbox/faults",
        &[("route", "GET /v1/app"), ("status", "500"), ("count", "5")],
    )
    .await;
    assert_eq!(
        c.post("/console/sandbox/faults/clear", &[]).await.status,
        303
    );
    assert_eq!(
        m.call("GET", "/v1/app", Some(&m.key), None, None)
            .await
            .status,
        200
    );

    assert_eq!(c.post("/console/sandbox/reset", &[]).await.status, 303);
    assert_eq!(
        m.call("GET", "/_mock/mode", None, None, None).await.body["mode"],
        "live"
    );
    assert_eq!(clock(&m).await["frozen"], false);
    // The demo app's key survives a reset: the session goes on.
    assert_eq!(c.get("/console/sandbox").await.status, 200);
}
