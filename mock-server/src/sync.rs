//! An instance of a persistent sandbox ([`crate::store`]): its state caught up with the log, and
//! the changes it makes written to it.
//!
//! - A request that may change the sandbox ([`write_request`]) waits in this instance's queue of
//!   writes. A task of its own takes the write permit and handles every write waiting then as one
//!   batch, then the next batch while writes wait. For each batch it takes the store's lock (no
//!   other instance writes until the commit), applies the entries other instances committed since
//!   it last looked, handles each request in turn, appends one entry each and commits once; only
//!   then do the clients get their answers. If the commit fails, the state in memory holds changes
//!   the log does not: it is rebuilt from the log, and the clients get `503 service_unavailable`
//!   (retryable).
//! - A read ([`catch_up`]) first applies what other instances committed, without the lock.
//! - The time rules ([`tick`]) and webhook results ([`record_deliveries`]) are entries too, so they
//!   happen once, in the log's order, whichever instance notices them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::app::AppState;
use crate::domain::applying::{self, Applying};
use crate::domain::errors::ApiError;
use crate::store::entry::{DeliveryResult, rebuild};
use crate::store::{Command, Entry, Genesis, Store, StoreError, StoreSpec, VERSION};

/// A claim on a webhook send older than this is taken over (its instance stopped before
/// recording the result).
pub const CLAIM_STALE: Duration = Duration::from_secs(30);

/// Webhook claims older than this are forgotten: the attempt's result is an entry that every
/// instance applies within a tick, after which no instance sends that attempt again.
pub const CLAIMS_KEPT: Duration = Duration::from_secs(3600);

/// How often an instance forgets old webhook claims.
pub const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// What an instance of a persistent sandbox keeps beside its state.
pub struct Sync {
    /// The store (shared by the tenants this instance serves).
    pub store: std::sync::Arc<Store>,
    /// The tenant whose sandbox this is.
    pub tenant: String,
    /// Its description (`--store`).
    pub spec: StoreSpec,
    /// The sandbox the store holds, as created.
    pub genesis: Genesis,
    /// This instance's id (webhook claims name it).
    pub instance: String,
    /// The seq of the last entry applied to the state.
    applied: AtomicI64,
    /// The time of the last entry applied (ms): entries' times never go back.
    last_at_ms: AtomicI64,
    /// One change at a time in this instance (applying the log, or a batch of writes).
    permit: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Writes waiting for the next batch (see [`write`]).
    queue: std::sync::Mutex<WriteQueue>,
    /// The routes without their layers, to apply request entries to (they hold the tenant's
    /// handle, which holds this: [`Sync::close`] lets them go).
    replay: std::sync::Mutex<Option<Router>>,
    /// One tick at a time.
    ticking: tokio::sync::Mutex<()>,
    /// Set when the state could not be brought in line with the log (a failed commit whose
    /// rebuild failed too): every request answers 503 until a rebuild succeeds.
    stale: std::sync::atomic::AtomicBool,
}

