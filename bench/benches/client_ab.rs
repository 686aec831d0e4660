//! The client's overhead as a ratio that survives a noisy machine: the bare reqwest call and the
//! `MomentsClient` call to the same local server, interleaved in short alternating batches, so that
//! both see the same background load. Prints the median per-call time of each and their ratio.
//!
//! `cargo bench -p moments-bench --bench client_ab [-- ROUNDS]` (default 400 rounds of 50 calls each).

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use moments_client::MomentsClient;
use moments_client::models::Reward;

const BATCH: u32 = 50;

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
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
    let url = format!("{base}/v1/rewards/rwd_bench");

    let bare = || async {
        let reward: Reward = http
            .get(&url)
            .bearer_auth(common::KEY)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("decode");
        black_box(reward);
    };
    let sdk = || async {
        black_box(client.rewards().get("rwd_bench").await.expect("get"));
    };

    let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    rt.block_on(async {
        // Warm up both (connections, allocator, caches).
        for _ in 0..500 {
            bare().await;
            sdk().await;
        }
        for round in 0..rounds {
            // Alternate which goes first so neither always follows the other.
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
    });
    let (ma, mb) = (median(&mut a), median(&mut b));
    println!("client overhead, {rounds} interleaved rounds of {BATCH} calls each");
    println!("| call | median per call | ratio |");
    println!("|---|---:|---:|");
    println!(
        "| bare reqwest + serde | {:.1} µs | 1.00 |",
        ma.as_secs_f64() * 1e6
    );
    println!(
        "| moments-client | {:.1} µs | {:.2} |",
        mb.as_secs_f64() * 1e6,
        mb.as_secs_f64() / ma.as_secs_f64()
    );
}
