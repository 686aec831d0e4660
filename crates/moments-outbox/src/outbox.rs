//! The public `Outbox` and its delivery task.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::action::{Action, rfc3339_opt};
use crate::deliver::{Deliverer, DeliveryResult, PermanentError, QueuedAction};
use crate::error::{OutboxError, Result};
use crate::event::{DropReason, OutboxEvent, OutboxListener};
use crate::store::{ActionStatus, Answer, Counts, DueRow, FailedAction, NewRow, Store};

/// What to do when an enqueue finds [`OutboxConfig::max_rows`] undelivered actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FullPolicy {
    /// Refuse the new action with [`OutboxError::Full`]; nothing already queued is lost, and the
    /// caller knows at once that this action was not recorded. The default.
    #[default]
    RejectNew,
    /// Accept the new action and drop the oldest queued ones (never one in flight), reporting
    /// each through [`OutboxEvent::Dropped`] with [`DropReason::Evicted`].
    DropOldest,
}

/// Settings of an [`Outbox`]. [`OutboxConfig::new`] fills in the defaults.
#[derive(Clone, Debug)]
pub struct OutboxConfig {
    /// The SQLite file (created with its directory if missing). `-wal` and `-shm` files sit
    /// beside it.
    pub path: PathBuf,
    /// Most undelivered actions kept (default 10,000). Failed actions are kept up to the same
    /// number again, oldest pruned first.
    pub max_rows: u32,
    /// Undelivered actions older than this (since enqueue) are dropped and reported
    /// (default 7 days). Failed actions are pruned at the same age.
    pub max_age: Duration,
    /// Largest action JSON accepted at enqueue (default 16 KiB; the API takes bodies to 64 KiB).
    pub max_payload_bytes: usize,
    /// What to do when full.
    pub full_policy: FullPolicy,
    /// First retry delay (default 1 s); doubles per attempt, with jitter.
    pub backoff_base: Duration,
    /// Longest retry delay (default 5 min).
    pub backoff_max: Duration,
    /// Longest `Retry-After` honoured (default 1 h); longer ones are cut to this.
    pub max_retry_after: Duration,
    /// The delivery timer: how often the queue is looked at when nothing else wakes it
    /// (default 60 s).
    pub poll_interval: Duration,
    /// Deliveries in flight at once, each for a different customer (default 4).
    pub concurrency: usize,
    /// SQLite `busy_timeout` (default 5 s).
    pub busy_timeout: Duration,
    /// How long a key is remembered after its answer (default 48 h; at least
    /// [`MIN_KEY_RETENTION`], the server's idempotency retention). Meanwhile
    /// [`Outbox::lookup`] answers with the outcome and an enqueue of the same key is a no-op.
    pub key_retention: Duration,
}

/// The shortest [`OutboxConfig::key_retention`]: the server keeps idempotency keys 24 hours.
pub const MIN_KEY_RETENTION: Duration = Duration::from_secs(24 * 3600);

impl OutboxConfig {
    /// Defaults for a database at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OutboxConfig {
            path: path.into(),
            max_rows: 10_000,
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_payload_bytes: 16 * 1024,
            full_policy: FullPolicy::RejectNew,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(60),
            concurrency: 4,
            busy_timeout: Duration::from_secs(5),
            key_retention: Duration::from_secs(48 * 3600),
        }
    }
}

/// The result of [`Outbox::enqueue`]: the action is on disk.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Enqueued {
    /// The idempotency key the action will be sent with.
    pub idempotency_key: String,
    /// The key was already known with the same action (queued, in flight, or answered within
    /// the key retention); nothing new was written and `status` is that first action's.
    pub duplicate: bool,
    /// The action's status: `Queued` for a new action; for a duplicate, the first action's
    /// (its outcome, once answered).
    pub status: ActionStatus,
}

