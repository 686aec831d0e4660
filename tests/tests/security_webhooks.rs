//! Webhook signatures: a real delivery from the mock verifies with the Rust client's
//! `webhooks` module, and any change to the bytes, the secret, the timestamp or the signature
//! is refused. The comparison is constant time by construction (`hmac`'s `verify_slice`, which
//! uses `subtle`, folded over every `v1=` entry without short-circuit — see `docs/security.md`);
//! these tests pin the behaviour a timing-safe verifier must have: the answer never depends on how
//! much of a forged signature is right, and a truncated or prefix signature never passes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use chrono::{TimeZone, Utc};
use moments_client::webhooks;
use moments_client::{Error, ErrorKind, WebhookSignatureError};
use moments_e2e::mock::Mock;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// One delivery as received: the signature header and the raw body.
struct Delivery {
    signature: String,
    event_type: String,
    body: Bytes,
}

/// A local webhook receiver on port 0 that answers 200 and hands every delivery to the test.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let tx = Arc::new(tx);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let _ = tx.send(Delivery {
                    signature: h(webhooks::SIGNATURE_HEADER),
                    event_type: h(webhooks::EVENT_TYPE_HEADER),
                    body,
                });
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

fn signature_error(r: Result<(), Error>) -> WebhookSignatureError {
    match r {
        Ok(()) => panic!("a bad signature was accepted"),
        Err(e) => match e.kind() {
            ErrorKind::WebhookSignature(w) => w.clone(),
            other => panic!("not a signature error: {other:?}"),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_delivery_verifies_and_every_alteration_is_refused() {
    // The harness's mock, on the store `MOMENTS_E2E_STORE` names (alive as long as `mock`).
    let mock = Mock::start().await;
    let base = mock.base.clone();
    let secret_key = mock.server.demo().secret_key.clone();
    let campaign = mock.server.demo().campaign_id.clone();
    let http = reqwest::Client::new();
    let (url, mut rx) = receiver().await;
    let ep: Value = http
        .post(format!("{base}/v1/webhook_endpoints"))
        .bearer_auth(&secret_key)
        .header("idempotency-key", "hook-1")
        .json(&json!({"url": url, "events": ["reward.issued"]}))
        .send()
        .await
        .expect("endpoint")
        .json()
        .await
        .expect("JSON");
    let secret = ep["secret"].as_str().expect("whsec secret").to_owned();
    assert!(secret.starts_with("whsec_"));
    let res = http
        .post(format!("{base}/v1/triggers"))
        .bearer_auth(&secret_key)
        .header("idempotency-key", "hook-trigger")
        .json(
            &json!({"campaign_id": campaign, "moment_id": "first_workout",
                      "customer": {"id": "cust_hook", "marketplace": "US"},
                      "device": {"type": "Web", "id": "dev-hook"}}),
        )
        .send()
        .await
        .expect("trigger");
    assert_eq!(res.status(), 200);

    // The mock delivers on its background tick; wait for the event, bounded.
    let d = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a delivery within 20 s")
        .expect("a delivery");
    assert_eq!(d.event_type, "reward.issued");
    let event = webhooks::construct_event(&d.body, &d.signature, &secret)
        .expect("the real delivery verifies");
    assert!(event.id.starts_with("evt_"), "{}", event.id);

    let t: i64 = d
        .signature
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .and_then(|s| s.parse().ok())
        .expect("t=");
    let at = Utc.timestamp_opt(t, 0).single().expect("time");
    let tol = webhooks::DEFAULT_TOLERANCE;
    let verify =
        |body: &[u8], header: &str, secret: &str| webhooks::verify(body, header, secret, tol, at);
    verify(&d.body, &d.signature, &secret).expect("verifies at its own time");

    // One byte of the body changed, appended or removed.
    let mut flipped = d.body.to_vec();
    flipped[0] ^= 0x01;
    let mut longer = d.body.to_vec();
    longer.push(b' ');
    let shorter = &d.body[..d.body.len() - 1];
    for (what, body) in [
        ("flipped", &flipped[..]),
        ("appended", &longer[..]),
        ("truncated", shorter),
    ] {
        assert_eq!(
            signature_error(verify(body, &d.signature, &secret)),
            WebhookSignatureError::NoMatchingSignature,
            "{what} body"
        );
    }
    // Another endpoint's secret, or the secret without its prefix.
    for wrong in ["whsec_someone_else", secret.trim_start_matches("whsec_")] {
        assert_eq!(
            signature_error(verify(&d.body, &d.signature, wrong)),
            WebhookSignatureError::NoMatchingSignature
        );
    }
    // The same body and signature replayed outside the window, either way.
    for skew in [-(tol.as_secs() as i64) - 1, tol.as_secs() as i64 + 1] {
        let later = at + chrono::Duration::seconds(skew);
        assert!(matches!(
            signature_error(webhooks::verify(&d.body, &d.signature, &secret, tol, later)),
            WebhookSignatureError::TimestampOutsideTolerance { .. }
        ));
    }
    // A signature moved to another timestamp does not verify (t is inside the MAC).
    let v1 = d.signature.split_once(",v1=").expect("v1").1.to_owned();
    let moved = format!("t={},v1={v1}", t + 1);
    assert_eq!(
        signature_error(webhooks::verify(&d.body, &moved, &secret, tol, at)),
        WebhookSignatureError::NoMatchingSignature
    );
    mock.server.shutdown().await;
}

#[test]
fn a_forged_signature_fails_the_same_way_however_much_of_it_is_right() {
    let secret = "whsec_constant_time_check";
    let body = br#"{"object":"event","id":"evt_1","type":"reward.issued","created_at":"2026-11-23T10:00:00Z","data":{"object":{}}}"#;
    let t = 1_790_000_000;
    let at = Utc.timestamp_opt(t, 0).single().expect("time");
    let good = webhooks::sign(body, secret, t);
    let hex_sig = good.split_once(",v1=").expect("v1").1.to_owned();
    assert_eq!(hex_sig.len(), 64);
    let tol = webhooks::DEFAULT_TOLERANCE;
    let check = |sig: &str| webhooks::verify(body, &format!("t={t},v1={sig}"), secret, tol, at);
    check(&hex_sig).expect("the genuine signature");

    // Wrong in the first nibble, the last, or everywhere: one and the same refusal.
    let mut forgeries = Vec::new();
    for i in [0, 31, 63] {
        let mut s: Vec<u8> = hex_sig.bytes().collect();
        s[i] = if s[i] == b'0' { b'1' } else { b'0' };
        forgeries.push(String::from_utf8(s).expect("hex"));
    }
    forgeries.push("0".repeat(64));
    // Prefixes of the right answer: a byte-by-byte early-exit compare on the shorter length
    // would accept these; a length-checked constant-time compare does not.
    forgeries.push(hex_sig[..62].to_owned());
    forgeries.push(hex_sig[..2].to_owned());
    forgeries.push(String::new());
    forgeries.push(format!("{hex_sig}00"));
    for f in &forgeries {
        let e = signature_error(check(f));
        assert!(
            matches!(
                e,
                WebhookSignatureError::NoMatchingSignature | WebhookSignatureError::MalformedHeader
            ),
            "forgery {f:?}: {e:?}"
        );
    }
    // During rotation several v1 entries may appear: any match is valid, in any position,
    // and a bad entry before the good one does not stop the search.
    let rotated = format!("t={t},v1={},v1={hex_sig}", "0".repeat(64));
    webhooks::verify(body, &rotated, secret, tol, at).expect("second entry matches");
    let rotated = format!("t={t},v1={hex_sig},v1=zz");
    webhooks::verify(body, &rotated, secret, tol, at).expect("first entry matches");
    // Malformed headers are refused, never panic.
    for h in [
        "",
        "t=",
        "v1=abc",
        "t=abc,v1=00",
        "t=1,t=2,v1=00",
        ",,,",
        "t=99999999999999999999,v1=00",
    ] {
        assert!(webhooks::verify(body, h, secret, tol, at).is_err(), "{h:?}");
    }
}

/// Triggers on the demo campaign for fresh customers.
struct Trigger {
    http: reqwest::Client,
    base: String,
    secret_key: String,
    campaign: String,
}

impl Trigger {
    /// Issues reward `n` and returns its `reward.issued` delivery (waited for, bounded).
    async fn deliver(&self, n: u32, rx: &mut mpsc::UnboundedReceiver<Delivery>) -> Delivery {
        let body = json!({"campaign_id": self.campaign, "moment_id": "first_workout",
            "customer": {"id": format!("cust_rot_{n}"), "marketplace": "US"},
            "device": {"type": "Web", "id": format!("dev-rot-{n}")}});
        let res = self
            .http
            .post(format!("{}/v1/triggers", self.base))
            .bearer_auth(&self.secret_key)
            .header("idempotency-key", format!("rot-{n}"))
            .json(&body)
            .send()
            .await
            .expect("trigger");
        assert_eq!(res.status(), 200);
        tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("a delivery within 20 s")
            .expect("a delivery")
    }
}

/// The `v1=` entries of a signature header.
fn v1_entries(header: &str) -> usize {
    header.split(',').filter(|p| p.starts_with("v1=")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends() {
    use moments_client::models::{EventType, WebhookEndpointCreate};
    use moments_client::{ErrorCode, MomentsClient};

    // The harness's mock, on the store `MOMENTS_E2E_STORE` names (alive as long as `mock`).
    let mock = Mock::start().await;
    let base = mock.base.clone();
    let secret_key = mock.server.demo().secret_key.clone();
    let campaign = mock.server.demo().campaign_id.clone();
    let http = reqwest::Client::new();
    let client = MomentsClient::builder()
        .base_url(&base)
        .secret_key(&secret_key)
        .build()
        .expect("client");
    // The overlap runs on the mock's clock: freeze it, so only the test moves time.
    // (Control calls through `Mock::call`: with the demo key when the sandbox is a shared one.)
    let clock: Value = mock
        .control("/_mock/clock/set", json!({"frozen": true}))
        .await
        .body;
    let mut now: chrono::DateTime<Utc> = clock["now"].as_str().expect("now").parse().expect("time");
    let (url, mut rx) = receiver().await;
    let ep = client
        .webhook_endpoints()
        .create(&WebhookEndpointCreate {
            url,
            events: vec![EventType::RewardIssued],
        })
        .await
        .expect("endpoint");
    let old = ep.secret.clone().expect("secret");
    let mut n = 0;
    let trigger = Trigger {
        http: http.clone(),
        base: base.clone(),
        secret_key: secret_key.clone(),
        campaign,
    };
    let mut deliver = async || {
        n += 1;
        trigger.deliver(n, &mut rx).await
    };
    let tol = webhooks::DEFAULT_TOLERANCE;

    // Rotate with a one-hour overlap: the answer shows the new secret once, and the overlap's end.
    let rotated = client
        .webhook_endpoints()
        .rotate_secret(&ep.id, Some(Duration::from_secs(3600)))
        .await
        .expect("rotation");
    let new = rotated.secret.clone().expect("the new secret");
    assert!(new.starts_with("whsec_") && new != old);
    let until = now + chrono::Duration::seconds(3600);
    assert_eq!(rotated.previous_secret_expires_at, Some(until));
    let shown = client.webhook_endpoints().get(&ep.id).await.expect("get");
    assert_eq!(shown.secret, None);
    assert_eq!(shown.previous_secret_expires_at, Some(until));

    // During the overlap a delivery carries both signatures; either secret verifies it.
    let d = deliver().await;
    assert_eq!(v1_entries(&d.signature), 2, "{}", d.signature);
    for s in [&new, &old] {
        webhooks::verify(&d.body, &d.signature, s, tol, now).expect("verifies with either secret");
    }
    webhooks::construct_event_at(&d.body, &d.signature, &old, tol, now).expect("old secret");
    // One second before the end it still does.
    let advanced = mock
        .control("/_mock/clock/advance", json!({"seconds": 3599}))
        .await;
    assert_eq!(advanced.status, 200);
    now += chrono::Duration::seconds(3599);
    let d = deliver().await;
    webhooks::verify(&d.body, &d.signature, &old, tol, now).expect("old secret, last second");

    // From the end of the window, only the new secret signs.
    let advanced = mock
        .control("/_mock/clock/advance", json!({"seconds": 1}))
        .await;
    assert_eq!(advanced.status, 200);
    now += chrono::Duration::seconds(1);
    let d = deliver().await;
    assert_eq!(v1_entries(&d.signature), 1, "{}", d.signature);
    webhooks::verify(&d.body, &d.signature, &new, tol, now).expect("the new secret verifies");
    assert_eq!(
        signature_error(webhooks::verify(&d.body, &d.signature, &old, tol, now)),
        WebhookSignatureError::NoMatchingSignature
    );
    let shown = client.webhook_endpoints().get(&ep.id).await.expect("get");
    assert_eq!(shown.previous_secret_expires_at, None);

    // Refused rotations change nothing: the secret stays the one deliveries are signed with.
    for (body, param) in [
        (json!({"expires_in_seconds": 604_801}), "expires_in_seconds"),
        (json!({"expires_in_seconds": -1}), "expires_in_seconds"),
        (json!({"expires_in_seconds": "soon"}), "expires_in_seconds"),
        (json!({"overlap": 60}), "overlap"),
    ] {
        let res = http
            .post(format!(
                "{base}/v1/webhook_endpoints/{}/rotate_secret",
                ep.id
            ))
            .bearer_auth(&secret_key)
            .json(&body)
            .send()
            .await
            .expect("answer");
        assert_eq!(res.status(), 400, "{body}");
        let v: Value = res.json().await.expect("envelope");
        assert_eq!(v["error"]["code"], "validation_error", "{v}");
        assert_eq!(v["error"]["param"], param, "{v}");
    }
    let err = client
        .webhook_endpoints()
        .rotate_secret("whe_does_not_exist", None)
        .await
        .expect_err("unknown endpoint");
    assert_eq!(err.code(), Some(&ErrorCode::ResourceNotFound));
    let d = deliver().await;
    assert_eq!(v1_entries(&d.signature), 1, "{}", d.signature);
    webhooks::verify(&d.body, &d.signature, &new, tol, now).expect("still the same secret");

    // A rotation with no overlap: the previous secret stops at once.
    let newest = client
        .webhook_endpoints()
        .rotate_secret(&ep.id, Some(Duration::ZERO))
        .await
        .expect("rotation");
    assert_eq!(newest.previous_secret_expires_at, None);
    let newest = newest.secret.expect("secret");
    let d = deliver().await;
    assert_eq!(v1_entries(&d.signature), 1, "{}", d.signature);
    webhooks::verify(&d.body, &d.signature, &newest, tol, now).expect("the newest secret");
    assert_eq!(
        signature_error(webhooks::verify(&d.body, &d.signature, &new, tol, now)),
        WebhookSignatureError::NoMatchingSignature
    );
    mock.server.shutdown().await;
}
