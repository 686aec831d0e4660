//! Where the sandbox's state lives: in memory (the default), in SQLite (one instance; the state
//! survives restarts) or in PostgreSQL (any number of instances sharing one database).
//!
//! The persistent stores keep the sandbox as a log: every request that may change it is an
//! [`Entry`], appended in the same database transaction that serializes it against every other
//! change (PostgreSQL: a row lock on the `sandbox` row held until the commit; SQLite: one writer).
//! The state in each instance's memory is the result of applying the log in order, with the
//! domain code that serves the in-memory mock ([`crate::domain`]); applying an entry is
//! deterministic ([`crate::domain::applying`]). So a campaign's caps, one redemption per link,
//! frequency caps, goals and stock hold across instances exactly as in one process: each change is
//! decided on the state every earlier change made, whichever instance made it.
//!
//! [`crate::http::layers::store`] runs the write transaction around a request;
//! [`crate::sync`] keeps an instance's state caught up and its webhook sends claimed.

pub mod entry;
mod migrations;
mod postgres;
mod sqlite;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use entry::{Command, Entry};

/// Where the state lives (`--store`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StoreSpec {
    /// In this process's memory: nothing survives a restart (the default).
    #[default]
    Memory,
    /// A SQLite file, used by one instance at a time.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`), shared by any number of instances.
    Postgres(String),
}

impl std::str::FromStr for StoreSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "memory" {
            Ok(StoreSpec::Memory)
        } else if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("`sqlite:` needs a file path: sqlite:PATH".into());
            }
            Ok(StoreSpec::Sqlite(PathBuf::from(path)))
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            s.parse::<tokio_postgres::Config>()
                .map_err(|e| format!("not a PostgreSQL URL ({e})"))?;
            Ok(StoreSpec::Postgres(s.to_owned()))
        } else {
            Err(format!(
                "unknown store `{s}`: use memory, sqlite:PATH or postgres://USER@HOST/DB"
            ))
        }
    }
}

impl StoreSpec {
    /// `memory`, `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreSpec::Memory => "memory",
            StoreSpec::Sqlite(_) => "sqlite",
            StoreSpec::Postgres(_) => "postgres",
        }
    }

    /// Where, without a password: a file path or `host:port/database`.
    pub fn location(&self) -> String {
        match self {
            StoreSpec::Memory => "memory".into(),
            StoreSpec::Sqlite(p) => p.display().to_string(),
            StoreSpec::Postgres(url) => postgres::location(url),
        }
    }
}

