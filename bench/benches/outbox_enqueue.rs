//! The offline outbox's durable enqueue against a bare SQLite insert with the same durability (WAL,
//! `synchronous = FULL`, one transaction per row), under criterion. Both wait for `fsync`; the
//! outbox also writes its FIFO index and hands the write to its writer on the blocking pool.
//!
//! `cargo bench -p moments-bench --bench outbox_enqueue`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use moments_outbox::{
    Action, Customer, Deliverer, DeliveryResult, Device, DeviceType, Outbox, OutboxConfig,
    QueuedAction,
};

/// Never answers: no delivery competes with the enqueues.
struct Never;

#[async_trait]
impl Deliverer for Never {
    async fn deliver(&self, _: &QueuedAction) -> DeliveryResult {
        std::future::pending().await
    }
}

fn action(n: u64) -> Action {
    Action::new(
        "cmp_bench",
        format!("m{n}"),
        Customer::new(format!("cust_{}", n % 50), "US"),
        Device::new(DeviceType::Android),
    )
}

fn enqueue(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = OutboxConfig::new(dir.path().join("outbox.sqlite"));
    // Nothing is delivered here: room for every enqueue of the run.
    config.max_rows = u32::MAX;
    let outbox = rt
        .block_on(Outbox::open(config, Arc::new(Never), None))
        .expect("outbox");

    let bare = rusqlite::Connection::open(dir.path().join("bare.sqlite")).expect("sqlite");
    bare.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .expect("WAL");
    bare.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE, c TEXT, p TEXT);",
    )
    .expect("schema");
    let body = serde_json::to_string(&action(0)).expect("JSON");

    let n = AtomicU64::new(0);
    let mut group = c.benchmark_group("enqueue");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("outbox (durable)", |b| {
        b.to_async(&rt).iter(|| {
            let i = n.fetch_add(1, Ordering::Relaxed);
            let outbox = &outbox;
            async move { outbox.enqueue(action(i)).await.expect("enqueue") }
        })
    });
    group.bench_function("bare SQLite insert (same durability)", |b| {
        b.iter(|| {
            let i = n.fetch_add(1, Ordering::Relaxed);
            bare.execute(
                "INSERT INTO t (k, c, p) VALUES (?1, 'cust', ?2)",
                rusqlite::params![format!("k{i}"), body],
            )
            .expect("insert")
        })
    });
    group.finish();
}

criterion_group!(benches, enqueue);
criterion_main!(benches);
