//! A tiny trigger server with the API's idempotency semantics, counting what it issues.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

enum Entry {
    InProgress,
    Done {
        body: Bytes,
        status: u16,
        answer: String,
    },
}

#[derive(Default)]
pub struct ServerState {
    keys: Mutex<HashMap<String, Entry>>,
    /// Rewards issued per action (the body's `moment_id`, unique per action in these tests).
    pub issued: Mutex<HashMap<String, Vec<String>>>,
    pub requests: AtomicU64,
    pub replays: AtomicU64,
    /// Answer the next N requests with `503` before handling them.
    pub fail_next: AtomicU32,
    /// Upper bound of a random delay before answering, in ms.
    pub max_latency_ms: AtomicU64,
}

impl ServerState {
    /// `moment_id → keys that issued a reward for it`.
    pub fn issued(&self) -> HashMap<String, Vec<String>> {
        self.issued.lock().unwrap().clone()
    }
}

fn envelope(code: &str, retryable: bool) -> String {
    serde_json::json!({"error": {"code": code, "message": code, "param": null,
        "request_id": "req_fake", "retryable": retryable}})
    .to_string()
}

fn answer(status: u16, body: String, replayed: bool) -> Response {
    let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r.headers_mut()
        .insert("x-request-id", "req_fake".parse().unwrap());
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", "true".parse().unwrap());
    }
    r
}

async fn trigger(State(st): State<Arc<ServerState>>, headers: HeaderMap, body: Bytes) -> Response {
    // Like a real server, finish the work even when the client hangs up mid-request (a killed
    // app): otherwise the key would stay "in progress" forever.
    tokio::spawn(handle(st, headers, body)).await.unwrap()
}

async fn handle(st: Arc<ServerState>, headers: HeaderMap, body: Bytes) -> Response {
    st.requests.fetch_add(1, Ordering::SeqCst);
    if st
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return answer(503, envelope("service_unavailable", true), false);
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sk_test_fake") {
        return answer(401, envelope("invalid_api_key", false), false);
    }
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return answer(400, envelope("idempotency_key_required", false), false);
    };
    {
        let mut keys = st.keys.lock().unwrap();
        match keys.get(&key) {
            Some(Entry::InProgress) => {
                return answer(409, envelope("idempotency_in_progress", true), false);
            }
            Some(Entry::Done {
                body: b,
                status,
                answer: a,
            }) => {
                if *b != body {
                    return answer(409, envelope("idempotency_conflict", false), false);
                }
                st.replays.fetch_add(1, Ordering::SeqCst);
                return answer(*status, a.clone(), true);
            }
            None => {
                keys.insert(key.clone(), Entry::InProgress);
            }
        }
    }
    let max = st.max_latency_ms.load(Ordering::SeqCst);
    if max > 0 {
        let ms = rand_below(max + 1);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(j) => j,
        Err(_) => {
            let a = envelope("invalid_json", false);
            st.keys.lock().unwrap().insert(
                key,
                Entry::Done {
                    body,
                    status: 400,
                    answer: a.clone(),
                },
            );
            return answer(400, a, false);
        }
    };
    let moment = json["moment_id"].as_str().unwrap_or_default().to_owned();
    st.issued
        .lock()
        .unwrap()
        .entry(moment.clone())
        .or_default()
        .push(key.clone());
    let a = serde_json::json!({
        "object": "trigger_result", "outcome": "reward",
        "campaign_id": json["campaign_id"], "moment_id": moment,
        "customer_id": json["customer"]["id"],
        "reward": {"object": "reward", "id": format!("rwd_{key}"), "status": "issued",
                   "test": false, "url": format!("http://fake/r/{key}")},
        "progress": null
    })
    .to_string();
    st.keys.lock().unwrap().insert(
        key,
        Entry::Done {
            body,
            status: 200,
            answer: a.clone(),
        },
    );
    answer(200, a, false)
}

fn rand_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b) % n
}

/// Serves on `listener` until the runtime ends; returns the shared state.
pub fn serve(listener: tokio::net::TcpListener) -> Arc<ServerState> {
    let st = Arc::new(ServerState::default());
    let app = Router::new()
        .route("/v1/triggers", post(trigger))
        .with_state(st.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    st
}