/// Paths open in this process: two outboxes on one file would deliver the same rows twice.
static OPEN_PATHS: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn open_paths() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    OPEN_PATHS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Wall-clock milliseconds that advance with tokio's clock (so paused-time tests drive them),
/// anchored to the system clock at open.
struct Clock {
    base_wall_ms: i64,
    base: tokio::time::Instant,
}

impl Clock {
    fn new() -> Self {
        Clock {
            base_wall_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
            base: tokio::time::Instant::now(),
        }
    }

    fn now_ms(&self) -> i64 {
        self.base_wall_ms + self.base.elapsed().as_millis() as i64
    }
}

fn ms_to_system(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

struct Shared {
    store: Arc<Mutex<Store>>,
    config: OutboxConfig,
    deliverer: Arc<dyn Deliverer>,
    listener: Option<Arc<dyn OutboxListener>>,
    clock: Clock,
    wake: Notify,
    paused: AtomicBool,
    /// The current pause was reported (one `Paused` event per pause).
    paused_reported: AtomicBool,
    suspended: AtomicBool,
    shutdown: AtomicBool,
    flush_requested: AtomicU64,
    idle: watch::Sender<Progress>,
    /// The runtime the outbox was opened on, for work started from synchronous calls (which may
    /// come from a thread outside it, e.g. a foreign callback).
    runtime: tokio::runtime::Handle,
}

impl Shared {
    async fn with_store<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
            let r = f(&mut s);
            s.settle();
            r
        })
        .await
        .map_err(|e| OutboxError::Io(std::io::Error::other(format!("outbox store task: {e}"))))?
    }

    fn emit(&self, event: OutboxEvent) {
        if let Some(l) = &self.listener {
            let l = l.clone();
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l.on_event(event))).is_err()
            {
                tracing::error!("outbox listener panicked");
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.backoff_base;
        let exp = base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.config.backoff_max);
        let half = exp / 2;
        let jitter_ms = random_u64() % (millis(half) as u64 + 1);
        half + Duration::from_millis(jitter_ms)
    }
}

