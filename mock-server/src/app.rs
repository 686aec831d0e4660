//! The running server's handle: the sandbox behind its lock, the stores kept beside it (journal,
//! idempotency answers, resolved credentials) and the fixed configuration.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::clock::Clock;
use crate::domain::journal::{Journal, Recorded};
use crate::domain::sandbox::{Demo, Sandbox};

/// Journal entries a slow listener of [`Shared::journal_feed`] may fall behind by before it misses some.
pub const JOURNAL_FEED_CAPACITY: usize = 1024;

/// Shared server handle: the state behind one mutex plus fixed configuration.
pub struct Shared {
    /// The state.
    pub state: Mutex<Sandbox>,
    /// The request journal, behind its own lock: recording a request does not wait for the state.
    pub journal: Mutex<Journal>,
    /// Each journal entry as it is recorded, for the console's live journal (sent only while someone listens).
    pub journal_feed: tokio::sync::broadcast::Sender<Arc<Recorded>>,
    /// Becomes `true` when the server stops: answers that never end by themselves (the console's live
    /// journal) end then, so the graceful shutdown need not wait for them.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// The idempotency store, behind locks of its own.
    pub idem: crate::http::idem_store::IdemStore,
    /// Resolved credentials, so that authenticating does not wait for the state's lock.
    pub creds: crate::http::auth::CredCache,
    /// The state's credential generation ([`crate::domain::credentials::Credentials::generation`]), readable
    /// without its lock.
    pub cred_gen: Arc<AtomicU64>,
    /// The state's clock (a handle on the same clock), readable without the state's lock.
    pub clock: Clock,
    /// Whether webhook sends wait in the state's outbox, as of the last release of the state's lock.
    pub outbox_pending: AtomicBool,
    /// Demo fixture.
    pub demo: Demo,
    /// Legacy key of the demo app.
    pub legacy: String,
    /// The fixtures loaded at start, with the ids and keys they were given: `POST /_mock/reset`
    /// loads them again ([`crate::control::Fixtures::resolved`]).
    pub startup_fixtures: Option<crate::control::Fixtures>,
    /// HTTP client for webhooks.
    pub http: reqwest::Client,
    /// Serializes webhook flushes, so a clock advance waits for sends already under way.
    pub flush_lock: tokio::sync::Mutex<()>,
    /// Set once a fault is ever injected: until then requests skip the fault lookup (and its lock).
    pub faults_armed: AtomicBool,
    /// The compat endpoints' rate limit (real time, outside the state: no reset or clock moves it).
    pub compat_limiter: crate::http::compat::CompatLimiter,
    /// The tenant this is ([`crate::tenants`]; `default` at the root).
    pub tenant: String,
    /// Whether the sandbox is shared (`crate::tenants`): the control API then needs a secret key.
    pub shared: bool,
    /// The persistent store and this instance's place in its log; `None` for the in-memory store.
    pub sync: Option<Arc<crate::sync::Sync>>,
    /// When the server started, in real time (`GET /_mock/health`'s uptime; no reset or clock moves it).
    pub started: std::time::Instant,
    /// Last, so it drops after everything above: hands the freed memory back to the OS.
    _release: crate::memory::ReleaseOnDrop,
}

impl Shared {
    /// The handle of a server over `state`.
    pub fn new(state: Sandbox, demo: Demo, legacy: String, http: reqwest::Client) -> Shared {
        Shared {
            idem: crate::http::idem_store::IdemStore::new(state.now()),
            creds: crate::http::auth::CredCache::default(),
            cred_gen: state.credentials.generation(),
            clock: state.clock.clone(),
            outbox_pending: AtomicBool::new(state.webhooks.has_pending_sends()),
            state: Mutex::new(state),
            journal: Mutex::new(Journal::default()),
            journal_feed: tokio::sync::broadcast::channel(JOURNAL_FEED_CAPACITY).0,
            stopping: tokio::sync::watch::Sender::new(false),
            demo,
            legacy,
            startup_fixtures: None,
            http,
            flush_lock: tokio::sync::Mutex::new(()),
            faults_armed: AtomicBool::new(false),
            compat_limiter: crate::http::compat::CompatLimiter::default(),
            started: std::time::Instant::now(),
            sync: None,
            shared: false,
            tenant: crate::tenants::DEFAULT.to_owned(),
            _release: crate::memory::ReleaseOnDrop,
        }
    }
}

/// Axum state.
#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

impl AppState {
    /// Locks the state and runs due rules.
    ///
    /// With a persistent store, due rules run only while an entry of its log is applied (they are
    /// a change, and every change is an entry: [`crate::sync`]); a read locks without them.
    pub fn lock(&self) -> StateGuard<'_> {
        if self.0.sync.is_some() && !crate::domain::applying::active() {
            return self.lock_raw();
        }
        self.due_run(self.lock_raw())
    }

    /// The persistent store's side of this instance, if the state is kept in one.
    pub fn sync(&self) -> Option<&crate::sync::Sync> {
        self.0.sync.as_deref()
    }

    fn guard<'a>(&'a self, state: MutexGuard<'a, Sandbox>) -> StateGuard<'a> {
        StateGuard {
            state,
            outbox_pending: &self.0.outbox_pending,
        }
    }

    fn due_run<'a>(&'a self, mut g: StateGuard<'a>) -> StateGuard<'a> {
        g.run_due();
        g
    }

    /// Locks the state without running due rules.
    pub fn lock_raw(&self) -> StateGuard<'_> {
        self.guard(self.0.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Locks the journal.
    pub fn journal(&self) -> MutexGuard<'_, Journal> {
        self.0.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether webhook sends wait to be delivered.
    pub fn outbox_pending(&self) -> bool {
        self.0.outbox_pending.load(Ordering::Acquire)
    }
}

/// The locked state. Releasing it publishes whether the outbox holds sends ([`AppState::outbox_pending`]),
/// so requests learn it without taking the lock again.
pub struct StateGuard<'a> {
    state: MutexGuard<'a, Sandbox>,
    outbox_pending: &'a AtomicBool,
}

impl std::ops::Deref for StateGuard<'_> {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.state
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut Sandbox {
        &mut self.state
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        self.outbox_pending
            .store(self.state.webhooks.has_pending_sends(), Ordering::Release);
    }
}

/// A server handle over the seeded state, for unit tests (nothing listens; the base URL is unused).
#[cfg(test)]
pub fn test_app() -> AppState {
    use crate::server::{DEMO_LEGACY_KEY, DEMO_SECRET_KEY};
    let demo = Demo {
        app_id: "app_t".into(),
        account_id: "acct_t".into(),
        api_key: DEMO_LEGACY_KEY.into(),
        secret_key: DEMO_SECRET_KEY.into(),
        campaign_id: "cmp_t".into(),
        moment_ids: vec![],
        moments: vec![],
        reward_group_ids: vec![],
        base_url: "http://127.0.0.1:1".into(),
    };
    let state = Sandbox::seeded(demo.base_url.clone(), &demo, DEMO_LEGACY_KEY);
    AppState(Arc::new(Shared::new(
        state,
        demo,
        DEMO_LEGACY_KEY.into(),
        reqwest::Client::new(),
    )))
}
