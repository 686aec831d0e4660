//! What the client benchmarks share: a local server answering the `reward_get` wire fixture.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

const FIXTURE: &str = include_str!("../../../tests/fixtures/wire/reward_get.json");

/// The secret key both sides send.
pub const KEY: &str = "sk_test_bench_0000000000000000";

fn reward_body() -> String {
    let fixture: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
    fixture["response"]["body"].to_string()
}

/// Starts an axum server on loopback, in `rt`, answering `GET /v1/rewards/{id}` with the fixture's
/// body; returns its base URL.
pub fn reward_server(rt: &tokio::runtime::Runtime) -> String {
    let body = reward_body();
    rt.block_on(async move {
        let app = Router::new().route(
            "/v1/rewards/{id}",
            get(move || {
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
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    })
}

/// A multi-threaded runtime with one worker (the server and the callers share it).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}