/// A durable queue of actions, delivered exactly once each (see `docs/outbox.md`).
///
/// Every call that touches the database runs on tokio's blocking pool behind one connection;
/// the futures never block the caller's thread on disk I/O. Needs a tokio runtime with the
/// `time` driver.
pub struct Outbox {
    shared: Arc<Shared>,
    engine: Mutex<Option<JoinHandle<()>>>,
    registered: PathBuf,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.shared.config.path)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// Opens (or creates) the outbox at `config.path` and starts delivering.
    ///
    /// At open: the schema is migrated; an unreadable file is moved aside and reported
    /// ([`OutboxEvent::DatabaseRecovered`]); actions left in flight by a killed process are queued
    /// again with their keys; answers the listener had not been told about are reported.
    pub async fn open(
        config: OutboxConfig,
        deliverer: Arc<dyn Deliverer>,
        listener: Option<Arc<dyn OutboxListener>>,
    ) -> Result<Outbox> {
        if config.key_retention < MIN_KEY_RETENTION {
            return Err(OutboxError::InvalidConfig(format!(
                "key_retention must be at least {} s (the server's idempotency retention), got {} s",
                MIN_KEY_RETENTION.as_secs(),
                config.key_retention.as_secs()
            )));
        }
        let registered = std::path::absolute(&config.path)?;
        {
            let mut paths = open_paths();
            if !paths
                .get_or_insert_with(HashSet::new)
                .insert(registered.clone())
            {
                return Err(OutboxError::AlreadyOpen(config.path.clone()));
            }
        }
        match Self::open_registered(config, deliverer, listener, registered.clone()).await {
            Ok(o) => Ok(o),
            Err(e) => {
                if let Some(p) = open_paths().as_mut() {
                    p.remove(&registered);
                }
                Err(e)
            }
        }
    }

    async fn open_registered(
        config: OutboxConfig,
        deliverer: Arc<dyn Deliverer>,
        listener: Option<Arc<dyn OutboxListener>>,
        registered: PathBuf,
    ) -> Result<Outbox> {
        let path = config.path.clone();
        let busy = config.busy_timeout;
        let (store, report) = tokio::task::spawn_blocking(move || Store::open(&path, busy))
            .await
            .map_err(|e| OutboxError::Io(std::io::Error::other(e.to_string())))??;
        let (idle, _) = watch::channel(Progress::default());
        let shared = Arc::new(Shared {
            store: Arc::new(Mutex::new(store)),
            config,
            deliverer,
            listener,
            clock: Clock::new(),
            wake: Notify::new(),
            paused: AtomicBool::new(false),
            paused_reported: AtomicBool::new(false),
            suspended: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            flush_requested: AtomicU64::new(0),
            idle,
            runtime: tokio::runtime::Handle::current(),
        });
        if let Some((moved_to, detail)) = report.recovered {
            shared.emit(OutboxEvent::DatabaseRecovered { moved_to, detail });
        }
        let now = shared.clock.now_ms();
        let horizon = millis(shared.config.backoff_max.max(shared.config.max_retry_after));
        shared.with_store(move |s| s.recover(now, horizon)).await?;
        notify_pending(&shared).await?;
        let engine = tokio::spawn(run(shared.clone()));
        Ok(Outbox {
            shared,
            engine: Mutex::new(Some(engine)),
            registered,
        })
    }

    /// Records an action durably with a fresh idempotency key (128 bits from the OS CSPRNG) and
    /// returns as soon as it is on disk; delivery happens in the background.
    pub async fn enqueue(&self, action: Action) -> Result<Enqueued> {
        self.enqueue_inner(action, None).await
    }

    /// Like [`enqueue`](Self::enqueue) with the app's own idempotency key (1–255 printable
    /// ASCII). While the key is known (queued, in flight, or answered within
    /// [`OutboxConfig::key_retention`]), the same key and action again is a no-op that returns
    /// the first action's status (`duplicate: true`, with its outcome once answered; its
    /// `occurred_at` is kept and the repeat's ignored), and the same key with another action is
    /// [`OutboxError::DuplicateKey`].
    pub async fn enqueue_with_key(&self, action: Action, key: String) -> Result<Enqueued> {
        self.enqueue_inner(action, Some(key)).await
    }

    async fn enqueue_inner(&self, mut action: Action, key: Option<String>) -> Result<Enqueued> {
        let sh = &self.shared;
        if sh.shutdown.load(Ordering::SeqCst) {
            return Err(OutboxError::Closed);
        }
        validate(&action)?;
        let key = match key {
            Some(k) if is_valid_key(&k) => k,
            Some(_) => return Err(OutboxError::InvalidIdempotencyKey),
            None => new_key(),
        };
        let now = sh.clock.now_ms();
        let occurred_at = *action.occurred_at.get_or_insert_with(|| {
            // Whole milliseconds, so the stored body round-trips exactly.
            ms_to_system(now)
        });
        let payload = serde_json::to_string(&action).expect("serializable");
        if payload.len() > sh.config.max_payload_bytes {
            return Err(OutboxError::PayloadTooLarge {
                size: payload.len(),
                max: sh.config.max_payload_bytes,
            });
        }
        let row = NewRow {
            key: key.clone(),
            customer_id: action.customer.id.clone(),
            payload,
            occurred_at: rfc3339_opt::format(occurred_at),
            now_ms: now,
        };
        let max_rows = sh.config.max_rows;
        let drop_oldest = sh.config.full_policy == FullPolicy::DropOldest;
        let inserted = sh
            .with_store(move |s| s.insert(row, max_rows, drop_oldest))
            .await?;
        for (k, c) in inserted.evicted {
            sh.emit(OutboxEvent::Dropped {
                idempotency_key: k,
                customer_id: c,
                reason: DropReason::Evicted,
            });
        }
        sh.wake.notify_one();
        Ok(match inserted.duplicate {
            Some(status) => Enqueued {
                idempotency_key: key,
                duplicate: true,
                status,
            },
            None => Enqueued {
                idempotency_key: key,
                duplicate: false,
                status: ActionStatus::Queued {
                    attempts: 0,
                    last_error: None,
                },
            },
        })
    }

    /// What the outbox knows of an idempotency key: queued, in flight, delivered (with the
    /// answer), failed (with the refusal), or unknown (never enqueued here, dropped undelivered,
    /// or answered longer ago than [`OutboxConfig::key_retention`]). For an app that was killed
    /// right after an enqueue and wants to know whether it went through.
    pub async fn lookup(&self, idempotency_key: &str) -> Result<ActionStatus> {
        if !is_valid_key(idempotency_key) {
            return Err(OutboxError::InvalidIdempotencyKey);
        }
        let k = idempotency_key.to_owned();
        self.shared.with_store(move |s| s.lookup(&k)).await
    }

    /// Makes every queued action due now (except where the server asked to wait with
    /// `Retry-After`) and waits until nothing is due: each action was delivered, failed, or is
    /// waiting for a retry (or delivery is paused or suspended). Returns the counts after.
    pub async fn flush(&self) -> Result<Counts> {
        self.flush_inner(None).await?;
        self.counts().await
    }

    /// [`flush`](Self::flush) for one customer's actions (e.g. at logout); returns that
    /// customer's counts after. Whatever is still queued stays queued; use
    /// [`purge_customer`](Self::purge_customer) to drop it.
    pub async fn flush_customer(&self, customer_id: &str) -> Result<Counts> {
        self.flush_inner(Some(customer_id.to_owned())).await?;
        let c = customer_id.to_owned();
        self.shared.with_store(move |s| s.counts(Some(&c))).await
    }

    async fn flush_inner(&self, customer: Option<String>) -> Result<()> {
        let sh = &self.shared;
        if sh.shutdown.load(Ordering::SeqCst) {
            return Err(OutboxError::Closed);
        }
        let now = sh.clock.now_ms();
        sh.with_store(move |s| s.make_due(customer.as_deref(), now))
            .await?;
        let target = sh.flush_requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut idle = sh.idle.subscribe();
        sh.wake.notify_one();
        // Done when a pass that began after the request saw no head due at or before `now`:
        // every action due at the flush had its attempt (retries land later and do not count).
        idle.wait_for(|p| p.generation >= target && p.settled_through >= now)
            .await
            .map_err(|_| OutboxError::Closed)?;
        Ok(())
    }

    /// Tells the outbox the network is back: queued actions become due now (except where the
    /// server asked to wait with `Retry-After`) and delivery starts. Returns at once; may be
    /// called from any thread.
    pub fn network_available(&self) {
        let sh = self.shared.clone();
        self.shared.runtime.spawn(async move {
            let now = sh.clock.now_ms();
            if let Err(e) = sh.with_store(move |s| s.make_due(None, now)).await {
                tracing::warn!(error = %e, "outbox: network_available could not reschedule");
            }
            sh.wake.notify_one();
        });
    }

    /// Whether delivery is paused after refused credentials.
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }

    /// Resumes delivery after [`OutboxEvent::Paused`] (the app has a valid session again). May be
    /// called from any thread.
    pub fn resume_delivery(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
        self.shared.paused_reported.store(false, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }

    /// For the app going to the background: stops starting deliveries and closes the database,
    /// releasing every SQLite lock and file handle (iOS kills suspended apps that hold them).
    /// Calls made while suspended still work: each opens the file and closes it again. Answers of
    /// deliveries already under way are recorded the same way.
    pub async fn suspend(&self) -> Result<()> {
        self.shared.suspended.store(true, Ordering::SeqCst);
        self.shared
            .with_store(|s| {
                s.suspended = true;
                s.close();
                Ok(())
            })
            .await
    }

    /// For the app coming back to the foreground: reopens the database and delivers what is due.
    pub async fn resume(&self) -> Result<()> {
        let sh = &self.shared;
        let now = sh.clock.now_ms();
        let report = sh
            .with_store(move |s| {
                let r = s.reopen()?;
                s.make_due(None, now)?;
                Ok(r)
            })
            .await?;
        if let Some((moved_to, detail)) = report.recovered {
            sh.emit(OutboxEvent::DatabaseRecovered { moved_to, detail });
        }
        sh.suspended.store(false, Ordering::SeqCst);
        sh.wake.notify_one();
        Ok(())
    }

    /// Deletes every undelivered action of a customer (e.g. at logout when the app does not want
    /// them sent), reporting each as [`DropReason::Purged`]; returns how many. The customer's
    /// failures are dismissed; answered keys stay known for the key retention. An attempt
    /// already under way may still reach the server; its answer is then not reported.
    pub async fn purge_customer(&self, customer_id: &str) -> Result<u64> {
        let c = customer_id.to_owned();
        let gone = self
            .shared
            .with_store(move |s| s.purge_customer(&c))
            .await?;
        let n = gone.len() as u64;
        for (k, c) in gone {
            self.shared.emit(OutboxEvent::Dropped {
                idempotency_key: k,
                customer_id: c,
                reason: DropReason::Purged,
            });
        }
        Ok(n)
    }

    /// Counts of actions by state.
    pub async fn counts(&self) -> Result<Counts> {
        self.shared.with_store(|s| s.counts(None)).await
    }

    /// Actions the server refused for good, oldest first.
    pub async fn failed(&self) -> Result<Vec<FailedAction>> {
        self.shared.with_store(|s| s.failed()).await
    }

    /// Removes one failed action from [`failed`](Self::failed); `true` if it was there. Its key
    /// stays known ([`lookup`](Self::lookup) answers `Failed`) for the key retention.
    pub async fn dismiss_failed(&self, idempotency_key: &str) -> Result<bool> {
        let k = idempotency_key.to_owned();
        Ok(self
            .shared
            .with_store(move |s| s.dismiss_failed(Some(&k)))
            .await?
            > 0)
    }

    /// Removes every failed action from [`failed`](Self::failed); returns how many.
    pub async fn clear_failed(&self) -> Result<u64> {
        self.shared.with_store(|s| s.dismiss_failed(None)).await
    }

    /// Stops delivering (waiting for attempts under way to be recorded) and closes the
    /// database. Queued actions stay on disk for the next open.
    pub async fn shutdown(&self) -> Result<()> {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        let engine = self.engine.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(engine) = engine {
            let _ = engine.await;
        }
        self.shared
            .with_store(|s| {
                s.close();
                Ok(())
            })
            .await
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.shared.config.path
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        if let Some(engine) = self.engine.lock().unwrap_or_else(|p| p.into_inner()).take() {
            engine.abort();
        }
        if let Some(p) = open_paths().as_mut() {
            p.remove(&self.registered);
        }
    }
}