impl Sync {
    /// The instance state of an open store.
    pub fn new(
        store: std::sync::Arc<Store>,
        tenant: &str,
        spec: StoreSpec,
        genesis: Genesis,
    ) -> Sync {
        let mut id = [0u8; 6];
        crate::domain::ids::random_bytes(&mut id);
        Sync {
            store,
            tenant: tenant.to_owned(),
            spec,
            genesis,
            instance: format!("inst_{}", hex::encode(id)),
            applied: AtomicI64::new(0),
            last_at_ms: AtomicI64::new(0),
            permit: std::sync::Arc::new(tokio::sync::Mutex::new(())),
            queue: std::sync::Mutex::new(WriteQueue::default()),
            replay: std::sync::Mutex::new(None),
            ticking: tokio::sync::Mutex::new(()),
            stale: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The seq of the last entry applied.
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    /// The routes request entries are applied with (`None` once closed).
    pub fn replay_router(&self) -> Option<Router> {
        self.replay
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sets the routes request entries are applied with.
    pub fn set_replay_router(&self, r: Router) {
        *self.replay.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
    }

    /// Lets the replay routes go, so the tenant's handle, and with it the store's connections,
    /// can drop (the server stopped).
    pub fn close(&self) {
        self.replay.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn next_at(&self) -> DateTime<Utc> {
        let now = Utc::now().timestamp_millis();
        let at = now.max(self.last_at_ms.load(Ordering::Acquire));
        DateTime::from_timestamp_millis(at).unwrap_or_else(Utc::now)
    }
}

/// The answer when the store cannot be reached: `503 service_unavailable`, retryable.
pub fn unavailable(e: &StoreError) -> Response {
    use axum::response::IntoResponse;
    tracing::warn!("store unavailable: {e}");
    ApiError {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        code: "service_unavailable",
        message: "The sandbox's database cannot be reached; retry shortly.".into(),
        ..ApiError::from_status(axum::http::StatusCode::SERVICE_UNAVAILABLE)
    }
    .into_response()
}

/// Applies one entry to the state (the permit held).
async fn apply(app: &AppState, sync: &Sync, e: Entry) -> Result<(), StoreError> {
    if !crate::store::applicable(&e.version) {
        return Err(StoreError::Refused(format!(
            "log entry {} was written by version {}, newer than this instance's {VERSION}: \
             upgrade this instance",
            e.seq, e.version
        )));
    }
    match &e.command {
        Command::Request { .. } => {
            let Some((req, actor)) = rebuild(&e.command) else {
                return Err(StoreError::Refused(format!(
                    "log entry {}: not a request",
                    e.seq
                )));
            };
            let Some(router) = sync.replay_router() else {
                return Err(StoreError::Unavailable("the server is stopping".into()));
            };
            let _ = Applying::new(e.at, e.seed, actor, true)
                .scope(router.oneshot(req))
                .await;
        }
        Command::Tick => Applying::new(e.at, e.seed, None, true).sync_scope(|| drop(app.lock())),
        Command::Deliveries { results } => {
            Applying::new(e.at, e.seed, None, true).sync_scope(|| apply_deliveries(app, results))
        }
    }
    sync.applied.store(e.seq, Ordering::Release);
    sync.last_at_ms
        .fetch_max(e.at.timestamp_millis(), Ordering::AcqRel);
    Ok(())
}

fn apply_deliveries(app: &AppState, results: &[DeliveryResult]) {
    let mut g = app.lock();
    for r in results {
        // This instance's copy of the send (made when the attempt fell due) goes: it was sent.
        g.webhooks
            .take_sends_where(|s| s.job_id == r.send.job_id && s.attempt == r.send.attempt);
        crate::domain::webhooks::record_delivery(&mut g, &r.send, r.status, r.error.clone());
    }
}

async fn apply_all(app: &AppState, sync: &Sync, entries: Vec<Entry>) -> Result<(), StoreError> {
    for e in entries {
        if e.seq <= sync.applied() {
            continue;
        }
        if e.seq != sync.applied() + 1 {
            // Entries are read in order from the one after the last applied: a gap is a read
            // that raced a rebuild; the next request reads again.
            return Err(StoreError::Unavailable(format!(
                "log entry {} read after entry {}",
                e.seq,
                sync.applied()
            )));
        }
        apply(app, sync, e).await?;
    }
    Ok(())
}

/// Applies what other instances committed since this one last looked (reads call this first, so
/// an instance answers with every change committed before the request arrived).
pub async fn catch_up(app: &AppState) -> Result<(), StoreError> {
    let Some(sync) = app.sync() else {
        return Ok(());
    };
    if sync.stale.load(Ordering::Acquire) {
        // The state holds a change the log does not (a failed commit): never answer from it.
        let _permit = sync.permit.lock().await;
        if sync.stale.load(Ordering::Acquire) {
            rebuild_state(app, sync).await?;
        }
        return Ok(());
    }
    if matches!(*sync.store, Store::Sqlite(_)) {
        // One instance: nothing is committed but through it.
        return Ok(());
    }
    let entries = sync
        .store
        .entries_after(&sync.tenant, sync.applied())
        .await?;
    if entries.is_empty() {
        return Ok(());
    }
    let _permit = sync.permit.lock().await;
    apply_all(app, sync, entries).await
}

/// Applies the whole log to a state just built (at start).
pub async fn replay_log(app: &AppState) -> Result<(), StoreError> {
    let sync = app.sync().expect("a persistent store");
    let _permit = sync.permit.lock().await;
    let entries = sync.store.entries_after(&sync.tenant, 0).await?;
    apply_all(app, sync, entries).await
}

/// Handles a request that may change the sandbox as one entry of the log (see the module's text).
pub async fn write_request<S>(app: &AppState, router: S, req: Request) -> Response
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Send
        + 'static,
    S::Future: Send,
{
    let sync = app.sync().expect("a persistent store");
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            use axum::response::IntoResponse;
            return ApiError::from_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
                .into_response();
        }
    };
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let slot = parts.extensions.get::<crate::store::IdemSlot>().cloned();
    let key = slot.clone();
    let req = Request::from_parts(parts.clone(), axum::body::Body::from(body.clone()));
    // The batch runs in a task of its own: the request's id goes with its job.
    let request_id = crate::http::envelope::current_request_id();
    let job: Job = Box::new(move |at, seed| {
        Box::pin(async move {
            let (resp, outcome) = crate::http::envelope::REQUEST_ID
                .scope(
                    request_id,
                    Applying::new(at, seed, None, false).scope(router.oneshot(req)),
                )
                .await;
            let resp = resp.unwrap_or_else(|e| match e {});
            // The answer is whole before the commit, so nothing of it is sent before the entry is
            // durable.
            let (rp, rb) = resp.into_parts();
            let rb = rb.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let answer = slot
                .filter(|_| crate::http::layers::idempotency_shared::storable(rp.status))
                .map(|slot| {
                    let retry_after = rp
                        .headers
                        .get(axum::http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok());
                    let bytes = crate::http::layers::idempotency_shared::encode(
                        rp.status,
                        retry_after,
                        &rb,
                    );
                    (slot, bytes)
                });
            Done {
                resp: Response::from_parts(rp, axum::body::Body::from(rb)),
                change: (!outcome.unchanged)
                    .then(|| (Command::request(&parts, &body, peer, outcome.actor), answer)),
                flush: outcome.flush,
            }
        })
    });
    let (resp, flush) = write(app, sync, job, key).await;
    // A clock move's answer waits for the webhooks it made due, as in memory (outside the permit:
    // their results are entries of their own).
    if flush && resp.status().is_success() {
        crate::delivery::flush(app).await;
    }
    resp
}

/// Runs the time rules that fell due, as an entry, if any did (the background tick).
pub async fn tick(app: &AppState) -> Result<(), StoreError> {
    let sync = app.sync().expect("a persistent store");
    let Ok(_one) = sync.ticking.try_lock() else {
        // The last tick is still waiting for the database.
        return Ok(());
    };
    catch_up(app).await?;
    if !due_now(app) {
        return Ok(());
    }
    let a = app.clone();
    let job: Job = Box::new(move |at, seed| {
        Box::pin(async move {
            // Another instance may have run them since this one looked.
            if !due_now(&a) {
                return Done::nothing();
            }
            Applying::new(at, seed, None, false).sync_scope(|| drop(a.lock()));
            Done::change(Command::Tick)
        })
    });
    let (resp, _) = write(app, sync, job, None).await;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(StoreError::Unavailable(
            "the tick could not be committed".into(),
        ))
    }
}

fn due_now(app: &AppState) -> bool {
    let g = app.lock_raw();
    let now = g.now();
    g.due
        .peek()
        .is_some_and(|std::cmp::Reverse((at, _, _))| *at <= now)
}

/// Records webhook results, as an entry.
pub async fn record_deliveries(
    app: &AppState,
    results: Vec<DeliveryResult>,
) -> Result<(), StoreError> {
    let sync = app.sync().expect("a persistent store");
    let a = app.clone();
    let job: Job = Box::new(move |at, seed| {
        Box::pin(async move {
            Applying::new(at, seed, None, false).sync_scope(|| apply_deliveries(&a, &results));
            Done::change(Command::Deliveries { results })
        })
    });
    let (resp, _) = write(app, sync, job, None).await;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(StoreError::Unavailable(
            "delivery results could not be committed".into(),
        ))
    }
}