/// What a store could not do.
#[derive(Debug)]
pub enum StoreError {
    /// The database cannot be reached or answered with an error: retrying may help.
    Unavailable(String),
    /// The database cannot serve this binary (a newer schema, another instance holding a SQLite
    /// file, a log written by a newer version): retrying does not help.
    Refused(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(s) | StoreError::Refused(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for std::io::Error {
    fn from(e: StoreError) -> Self {
        std::io::Error::other(e.to_string())
    }
}

/// The sandbox a store holds, as created by the first instance started on it: every instance
/// builds its starting state from this, so all start alike.
#[derive(Clone, Debug)]
pub struct Genesis {
    /// Seed of the start state's random stream (the demo keys, when random).
    pub seed: [u8; 32],
    /// When the sandbox was created (real time).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Whether the demo keys are random instead of the documented ones.
    pub random_demo_keys: bool,
    /// The fixtures loaded at creation.
    pub fixtures: Option<serde_json::Value>,
}

/// An open persistent store.
pub enum Store {
    /// SQLite.
    Sqlite(sqlite::Sqlite),
    /// PostgreSQL.
    Postgres(postgres::Postgres),
}

/// A write transaction: the sandbox locked against every other writer until [`Txn::commit`].
pub enum Txn {
    /// SQLite.
    Sqlite(sqlite::SqliteTxn),
    /// PostgreSQL (boxed: its pooled connection is large).
    Postgres(Box<postgres::PgTxn>),
}

impl Store {
    /// Opens the store: waits up to `wait` for the database (saying what it waits for) and applies
    /// the migrations (refusing a database of a newer schema).
    pub async fn open(spec: &StoreSpec, wait: Duration) -> Result<Store, StoreError> {
        match spec {
            StoreSpec::Memory => Err(StoreError::Refused(
                "the in-memory store is not opened".into(),
            )),
            StoreSpec::Sqlite(path) => Ok(Store::Sqlite(sqlite::Sqlite::open(path.clone()).await?)),
            StoreSpec::Postgres(url) => {
                Ok(Store::Postgres(postgres::Postgres::open(url, wait).await?))
            }
        }
    }

    /// The sandbox of `tenant` as created; created now from `proposal` if the store holds none
    /// (and `proposal` is given). `None`: no such sandbox.
    pub async fn sandbox(
        &self,
        tenant: &str,
        proposal: Option<Genesis>,
    ) -> Result<Option<Genesis>, StoreError> {
        match self {
            Store::Sqlite(s) => s.sandbox(tenant, proposal).await,
            Store::Postgres(p) => p.sandbox(tenant, proposal).await,
        }
    }

    /// Every tenant the store holds a sandbox for, with the seq of its log's last entry.
    pub async fn heads(&self) -> Result<Vec<(String, i64)>, StoreError> {
        match self {
            Store::Sqlite(s) => s.heads().await,
            Store::Postgres(p) => p.heads().await,
        }
    }

    /// The entries of `tenant`'s log after `seq`, in order (without locking anything).
    pub async fn entries_after(&self, tenant: &str, seq: i64) -> Result<Vec<Entry>, StoreError> {
        match self {
            Store::Sqlite(s) => s.entries_after(tenant, seq).await,
            Store::Postgres(p) => p.entries_after(tenant, seq).await,
        }
    }

    /// Starts a write transaction on `tenant`'s sandbox: from its start until its commit no other
    /// writer, on any instance, changes it. Also returns the entries after `after` that other
    /// instances committed (none with SQLite, which has one instance), and which of `keys` have an
    /// answer now ([`Answered`]; with SQLite, whose claims are exact in its one instance, none).
    pub async fn begin(
        &self,
        tenant: &str,
        after: i64,
        keys: &[&IdemSlot],
    ) -> Result<(Txn, Vec<Entry>, Answered), StoreError> {
        match self {
            Store::Sqlite(s) => Ok((Txn::Sqlite(s.begin(tenant)), Vec::new(), Answered::new())),
            Store::Postgres(p) => {
                let (t, entries, answered) = p.begin(tenant, after, keys).await?;
                Ok((Txn::Postgres(Box::new(t)), entries, answered))
            }
        }
    }

    /// Claims the sending of one webhook delivery attempt for `instance`: `true` for the one
    /// instance that claims it first, or that takes over a claim older than `stale` (its claimer
    /// stopped before recording the result).
    pub async fn claim(
        &self,
        send_key: &str,
        instance: &str,
        stale: Duration,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.claim(send_key, instance, stale).await,
            Store::Postgres(p) => p.claim(send_key, instance, stale).await,
        }
    }

    /// Forgets the webhook claims made before `older_than` ago (their attempts' results are
    /// entries every instance has applied by then); the number forgotten.
    pub async fn prune_claims(&self, older_than: Duration) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => s.prune_claims(older_than).await,
            Store::Postgres(p) => p.prune_claims(older_than).await,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.ping().await,
            Store::Postgres(p) => p.ping().await,
        }
    }

    /// The idempotency keys' table.
    pub fn idempotency(&self) -> IdemTable<'_> {
        IdemTable(self)
    }
}

impl Txn {
    /// Which of `keys` have an answer, read in this transaction (for a key rescoped after a reset
    /// the batch applied: [`IdemSlot::rescoped`]).
    pub async fn answered(&self, keys: &[&IdemSlot]) -> Result<Answered, StoreError> {
        match self {
            Txn::Sqlite(t) => t.answered(keys).await,
            Txn::Postgres(t) => t.answered(keys).await,
        }
    }