fn validate(a: &Action) -> Result<()> {
    let id_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:@-".contains(&b))
    };
    if !id_ok(&a.customer.id) {
        return Err(OutboxError::InvalidAction(
            "customer.id must be 1-128 characters of [A-Za-z0-9_.:@-]".into(),
        ));
    }
    if a.campaign_id.is_empty() {
        return Err(OutboxError::InvalidAction("campaign_id is empty".into()));
    }
    if a.moment_id.is_empty() {
        return Err(OutboxError::InvalidAction("moment_id is empty".into()));
    }
    if a.customer.marketplace.is_empty() {
        return Err(OutboxError::InvalidAction(
            "customer.marketplace is empty".into(),
        ));
    }
    if a.quantity == Some(0) || a.quantity.is_some_and(|q| q > 1_000_000) {
        return Err(OutboxError::InvalidAction(
            "quantity must be 1-1,000,000".into(),
        ));
    }
    Ok(())
}

fn is_valid_key(k: &str) -> bool {
    moments_idempotency::is_valid_key(k)
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("OS random source");
    u64::from_le_bytes(b)
}

/// A fresh idempotency key ([`moments_idempotency::RandomKeys`]: 122 bits from the OS CSPRNG).
fn new_key() -> String {
    use moments_idempotency::IdempotencyKeySource;
    moments_idempotency::RandomKeys.next_key()
}

