//! The client's overhead as a ratio that survives a noisy machine: the bare reqwest call and the
//! `MomentsClient` call to the same local server, interleaved in short alternating batches, so that
//! both see the same background load. Prints the median per-call time of each and their ratio, for a
//! `GET` of a reward and for a trigger (`POST` with a fresh idempotency key).
//!
//! `cargo bench -p moments-bench --bench client_ab [-- ROUNDS]` (default 400 rounds of 50 calls each).

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moments_client::MomentsClient;
use moments_client::models::{Reward, TriggerRequest, TriggerResult};

const BATCH: u32 = 50;

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `bare` and `sdk` in interleaved batches of [`BATCH`] calls (alternating which goes first)
/// after a warm-up; returns the median per-call time of each.
async fn interleave<A, B, FA, FB>(rounds: usize, bare: FA, sdk: FB) -> (Duration, Duration)
where
    FA: Fn() -> A,
    FB: Fn() -> B,
    A: Future<Output = ()>,
    B: Future<Output = ()>,
{
    // Warm up both (connections, allocator, caches).
    for _ in 0..500 {
        bare().await;
        sdk().await;
    }
    let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        for which in [round % 2, 1 - round % 2] {
            let start = Instant::now();
            for _ in 0..BATCH {
                if which == 0 {
                    bare().await;
                } else {
                    sdk().await;
                }
            }
            let per_call = start.elapsed() / BATCH;
            if which == 0 {
                a.push(per_call)
            } else {
                b.push(per_call)
            }
        }
    }
    (median(&mut a), median(&mut b))
}

fn main() {
    // `cargo bench` passes `--bench`; the first number, if any, is the number of rounds.
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(400);
    let rt = common::runtime();
    let base = common::reward_server(&rt);
    let http = reqwest::Client::new();
    let client = MomentsClient::builder()
        .base_url(&base)
        .secret_key(common::KEY)
        .build()
        .expect("client");

    // GET: fetch and decode a reward.
    let url = format!("{base}/v1/rewards/rwd_bench");
    let bare_get = || async {
        black_box(common::bare_json::<Reward>(http.get(&url)).await);
    };
    let sdk_get = || async {
        black_box(client.rewards().get("rwd_bench").await.expect("get"));
    };

    // POST: a trigger with a fresh idempotency key, its answer decoded. The bare call's key is a
    // counter; the client draws a random one per call (part of its overhead).
    let request: TriggerRequest =
        serde_json::from_value(common::trigger_request_body()).expect("fixture request");
    let triggers_url = format!("{base}/v1/triggers");
    let n = AtomicU64::new(0);
    let bare_trigger = || async {
        let key = format!("bench-{}", n.fetch_add(1, Ordering::Relaxed));
        let post = http
            .post(&triggers_url)
            .header("Idempotency-Key", key)
            .json(&request);
        black_box(common::bare_json::<TriggerResult>(post).await);
    };
    let sdk_trigger = || async {
        black_box(client.moments().trigger(&request).await.expect("trigger"));
    };

    let (get_bare, get_sdk) = rt.block_on(interleave(rounds, bare_get, sdk_get));
    let (trigger_bare, trigger_sdk) = rt.block_on(interleave(rounds, bare_trigger, sdk_trigger));
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("client overhead, {rounds} interleaved rounds of {BATCH} calls each, per call type");
    println!("| call | bare reqwest + serde (median) | moments-client (median) | ratio |");
    println!("|---|---:|---:|---:|");
    for (name, a, b) in [
        ("GET a reward", get_bare, get_sdk),
        ("POST a trigger (fresh key)", trigger_bare, trigger_sdk),
    ] {
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {:.2} |",
            us(a),
            us(b),
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}
