//! What the client benchmarks share: a local server answering the `reward_get` and `trigger_reward`
//! wire fixtures.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::{get, post};

const FIXTURE: &str = include_str!("../../../tests/fixtures/wire/reward_get.json");
const TRIGGER_FIXTURE: &str = include_str!("../../../tests/fixtures/wire/trigger_reward.json");

/// The secret key both sides send.
pub const KEY: &str = "sk_test_bench_0000000000000000";

fn fixture(text: &str, part: &str) -> serde_json::Value {
    let fixture: serde_json::Value = serde_json::from_str(text).expect("fixture JSON");
    fixture[part]["body"].clone()
}

/// The body `POST /v1/triggers` sends in the `trigger_reward` fixture.
#[allow(dead_code)] // each bench compiles this module; not all of them trigger
pub fn trigger_request_body() -> serde_json::Value {
    fixture(TRIGGER_FIXTURE, "request")
}

/// Starts an axum server on loopback, in `rt`, answering `GET /v1/rewards/{id}` and
/// `POST /v1/triggers` with their fixtures' bodies; returns its base URL.
pub fn reward_server(rt: &tokio::runtime::Runtime) -> String {
    let reward = fixture(FIXTURE, "response").to_string();
    let trigger = fixture(TRIGGER_FIXTURE, "response").to_string();
    let answer = |body: String| {
        move || {
            let body = body.clone();
            async move {
                (
                    [
                        (CONTENT_TYPE, "application/json"),
                        ("x-request-id".parse().unwrap(), "req_bench"),
                    ],
                    body,
                )
            }
        }
    };
    rt.block_on(async move {
        let app = Router::new()
            .route("/v1/rewards/{id}", get(answer(reward)))
            .route("/v1/triggers", post(answer(trigger)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    })
}

/// The bare baseline: `request` with the bench key, sent, and its JSON answer decoded with serde.
pub async fn bare_json<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    request
        .bearer_auth(KEY)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("decode")
}

/// A multi-threaded runtime with one worker (the server and the callers share it).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}