/// Reports answers recorded but not yet told to the listener (the app died in between).
async fn notify_pending(sh: &Arc<Shared>) -> Result<()> {
    let (delivered, failed) = sh.with_store(|s| s.pending_notifications()).await?;
    let mut acked = Vec::new();
    for (k, c, d) in delivered {
        sh.emit(OutboxEvent::Delivered {
            idempotency_key: k.clone(),
            customer_id: c,
            delivered: d,
        });
        acked.push(k);
    }
    let mut notified = Vec::new();
    for (k, c, e) in failed {
        sh.emit(OutboxEvent::Failed {
            idempotency_key: k.clone(),
            customer_id: c,
            error: e,
        });
        notified.push(k);
    }
    sh.with_store(move |s| s.ack(&acked, &notified)).await
}

/// What the delivery task publishes for `flush`: the last flush request it has seen, and that
/// every customer head due at or before `settled_through` (ms) has had an attempt.
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    generation: u64,
    settled_through: i64,
}

/// The delivery task.
async fn run(sh: Arc<Shared>) {
    let mut next_expiry = i64::MIN;
    loop {
        if sh.shutdown.load(Ordering::SeqCst) {
            break;
        }
        let generation = sh.flush_requested.load(Ordering::SeqCst);
        if sh.paused.load(Ordering::SeqCst) || sh.suspended.load(Ordering::SeqCst) {
            sh.idle.send_replace(Progress {
                generation,
                settled_through: i64::MAX,
            });
            sh.wake.notified().await;
            continue;
        }
        let outcome = match pass(&sh, &mut next_expiry).await {
            Ok(worked) => sh
                .with_store(|s| s.next_due_ms())
                .await
                .map(|next_due| (worked, next_due)),
            Err(e) => Err(e),
        };
        match outcome {
            Ok((worked, next_due)) => {
                sh.idle.send_replace(Progress {
                    generation,
                    settled_through: next_due.map_or(i64::MAX, |t| t - 1),
                });
                if worked {
                    continue;
                }
                let now = sh.clock.now_ms();
                let poll = millis(sh.config.poll_interval);
                let wait = next_due.map_or(poll, |t| (t - now).clamp(0, poll));
                tokio::select! {
                    _ = sh.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                }
            }
            Err(e) => {
                // A storage error (disk full, I/O): let flush waiters go and try again later.
                tracing::warn!(error = %e, "outbox: delivery pass failed");
                sh.idle.send_replace(Progress {
                    generation,
                    settled_through: i64::MAX,
                });
                tokio::select! {
                    _ = sh.wake.notified() => {}
                    _ = tokio::time::sleep(sh.config.backoff_base.max(Duration::from_secs(1))) => {}
                }
            }
        }
    }
}

