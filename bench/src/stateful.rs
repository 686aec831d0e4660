//! A second reference: a minimal stateful trigger handler — a serde body, an
//! idempotency map behind one mutex (pre-sized, so it never rehashes under load), a budget
//! decrement and a 128-bit token from the OS — answering as many bytes as the mock's trigger.
//!
//! It shows what the state any trigger must keep costs on this machine, apart from everything else
//! the mock does per trigger (campaign rules, fraud windows, ledger, reward records, journal).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

#[derive(Deserialize)]
struct Trigger {
    campaign_id: String,
    moment_id: String,
    customer: Customer,
}

#[derive(Deserialize)]
struct Customer {
    id: String,
}

struct Inner {
    answers: HashMap<String, Bytes>,
    budget_cents: i64,
}

struct Shared {
    inner: Mutex<Inner>,
    body_bytes: usize,
}

/// Serves `POST /v1/triggers` until the process is killed.
pub async fn serve(port: u16, body_bytes: usize) -> std::io::Result<()> {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            answers: HashMap::with_capacity(1 << 21),
            budget_cents: i64::MAX,
        }),
        body_bytes,
    });
    let app = Router::new()
        .route("/v1/triggers", post(trigger))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

async fn trigger(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return (StatusCode::BAD_REQUEST, "Idempotency-Key required").into_response();
    };
    let t: Trigger = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut token = [0u8; 16];
    if getrandom::fill(&mut token).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let answer = Bytes::from(answer(&t, &token, s.body_bytes));
    let sent = {
        let mut g = s.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(first) = g.answers.get(key) {
            first.clone()
        } else {
            if g.budget_cents < 1 {
                return (StatusCode::PAYMENT_REQUIRED, "budget exhausted").into_response();
            }
            g.budget_cents -= 1;
            g.answers.insert(key.to_owned(), answer.clone());
            answer
        }
    };
    ([(CONTENT_TYPE, "application/json")], sent).into_response()
}

/// The answer: the reward's token and ids, padded to `len` bytes.
fn answer(t: &Trigger, token: &[u8; 16], len: usize) -> String {
    let mut hex = String::with_capacity(32);
    for b in token {
        let _ = write!(hex, "{b:02x}");
    }
    let mut out = String::with_capacity(len);
    let _ = write!(
        out,
        r#"{{"object":"trigger_result","outcome":"reward","campaign_id":"{}","moment_id":"{}","customer_id":"{}","reward":{{"id":"rwd_{hex}","url":"http://127.0.0.1/r/{hex}"}},"pad":""#,
        t.campaign_id, t.moment_id, t.customer.id
    );
    while out.len() + 2 < len {
        out.push('x');
    }
    out.push_str("\"}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_json_of_the_asked_size_with_the_token() {
        let t: Trigger = serde_json::from_str(
            r#"{"campaign_id":"cmp_1","moment_id":"m","customer":{"id":"c","marketplace":"US"}}"#,
        )
        .unwrap();
        let a = answer(&t, &[0xab; 16], 895);
        assert_eq!(a.len(), 895);
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["reward"]["id"], format!("rwd_{}", "ab".repeat(16)));
        assert_eq!(v["customer_id"], "c");
    }
}