/// What a write appends: its entry, and a keyed request's answer.
type Change = (Command, Option<(crate::store::IdemSlot, Vec<u8>)>);

/// A write's work: given the entry's time and seed, it applies itself and says what to append.
type Job = Box<dyn FnOnce(DateTime<Utc>, [u8; 32]) -> BoxFuture<'static, Done> + Send>;

/// What a [`Job`] did.
struct Done {
    /// The answer to send once committed.
    resp: Response,
    /// What to append; `None`: nothing changed.
    change: Option<Change>,
    /// Deliver the webhooks it made due before answering.
    flush: bool,
}

impl Done {
    fn nothing() -> Done {
        Done {
            resp: Response::default(),
            change: None,
            flush: false,
        }
    }

    fn change(command: Command) -> Done {
        Done {
            resp: Response::default(),
            change: Some((command, None)),
            flush: false,
        }
    }
}

/// Where a write's answer (and whether to deliver the webhooks it made due first) goes.
type Reply = tokio::sync::oneshot::Sender<(Response, bool)>;

/// A write waiting for its batch, and where its answer goes.
struct Queued {
    job: Job,
    /// The idempotency key the request claimed, if it did.
    key: Option<crate::store::IdemSlot>,
    done: Reply,
}

/// The writes waiting for the next batch, and whether a task is running batches.
#[derive(Default)]
struct WriteQueue {
    waiting: Vec<Queued>,
    writing: bool,
}