/// One pass: expire old rows, take due heads, deliver them, record the answers, tell the
/// listener. `Ok(false)` when nothing was due.
async fn pass(sh: &Arc<Shared>, next_expiry: &mut i64) -> Result<bool> {
    let now = sh.clock.now_ms();
    if now >= *next_expiry {
        let cutoff = now - millis(sh.config.max_age);
        let retain_cutoff = now - millis(sh.config.key_retention);
        let max_failed = sh.config.max_rows;
        let gone = sh
            .with_store(move |s| s.expire(cutoff, max_failed, retain_cutoff))
            .await?;
        for (k, c) in gone {
            sh.emit(OutboxEvent::Dropped {
                idempotency_key: k,
                customer_id: c,
                reason: DropReason::Expired,
            });
        }
        *next_expiry = now + 1000;
    }
    let limit = sh.config.concurrency.max(1);
    let due = sh.with_store(move |s| s.take_due(now, limit)).await?;
    if due.is_empty() {
        return Ok(false);
    }
    let mut set = JoinSet::new();
    for row in due {
        set.spawn(attempt(sh.deliverer.clone(), row));
    }
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            // A deliverer panicked: the row stays in flight until the next open.
            Err(e) => tracing::error!(error = %e, "outbox: a delivery task failed"),
        }
    }
    let now = sh.clock.now_ms();
    let mut answers = Vec::with_capacity(results.len());
    let mut unauthorized = None;
    for (key, customer, attempts, result) in results {
        let answer = match result {
            DeliveryResult::Delivered(d) => Answer::Delivered(d),
            DeliveryResult::Permanent(e) => Answer::Failed(e),
            DeliveryResult::Retry { after, error } => match after {
                Some(a) => {
                    let t = now + millis(a.min(sh.config.max_retry_after));
                    Answer::Retry {
                        next_ms: t,
                        not_before_ms: t,
                        error,
                        uncount_attempt: false,
                    }
                }
                None => Answer::Retry {
                    next_ms: now + millis(sh.backoff(attempts)),
                    not_before_ms: 0,
                    error,
                    uncount_attempt: false,
                },
            },
            DeliveryResult::Unauthorized { code } => {
                let error = format!("unauthorized: {code}");
                unauthorized = Some(code);
                Answer::Retry {
                    next_ms: now,
                    not_before_ms: 0,
                    error,
                    uncount_attempt: true,
                }
            }
        };
        answers.push((key, customer, answer));
    }
    if unauthorized.is_some() {
        // Set before the rows are back in the queue, so no pass picks them up meanwhile.
        sh.paused.store(true, Ordering::SeqCst);
    }
    let (answers, existed) = {
        let rows: Vec<(String, Answer)> = answers
            .iter()
            .map(|(k, _, a)| (k.clone(), a.clone()))
            .collect();
        let existed = sh.with_store(move |s| s.record(&rows, now)).await?;
        (answers, existed)
    };
    let mut delivered = Vec::new();
    let mut failed = Vec::new();
    for ((key, customer, answer), existed) in answers.into_iter().zip(existed) {
        if !existed {
            continue;
        }
        match answer {
            Answer::Delivered(d) => {
                sh.emit(OutboxEvent::Delivered {
                    idempotency_key: key.clone(),
                    customer_id: customer,
                    delivered: d,
                });
                delivered.push(key);
            }
            Answer::Failed(e) => {
                sh.emit(OutboxEvent::Failed {
                    idempotency_key: key.clone(),
                    customer_id: customer,
                    error: e,
                });
                failed.push(key);
            }
            Answer::Retry { .. } => {}
        }
    }
    sh.with_store(move |s| s.ack(&delivered, &failed)).await?;
    if let Some(code) = unauthorized
        && !sh.paused_reported.swap(true, Ordering::SeqCst)
    {
        sh.emit(OutboxEvent::Paused { code });
    }
    Ok(true)
}

/// One attempt for one row, with the single credential refresh on `401`.
async fn attempt(
    deliverer: Arc<dyn Deliverer>,
    row: DueRow,
) -> (String, String, u32, DeliveryResult) {
    let action: Action = match serde_json::from_str(&row.payload) {
        Ok(a) => a,
        Err(e) => {
            let r = DeliveryResult::Permanent(PermanentError {
                status: None,
                code: "unreadable_action".into(),
                message: format!("the stored action could not be read: {e}"),
                request_id: None,
            });
            return (row.key, row.customer_id, row.attempts, r);
        }
    };
    let qa = QueuedAction {
        idempotency_key: row.key.clone(),
        customer_id: row.customer_id.clone(),
        action,
        body: row.payload,
        attempt: row.attempts,
        enqueued_at: ms_to_system(row.created_at_ms),
        sent_at: ms_to_system(row.sent_at_ms),
    };
    let mut result = deliverer.deliver(&qa).await;
    if matches!(result, DeliveryResult::Unauthorized { .. }) {
        deliverer.refresh_credentials(&qa.customer_id).await;
        result = deliverer.deliver(&qa).await;
    }
    (row.key, row.customer_id, row.attempts, result)
}
