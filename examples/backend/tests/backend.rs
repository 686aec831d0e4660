//! The example backend against the in-process mock, driven through the mock's testing kit
//! (`moments_mock_server::testing`): fixtures for the campaign, faults for outages, the journal for
//! what reached Moments, and the webhook delivery log for what the backend answered.

use std::time::Duration;

use moments_client::models::WebhookEndpointCreate;
use moments_client::{MomentsClient, RetryPolicy, webhooks};
use moments_example_backend::{AppState, router};
use moments_mock_server::MockServer;
use moments_mock_server::testing::{CampaignFixture, Control, Fault, Fixtures, Route};
use serde_json::{Value, json};

/// The mock, its control client, and the backend (its URL and webhook secret) in front of it.
struct Backend {
    _mock: MockServer,
    control: Control,
    url: String,
    secret: String,
    http: reqwest::Client,
}

/// Starts a mock and the backend, reporting the moments of `campaign` (default: the demo campaign),
/// with its webhook endpoint registered at the mock.
async fn start(campaign: Option<CampaignFixture>) -> Backend {
    let mock = MockServer::start().await.unwrap();
    let control = mock.control();
    let campaign_id = match campaign {
        Some(c) => control.load_campaign(c).await.unwrap(),
        None => mock.demo().campaign_id.clone(),
    };
    let client = MomentsClient::builder()
        .base_url(mock.base_url())
        .secret_key(mock.demo().secret_key.clone())
        // Quick retries, so an outage test does not wait the default backoff.
        .retry_policy(
            RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // The mock signs its webhooks with the endpoint's secret: the backend verifies with it.
    let endpoint = client
        .webhook_endpoints()
        .create(&WebhookEndpointCreate {
            url: format!("{url}/webhooks/moments"),
            events: vec![],
        })
        .await
        .unwrap();
    let secret = endpoint
        .secret
        .expect("the secret comes with the create answer");
    let state = AppState {
        client,
        campaign_id,
        webhook_secret: secret.as_str().into(),
        marketplace: "US".into(),
    };
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    Backend {
        _mock: mock,
        control,
        url,
        secret,
        http: reqwest::Client::new(),
    }
}

impl Backend {
    /// `POST /workouts/complete` for `user_7`: status and body.
    async fn workout_done(&self, workout: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/workouts/complete", self.url))
            .header("x-user-id", "user_7")
            .json(&json!({"workout_id": workout, "device_type": "Android"}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

#[tokio::test]
async fn mints_tokens_reports_workouts_and_verifies_webhooks() {
    let b = start(None).await;
    let (url, secret, http) = (&b.url, b.secret.as_str(), &b.http);
    // The backend mints one token per login, nothing else.
    let _tokens = b
        .control
        .journal()
        .expect(Route::CreateCustomerToken)
        .once()
        .verify_on_drop();

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

    let (status, first) = b.workout_done("w1").await;
    assert_eq!(status, 200);
    assert_eq!(first["outcome"], "reward");
    assert!(first["reward_url"].as_str().unwrap().contains("/r/"));
    // The app retries the same workout: replayed, same link.
    let (_, again) = b.workout_done("w1").await;
    assert_eq!(again["reward_url"], first["reward_url"]);
    assert_eq!(again["replayed"], true);
    // Another workout: the frequency cap refuses it.
    let (status, capped) = b.workout_done("w2").await;
    assert_eq!(status, 422);
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

#[tokio::test]
async fn a_retried_workout_reaches_moments_with_one_idempotency_key() {
    let b = start(None).await;
    b.workout_done("w1").await;
    b.workout_done("w1").await;
    let journal = b.control.journal();
    journal
        .expect(Route::Trigger)
        .times(2)
        .verify()
        .await
        .unwrap();
    let sent = journal.requests(Route::Trigger).await.unwrap();
    let keys: Vec<_> = sent
        .iter()
        .map(|e| e.idempotency_key.as_deref().unwrap())
        .collect();
    assert_eq!(keys, ["workout:user_7:w1", "workout:user_7:w1"]);
    assert_eq!(
        sent.iter().map(|e| e.replayed).collect::<Vec<_>>(),
        [false, true]
    );
}

#[tokio::test]
async fn a_short_outage_is_retried_and_a_long_one_is_reported_retryable() {
    let b = start(None).await;
    let faults = b.control.faults();
    let journal = b.control.journal();

    // One failed attempt: the client retries with the same key and the user gets the reward.
    faults
        .inject(Fault::on(Route::Trigger).status(500))
        .await
        .unwrap();
    let (status, body) = b.workout_done("w1").await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("reward")));
    journal
        .expect(Route::Trigger)
        .with_status(500)
        .once()
        .verify()
        .await
        .unwrap();
    journal
        .expect(Route::Trigger)
        .with_status(200)
        .once()
        .verify()
        .await
        .unwrap();

    // Moments stays down for longer than the client's three attempts: the backend says "retry later".
    journal.clear().await.unwrap();
    faults
        .inject(Fault::on(Route::Trigger).reset_connection().times(10))
        .await
        .unwrap();
    let (status, body) = b.workout_done("w2").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["retryable"], true);
    journal
        .expect(Route::Trigger)
        .with_status(0)
        .times(3)
        .verify()
        .await
        .unwrap();
    assert_eq!(faults.list().await.unwrap()[0].remaining, 7);
}

#[tokio::test]
async fn the_backend_accepts_the_mocks_signed_webhooks() {
    let b = start(None).await;
    let (status, _) = b.workout_done("w1").await;
    assert_eq!(status, 200);
    let hooks = b.control.webhooks();
    hooks.deliver_due().await.unwrap();
    let issued = hooks.deliveries_of("reward.issued").await.unwrap();
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0].url, format!("{}/webhooks/moments", b.url));
    assert!(
        issued[0].succeeded && issued[0].status == Some(204),
        "{issued:?}"
    );
}

#[tokio::test]
async fn the_campaign_decides_what_a_workout_earns() {
    // Two rewards per customer: the second workout earns one too, the third is capped.
    let b = start(Some(Fixtures::campaign().live().frequency_cap(2, None))).await;
    assert_eq!(b.workout_done("w1").await.1["outcome"], "reward");
    assert_eq!(b.workout_done("w2").await.1["outcome"], "reward");
    let (status, body) = b.workout_done("w3").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("frequency_cap_reached"))
    );

    // A draft campaign is not live yet: Moments refuses and the backend passes the code on.
    let b = start(Some(Fixtures::campaign().draft())).await;
    let (status, body) = b.workout_done("w1").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("campaign_not_live"))
    );
    assert_eq!(body["retryable"], false);
}