/// One write. It joins the queue and waits for its answer. The first write to find no task running
/// batches starts one: it takes the permit, handles every write waiting then as one batch in one
/// transaction (group commit: one lock, one flush to disk for the batch), gives the permit back,
/// and goes on while writes wait. A write's client is answered once its batch commits, never later:
/// no write waits for batches after its own. The batches run in a task of their own, so a client
/// that goes away cannot stop one between applying a write and committing it.
async fn write(
    app: &AppState,
    sync: &Sync,
    job: Job,
    key: Option<crate::store::IdemSlot>,
) -> (Response, bool) {
    let (done, answer) = tokio::sync::oneshot::channel();
    let lead = {
        let mut q = sync.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.waiting.push(Queued { job, key, done });
        !std::mem::replace(&mut q.writing, true)
    };
    if lead {
        let app = app.clone();
        tokio::spawn(async move {
            let sync = app.sync().expect("a persistent store");
            let _unstuck = Unstuck(sync);
            loop {
                let permit = sync.permit.clone().lock_owned().await;
                let batch = {
                    let mut q = sync.queue.lock().unwrap_or_else(|p| p.into_inner());
                    if q.waiting.is_empty() {
                        q.writing = false;
                        return;
                    }
                    std::mem::take(&mut q.waiting)
                };
                run_batch(&app, sync, batch).await;
                drop(permit);
            }
        });
    }
    answer.await.unwrap_or_else(|_| {
        (
            unavailable(&StoreError::Unavailable("the write was not run".into())),
            false,
        )
    })
}

/// Held by the task running batches: if it panics, the next write starts a task again, and the
/// writes waiting get `503` rather than no answer.
struct Unstuck<'a>(&'a Sync);

impl Drop for Unstuck<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.writing = false;
            q.waiting.clear();
        }
    }
}

