//! Durable enqueue rate beside a bare SQLite insert with the same durability settings (WAL,
//! `synchronous = FULL`, one transaction per action). Not a pass/fail test: it prints the rates
//! and their ratio. Run with
//! `cargo test -p moments-outbox --release --test bench_enqueue -- --ignored --nocapture`.

mod common;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use common::action;
use moments_outbox::{Deliverer, DeliveryResult, Outbox, OutboxConfig, QueuedAction};

/// Never answers: no delivery work competes with the enqueues.
struct Never;

#[async_trait]
impl Deliverer for Never {
    async fn deliver(&self, _: &QueuedAction) -> DeliveryResult {
        std::future::pending().await
    }
}

const N: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn enqueue_rate_against_a_bare_insert() {
    let dir = tempfile::tempdir().unwrap();

    let outbox = Outbox::open(
        OutboxConfig::new(dir.path().join("outbox.sqlite")),
        Arc::new(Never),
        None,
    )
    .await
    .unwrap();
    let t = Instant::now();
    for i in 0..N {
        outbox
            .enqueue(action(&format!("cust_{}", i % 50), &format!("m{i}")))
            .await
            .unwrap();
    }
    let outbox_rate = N as f64 / t.elapsed().as_secs_f64();

    let c = rusqlite::Connection::open(dir.path().join("bare.sqlite")).unwrap();
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    c.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE, c TEXT, p TEXT);",
    )
    .unwrap();
    let body = serde_json::to_string(&action("cust_1", "m")).unwrap();
    let t = Instant::now();
    for i in 0..N {
        c.execute(
            "INSERT INTO t (k, c, p) VALUES (?1, 'cust', ?2)",
            rusqlite::params![format!("k{i}"), body],
        )
        .unwrap();
    }
    let bare_rate = N as f64 / t.elapsed().as_secs_f64();
    eprintln!(
        "enqueue: outbox {outbox_rate:.0} actions/s, bare insert {bare_rate:.0} rows/s, ratio {:.2}",
        outbox_rate / bare_rate
    );
}
