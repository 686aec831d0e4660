//! The Rust client's per-call overhead against a bare reqwest call to the same local server.
//!
//! Both sides fetch and decode the same reward (the `reward_get` wire fixture) from an in-process axum
//! server on loopback: the difference is what the client adds (auth, request id capture, retry and timeout
//! machinery, error classification, tracing span). Run: `cargo bench -p moments-bench --bench client_overhead`.
//! On a shared machine prefer `--bench client_ab`, which interleaves the two and reports their ratio.

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use moments_client::MomentsClient;
use moments_client::models::Reward;

fn bench(c: &mut Criterion) {
    let rt = common::runtime();
    let base = common::reward_server(&rt);
    let http = reqwest::Client::new();
    let client = MomentsClient::builder()
        .base_url(&base)
        .secret_key(common::KEY)
        .build()
        .expect("client");
    let url = format!("{base}/v1/rewards/rwd_bench");

    let mut group = c.benchmark_group("get reward");
    group.bench_function("bare reqwest + serde", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(common::bare_json::<Reward>(http.get(&url)).await) })
    });
    group.bench_function("moments-client", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(client.rewards().get("rwd_bench").await.expect("get")) })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
