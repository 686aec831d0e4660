//! No secret in any log line or error: a capturing `tracing` subscriber at TRACE over a
//! representative flow through the Rust client and the in-process mock (secret keys, a new key,
//! customer tokens from a token provider, the legacy key, a webhook secret and a real signed
//! delivery, retries after injected faults, and failures of every auth kind). Every captured
//! line, and the `Display` and `Debug` of every error and of the credential-bearing values an app
//! might log, must be free of every secret.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use moments_client::models::{
    ApiKeyCreate, CustomerTokenCreate, DeviceType, LegacyRewardRequest, TriggerRequest,
    WebhookEndpointCreate,
};
use moments_client::{BoxError, MomentsClient, TokenGrant, TokenProvider, webhooks};
use moments_e2e::mock::Mock;
use serde_json::json;
use tokio::sync::mpsc;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Everything every subscriber line wrote, across all threads.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the global TRACE subscriber once (the mock's tasks log from other threads).
fn capture() -> Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let c = Capture::default();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_span_events(FmtSpan::FULL)
                .with_ansi(false)
                .with_writer(c.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
            c
        })
        .clone()
}

/// The app's own backend, as a token provider: mints with the secret key.
struct Backend {
    admin: MomentsClient,
    customer: String,
    minted: Mutex<Vec<String>>,
}

#[moments_client::async_trait]
impl TokenProvider for Backend {
    async fn fetch_token(&self) -> Result<TokenGrant, BoxError> {
        let t = self
            .admin
            .customer_tokens()
            .create(&CustomerTokenCreate::new(self.customer.clone(), "US"))
            .await?;
        self.minted.lock().unwrap().push(t.token.clone());
        Ok(TokenGrant::new(t.token, t.expires_in_seconds as u64))
    }
}