/// Handles a batch of writes (the permit held): lock, catch up, each write in turn, append, commit;
/// then every answer. On a failed commit, the state is rebuilt from the log and every write of the
/// batch answers 503.
async fn run_batch(app: &AppState, sync: &Sync, batch: Vec<Queued>) {
    let fail = |batch: Vec<Queued>, e: &StoreError| {
        for q in batch {
            let _ = q.done.send((unavailable(e), false));
        }
    };
    if sync.stale.load(Ordering::Acquire)
        && let Err(e) = rebuild_state(app, sync).await
    {
        return fail(batch, &e);
    }
    let keys: Vec<&crate::store::IdemSlot> = batch.iter().filter_map(|q| q.key.as_ref()).collect();
    let begun = sync.store.begin(&sync.tenant, sync.applied(), &keys).await;
    let (mut txn, theirs, mut answered) = match begun {
        Ok(t) => t,
        Err(e) => return fail(batch, &e),
    };
    if let Err(e) = apply_all(app, sync, theirs).await {
        return fail(batch, &e);
    }
    let mut seq = sync.applied();
    let mut last_at = None;
    let mut answers: Vec<(Reply, Response, bool)> = Vec::with_capacity(batch.len());
    for mut q in batch {
        // A key claimed before a reset that is now applied (committed by another instance, or
        // earlier in this batch) belongs to the scope of the resets now.
        if let Some(k) = &q.key {
            let generation = app.lock_raw().resets;
            if k.generation != generation {
                let k = k.rescoped(generation);
                let id = (k.scope.clone(), k.key.clone());
                if !answered.contains_key(&id) {
                    match txn.answered(&[&k]).await {
                        Ok(found) => answered.extend(found),
                        Err(e) => {
                            // Nothing of the batch is committed: the state goes back to the log
                            // (the writes still queued in it answer 503 as they are dropped).
                            drop(txn);
                            sync.stale.store(true, Ordering::Release);
                            let _ = rebuild_state(app, sync).await;
                            let _ = q.done.send((unavailable(&e), false));
                            for (tx, _, _) in answers {
                                let _ = tx.send((unavailable(&e), false));
                            }
                            return;
                        }
                    }
                }
                q.key = Some(k);
            }
        }
        // A key answered since it was claimed (by a request on another instance that held the
        // key after this one's claim lost its lock, or earlier in this batch): its answer, not a
        // second handling.
        if let Some(k) = &q.key
            && let Some((fp, answer)) = answered.get(&(k.scope.clone(), k.key.clone()))
        {
            let resp = crate::http::layers::idempotency_shared::stored_answer(
                answer,
                *fp == k.fingerprint,
            );
            answers.push((q.done, resp, false));
            continue;
        }
        let at = sync.next_at();
        let seed = applying::new_seed();
        let done = (q.job)(at, seed).await;
        if let Some((command, answer)) = done.change {
            seq += 1;
            txn.append(&Entry {
                seq,
                at,
                seed,
                version: VERSION.to_owned(),
                command,
            });
            if let Some((claimed, bytes)) = answer {
                // Under the scope the key was handled in (see above).
                let slot = q.key.clone().unwrap_or(claimed);
                answered.insert(
                    (slot.scope.clone(), slot.key.clone()),
                    (slot.fingerprint.clone(), bytes.clone()),
                );
                txn.answer(&slot, bytes);
            }
            last_at = Some(at);
        }
        answers.push((q.done, done.resp, done.flush));
    }
    if last_at.is_none() {
        // Nothing to write: the transaction ends, the lock given back (on an error, the dropped
        // transaction rolls back with its connection).
        let _ = txn.commit().await;
        for (tx, resp, flush) in answers {
            let _ = tx.send((resp, flush));
        }
        return;
    }
    match txn.commit().await {
        Ok(()) => {
            sync.applied.store(seq, Ordering::Release);
            if let Some(at) = last_at {
                sync.last_at_ms
                    .fetch_max(at.timestamp_millis(), Ordering::AcqRel);
            }
            for (tx, resp, flush) in answers {
                let _ = tx.send((resp, flush));
            }
        }
        Err(e) => {
            // The state holds changes the log does not: start again from the log.
            sync.stale.store(true, Ordering::Release);
            let _ = rebuild_state(app, sync).await;
            for (tx, _, _) in answers {
                let _ = tx.send((unavailable(&e), false));
            }
        }
    }
}

/// Builds the state again from the store's genesis and log (the permit held).
async fn rebuild_state(app: &AppState, sync: &Sync) -> Result<(), StoreError> {
    let entries = sync.store.entries_after(&sync.tenant, 0).await?;
    let fresh = crate::server::genesis_state(app, &sync.genesis);
    {
        let mut g = app.lock_raw();
        let mut fresh = fresh;
        fresh.clock = g.clock.clone();
        fresh.clock.reset();
        fresh.credentials.continue_generation(&g.credentials);
        let old = std::mem::replace(&mut *g, fresh);
        drop(g);
        drop(old);
    }
    sync.applied.store(0, Ordering::Release);
    apply_all(app, sync, entries).await?;
    sync.stale.store(false, Ordering::Release);
    Ok(())
}

/// Whether the store answers (for `GET /_mock/health`).
pub async fn reachable(app: &AppState) -> Option<Result<(), String>> {
    let sync = app.sync()?;
    Some(
        match tokio::time::timeout(Duration::from_secs(2), sync.store.ping()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err("no answer within 2 s".into()),
        },
    )
}
