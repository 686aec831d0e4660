//! The example backend against the in-process mock.

use moments_client::{MomentsClient, webhooks};
use moments_example_backend::{AppState, router};
use moments_mock_server::MockServer;
use serde_json::{Value, json};

async fn start() -> (MockServer, String, &'static str) {
    let mock = MockServer::start().await.unwrap();
    let client = MomentsClient::builder()
        .base_url(mock.base_url())
        .secret_key(mock.demo().secret_key.clone())
        .build()
        .unwrap();
    let secret = "whsec_example_backend_test";
    let state = AppState {
        client,
        campaign_id: mock.demo().campaign_id.clone(),
        webhook_secret: secret.into(),
        marketplace: "US".into(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    (mock, url, secret)
}

#[tokio::test]
async fn mints_tokens_reports_workouts_and_verifies_webhooks() {
    let (_mock, url, secret) = start().await;
    let http = reqwest::Client::new();

    let r = http
        .post(format!("{url}/customer-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{url}/customer-token"))
        .header("x-user-id", "user_7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert!(t["token"].as_str().unwrap().starts_with("ct_"));
    assert_eq!(t["expires_in_seconds"], 900);

    let done = |id: &str| {
        http.post(format!("{url}/workouts/complete"))
            .header("x-user-id", "user_7")
            .json(&json!({"workout_id": id, "device_type": "Android"}))
            .send()
    };
    let first: Value = done("w1").await.unwrap().json().await.unwrap();
    assert_eq!(first["outcome"], "reward");
    assert!(first["reward_url"].as_str().unwrap().contains("/r/"));
    // The app retries the same workout: replayed, same link.
    let again: Value = done("w1").await.unwrap().json().await.unwrap();
    assert_eq!(again["reward_url"], first["reward_url"]);
    assert_eq!(again["replayed"], true);
    // Another workout: the frequency cap refuses it.
    let capped = done("w2").await.unwrap();
    assert_eq!(capped.status(), 422);
    let capped: Value = capped.json().await.unwrap();
    assert_eq!(capped["error"], "frequency_cap_reached");

    let body = br#"{"object":"event","id":"evt_1","type":"reward.redeemed","created_at":"2026-11-23T10:00:00Z","data":{"object":{}}}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let hook = |sig: String| {
        http.post(format!("{url}/webhooks/moments"))
            .header("Moments-Signature", sig)
            .body(body.to_vec())
            .send()
    };
    assert_eq!(
        hook(webhooks::sign(body, secret, now))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        hook(webhooks::sign(body, "whsec_wrong", now))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        hook(webhooks::sign(body, secret, now - 3600))
            .await
            .unwrap()
            .status(),
        400
    );
}