    /// Stores a keyed request's answer with the entry, written at the commit.
    pub fn answer(&mut self, slot: &IdemSlot, answer: Vec<u8>) {
        match self {
            Txn::Sqlite(t) => t.answer(slot, answer),
            Txn::Postgres(t) => t.answer(slot, answer),
        }
    }

    /// Appends an entry (its `seq` follows the last one read), written at the commit.
    pub fn append(&mut self, entry: &Entry) {
        match self {
            Txn::Sqlite(t) => t.append(entry),
            Txn::Postgres(t) => t.append(entry),
        }
    }

    /// Commits: once this returns `Ok`, the entries are durable and visible to every instance.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Txn::Sqlite(t) => t.commit().await,
            Txn::Postgres(t) => t.commit().await,
        }
    }
}

/// The times a claim is decided by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdemClock {
    /// The server's clock now (ms).
    pub now_ms: i64,
    /// Answers from before this (server clock, ms) are expired.
    pub expired_before_ms: i64,
    /// Real time now (ms).
    pub real_ms: i64,
    /// Unanswered claims from before this (real time, ms) were abandoned.
    pub abandoned_before_ms: i64,
}

impl IdemClock {
    /// The times for a claim made now: `now` on the server's clock (retention follows it, as in
    /// memory), answers kept for `ttl`, an unanswered claim abandoned after `abandoned` in real
    /// time.
    pub fn new(
        now: chrono::DateTime<chrono::Utc>,
        ttl: chrono::Duration,
        abandoned: Duration,
    ) -> IdemClock {
        let real_ms = chrono::Utc::now().timestamp_millis();
        IdemClock {
            now_ms: now.timestamp_millis(),
            expired_before_ms: (now - ttl).timestamp_millis(),
            real_ms,
            abandoned_before_ms: real_ms - abandoned.as_millis() as i64,
        }
    }
}

/// The keys that have an answer, by scope and key: the fingerprint of the request answered, and
/// the stored answer.
pub type Answered = std::collections::HashMap<(String, String), (String, Vec<u8>)>;

/// What the idempotency table answers when a key is first claimed.
#[derive(Debug, PartialEq, Eq)]
pub enum IdemClaim {
    /// This request holds the key: handle it, then [`IdemTable::release`] it.
    Claimed,
    /// Another request holds the key and has no answer yet.
    InProgress {
        /// Whether that request's fingerprint is this one's (`true` when unknown: a request on
        /// another PostgreSQL instance holds it).
        same: bool,
    },
    /// The key has an answer.
    Answered {
        /// Whether the answer's request had this one's fingerprint.
        same: bool,
        /// The stored answer.
        answer: Vec<u8>,
    },
}

/// Where a keyed request's answer goes: left in the request's extensions by the idempotency layer,
/// written by [`crate::sync::write_request`] in the same transaction as the request's entry.
#[derive(Clone, Debug)]
pub struct IdemSlot {
    /// The key's scope ([`IdemSlot::scope_of`] of the three below; made by [`IdemSlot::new`]).
    pub scope: String,
    /// The tenant, the sandbox's reset count and the caller (app and customer) the scope was made
    /// of: a reset forgets every key, so a request claimed before a reset it is handled after is
    /// answered under the scope of the resets then ([`IdemSlot::rescoped`]).
    pub tenant: String,
    /// See [`IdemSlot::tenant`].
    pub generation: u64,
    /// See [`IdemSlot::tenant`].
    pub caller: String,
    /// The key.
    pub key: String,
    /// The request's fingerprint (method, path, body).
    pub fingerprint: String,
    /// The times the key was claimed at.
    pub clock: IdemClock,
}

impl IdemSlot {
    /// The scope of keys sent by `caller` (app and customer) to `tenant`'s sandbox after its
    /// `generation`-th reset.
    pub fn scope_of(tenant: &str, generation: u64, caller: &str) -> String {
        format!("{tenant}/{generation}/{caller}")
    }

