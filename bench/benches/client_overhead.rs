//! The Rust client's per-call overhead against a bare reqwest call to the same local server.
//!
//! Both sides fetch and decode the same reward (the `reward_get` wire fixture) from an in-process axum
//! server on loopback: the difference is what the client adds (auth, request id capture, retry and timeout
//! machinery, error classification, tracing span). Run: `cargo bench -p moments-bench --bench client_overhead`.

use std::hint::black_box;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use moments_client::MomentsClient;
use moments_client::models::Reward;

const FIXTURE: &str = include_str!("../../tests/fixtures/wire/reward_get.json");

fn reward_body() -> String {
    let fixture: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
    fixture["response"]["body"].to_string()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let body = reward_body();
    let base = rt.block_on(async move {
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
    });

    let http = reqwest::Client::new();
    let client = MomentsClient::builder()
        .base_url(&base)
        .secret_key("sk_test_bench_0000000000000000")
        .build()
        .expect("client");
    let url = format!("{base}/v1/rewards/rwd_bench");

    let mut group = c.benchmark_group("get reward");
    group.bench_function("bare reqwest + serde", |b| {
        b.to_async(&rt).iter(|| async {
            let reward: Reward = http
                .get(&url)
                .bearer_auth("sk_test_bench_0000000000000000")
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("decode");
            black_box(reward)
        })
    });
    group.bench_function("moments-client", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(client.rewards().get("rwd_bench").await.expect("get")) })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