async fn webhook_receiver() -> (String, mpsc::UnboundedReceiver<(String, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let sig = headers
                    .get(webhooks::SIGNATURE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let _ = tx.send((sig, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_line_or_error() {
    let logs = capture();
    // The harness's mock, on the store `MOMENTS_E2E_STORE` names (its file or database lives as
    // long as `mock`); its control calls carry the demo key when the sandbox is a shared one.
    let mock = Mock::start().await;
    let base = mock.base.clone();
    let demo = mock.server.demo().clone();
    let mut secrets: Vec<String> = vec![demo.secret_key.clone(), demo.api_key.clone()];
    let mut shown: Vec<String> = Vec::new(); // Display and Debug of errors and values

    let admin = MomentsClient::builder()
        .base_url(&base)
        .secret_key(&demo.secret_key)
        .build()
        .expect("client");
    shown.push(format!("{admin:?}"));
    admin.apps().get().await.expect("app");

    // A new secret key (shown once) and a webhook endpoint with its secret.
    let key = admin
        .apps()
        .create_api_key(&ApiKeyCreate {
            name: Some("ci".into()),
        })
        .await
        .expect("key");
    let new_secret = key.secret.clone().expect("secret on create");
    secrets.push(new_secret.clone());
    shown.push(format!("{key:?}"));
    let (hook_url, mut deliveries) = webhook_receiver().await;
    let ep = admin
        .webhook_endpoints()
        .create(&WebhookEndpointCreate {
            url: hook_url,
            events: vec![],
        })
        .await
        .expect("endpoint");
    let whsec = ep.secret.clone().expect("whsec on create");
    secrets.push(whsec.clone());
    shown.push(format!("{ep:?}"));

    // Retries after injected faults, then a reward.
    let fault = mock
        .control(
            "/_mock/faults",
            json!({"route": "POST /v1/triggers", "count": 2, "status": 503}),
        )
        .await;
    assert_eq!(fault.status, 201, "fault set: {}", fault.text);
    let outcome = admin
        .moments()
        .trigger(
            &TriggerRequest::new(&demo.campaign_id, "first_workout", DeviceType::Android)
                .customer("cust_logs", "US")
                .device_id("dev-logs"),
        )
        .await
        .expect("trigger after two 503s");
    let reward = outcome.reward().expect("a reward").clone();
    admin.rewards().get(&reward.id).await.expect("reward");

    // A mobile client through a token provider (customer tokens never in logs).
    let backend = Arc::new(Backend {
        admin: admin.clone(),
        customer: "cust_logs_mobile".into(),
        minted: Mutex::new(Vec::new()),
    });
    let mobile = MomentsClient::builder()
        .base_url(&base)
        .token_provider(backend.clone())
        .build()
        .expect("mobile client");
    mobile
        .moments()
        .trigger(
            &TriggerRequest::new(&demo.campaign_id, "first_workout", DeviceType::Ios)
                .device_id("dev-m"),
        )
        .await
        .expect("client-reportable trigger with a token");
    mobile.progress().mine(None).await.expect("own progress");
    let refused = mobile
        .moments()
        .trigger(
            &TriggerRequest::new(&demo.campaign_id, "level_5", DeviceType::Ios).device_id("dev-m"),
        )
        .await
        .expect_err("not client-reportable");
    shown.push(format!("{refused}"));
    shown.push(format!("{refused:?}"));
    let forbidden = mobile
        .campaigns()
        .get(&demo.campaign_id)
        .await
        .expect_err("management route");
    shown.push(format!("{forbidden} {forbidden:?}"));

    // An explicitly held customer token, then expired on the mock's clock.
    let ct = admin
        .customer_tokens()
        .create(&CustomerTokenCreate::new("cust_logs_expiring", "US"))
        .await
        .expect("token");
    secrets.push(ct.token.clone());
    shown.push(format!("{ct:?}"));
    let holder = MomentsClient::builder()
        .base_url(&base)
        .customer_token(&ct.token)
        .build()
        .expect("client");
    holder
        .progress()
        .mine(None)
        .await
        .expect("fresh token works");
    mock.control("/_mock/clock/advance", json!({"seconds": 3600}))
        .await;
    let expired = holder.progress().mine(None).await.expect_err("expired");
    shown.push(format!("{expired} {expired:?}"));

    // Wrong and revoked keys; the legacy key, right and wrong.
    let wrong = MomentsClient::builder()
        .base_url(&base)
        .secret_key("sk_test_wrong_but_plausible_0123456789abcdefXYZ")
        .build()
        .expect("client");
    secrets.push("sk_test_wrong_but_plausible_0123456789abcdefXYZ".into());
    let e = wrong.apps().get().await.expect_err("wrong key");
    shown.push(format!("{e} {e:?}"));
    admin.apps().revoke_api_key(&key.id).await.expect("revoke");
    let revoked = MomentsClient::builder()
        .base_url(&base)
        .secret_key(&new_secret)
        .build()
        .expect("client");
    let e = revoked.apps().get().await.expect_err("revoked key");
    shown.push(format!("{e} {e:?}"));
    let legacy_req = LegacyRewardRequest {
        app_id: demo.app_id.clone(),
        moment_id: "first_workout".into(),
        device_type: DeviceType::FireOs,
        campaign_id: demo.campaign_id.clone(),
        reward_group_id: "US".into(),
    };
    let legacy = MomentsClient::builder()
        .base_url(&base)
        .legacy_api_key(&demo.api_key)
        .build()
        .expect("legacy client");
    legacy
        .legacy()
        .get_reward(&legacy_req)
        .await
        .expect("GetReward");
    let bad_legacy = MomentsClient::builder()
        .base_url(&base)
        .legacy_api_key("mk_wrong_legacy_key_000000")
        .build()
        .expect("legacy client");
    secrets.push("mk_wrong_legacy_key_000000".into());
    let e = bad_legacy
        .legacy()
        .get_reward(&legacy_req)
        .await
        .expect_err("wrong legacy key");
    shown.push(format!("{e} {e:?}"));

    // A real signed delivery, verified; then a forged one refused.
    let (sig, body) = tokio::time::timeout(Duration::from_secs(20), deliveries.recv())
        .await
        .expect("a delivery within 20 s")
        .expect("delivery");
    let event = webhooks::construct_event(&body, &sig, &whsec).expect("verifies");
    shown.push(format!("{event:?}"));
    let e = webhooks::construct_event(&body, "t=1,v1=00", &whsec).expect_err("forged");
    shown.push(format!("{e} {e:?}"));
    let e = webhooks::construct_event(b"{}", &sig, &whsec).expect_err("other body");
    shown.push(format!("{e} {e:?}"));

    // What an app might log by habit: every credential-bearing value through `Debug`.
    tracing::debug!(
        ?admin,
        ?mobile,
        ?holder,
        ?key,
        ?ep,
        ?ct,
        "values an app might log"
    );
    tracing::debug!(grant = ?TokenGrant::new(ct.token.clone(), 60), "a grant");
    secrets.extend(backend.minted.lock().unwrap().iter().cloned());
    mock.server.shutdown().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).expect("UTF-8 logs");
    let lines = text.lines().count();
    assert!(
        text.contains("moments_client"),
        "the client logged nothing at TRACE ({lines} lines): the test would prove nothing"
    );
    let mut found = Vec::new();
    for s in &secrets {
        assert!(
            s.len() >= 16,
            "a secret this short would match by chance: {}",
            s.len()
        );
        for (i, line) in text.lines().enumerate() {
            if line.contains(s.as_str()) {
                found.push(format!(
                    "log line {i}: {}",
                    line.replace(s.as_str(), "<SECRET>")
                ));
            }
        }
        for v in &shown {
            if v.contains(s.as_str()) {
                found.push(format!(
                    "Display/Debug: {}",
                    v.replace(s.as_str(), "<SECRET>")
                ));
            }
        }
    }
    eprintln!(
        "{lines} log lines and {} values checked against {} secrets",
        shown.len(),
        secrets.len()
    );
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}