    /// The slot of `key` sent by `caller` to `tenant`'s sandbox after its `generation`-th reset.
    pub fn new(
        tenant: &str,
        generation: u64,
        caller: String,
        key: String,
        fingerprint: String,
        clock: IdemClock,
    ) -> IdemSlot {
        IdemSlot {
            scope: IdemSlot::scope_of(tenant, generation, &caller),
            tenant: tenant.to_owned(),
            generation,
            caller,
            key,
            fingerprint,
            clock,
        }
    }

    /// The same key under the scope of the sandbox after its `generation`-th reset.
    pub fn rescoped(&self, generation: u64) -> IdemSlot {
        IdemSlot::new(
            &self.tenant,
            generation,
            self.caller.clone(),
            self.key.clone(),
            self.fingerprint.clone(),
            self.clock,
        )
    }
}

/// The idempotency keys, in the store: one answer per key whichever instance is asked.
pub struct IdemTable<'a>(&'a Store);

impl IdemTable<'_> {
    /// Claims `key` within `scope` for a request with `fingerprint`, or says who holds it. An
    /// answer older than the clock's retention no longer counts.
    pub async fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        clock: IdemClock,
    ) -> Result<IdemClaim, StoreError> {
        match self.0 {
            Store::Sqlite(s) => s.idem_claim(scope, key, fingerprint, clock).await,
            Store::Postgres(p) => p.idem_claim(scope, key, fingerprint, clock).await,
        }
    }

    /// Lets a claimed key go once its request is done: `kept` if its answer was committed with
    /// its entry (the key answers with it from now on), otherwise a retry may use the key again
    /// once this returns.
    pub async fn release(&self, scope: &str, key: &str, kept: bool) -> Result<(), StoreError> {
        match self.0 {
            Store::Sqlite(_) if kept => Ok(()),
            Store::Sqlite(s) => s.idem_release(scope, key).await,
            Store::Postgres(p) => p.idem_release(scope, key, kept).await,
        }
    }

    /// What to do when a claimed key's request stops before [`IdemTable::release`] (its client
    /// went away; its write, if queued, still runs): PostgreSQL lets the key's lock go at once
    /// (the write transaction checks the key again, under the sandbox's lock); SQLite keeps the
    /// claim until it is abandoned.
    pub fn forget(&self, scope: &str, key: &str) {
        if let Store::Postgres(p) = self.0 {
            p.idem_forget(scope, key);
        }
    }
}

/// This binary's version, written with each entry.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether an entry written by `version` may be applied by this binary: entries of this version
/// or older (an upgraded instance applies history with its own rules), never newer ones.
pub fn applicable(version: &str) -> bool {
    fn parts(v: &str) -> Vec<u64> {
        v.split(['.', '-']).map_while(|p| p.parse().ok()).collect()
    }
    parts(version) <= parts(VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_say_where() {
        assert_eq!("memory".parse::<StoreSpec>(), Ok(StoreSpec::Memory));
        assert_eq!(
            "sqlite:/tmp/x.db".parse::<StoreSpec>(),
            Ok(StoreSpec::Sqlite("/tmp/x.db".into()))
        );
        let pg: StoreSpec = "postgres://u:secret@db.example:5433/moments"
            .parse()
            .unwrap();
        assert_eq!(pg.kind(), "postgres");
        assert_eq!(pg.location(), "db.example:5433/moments");
        assert!(!pg.location().contains("secret"));
        assert!("sqlite:".parse::<StoreSpec>().is_err());
        assert!(
            "mysql://x"
                .parse::<StoreSpec>()
                .unwrap_err()
                .contains("unknown store")
        );
    }

    #[test]
    fn newer_entries_are_not_applied() {
        assert!(applicable(VERSION));
        assert!(applicable("0.0.1"));
        assert!(!applicable("999.0.0"));
    }
}
