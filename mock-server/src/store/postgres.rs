//! The PostgreSQL store: any number of instances on one database.
//!
//! A write holds the row lock of the `sandbox` row (`SELECT … FOR UPDATE`) from its start to its
//! commit, so the changes of all instances form one order, each decided on the state all earlier
//! ones made. Writes commit with the server's defaults (`synchronous_commit = on`): an answered
//! write is durable.
//!
//! An idempotency key is claimed with a session-level advisory lock on a connection of the
//! instance's own ([`Postgres::idem_claim`]): other instances see it at once, nothing is written,
//! and the lock goes with the connection if the instance stops. The key's answer is a row of
//! `idempotency` inserted by the write transaction that handled the request, which first checks,
//! under the sandbox's lock, that no other request answered the key: so one answer per key holds by
//! the row lock and the key's primary key alone, and the advisory lock only makes a key in
//! progress on one instance `409 idempotency_in_progress` on the others.

use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::{Answered, Entry, Genesis, IdemClaim, IdemClock, IdemSlot, StoreError};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Connections kept per instance.
pub const POOL_SIZE: usize = 32;

/// The connection idempotency keys' advisory locks are taken and let go on (session-level
/// locks belong to one connection).
const LOCKS_POOL_SIZE: usize = 1;

/// The advisory lock instances take while one of them migrates the schema.
const MIGRATION_LOCK: i64 = 0x6d6f_6d65_6e74;

/// An open PostgreSQL store.
pub struct Postgres {
    pool: Pool,
    /// The connection idempotency keys are locked on.
    locks_pool: Pool,
    location: String,
    claims: std::sync::Arc<std::sync::Mutex<ClaimQueue>>,
}

/// Idempotency claims and unlocks waiting for the next group, and the keys this instance holds.
#[derive(Default)]
struct ClaimQueue {
    waiting: Vec<PendingClaim>,
    /// Locks to let go, each with who waits for it (if anyone does).
    unlocks: Vec<(i64, Option<tokio::sync::oneshot::Sender<()>>)>,
    /// Whether a task is making groups (it takes the waiting ones until there are none).
    running: bool,
    /// The keys (scope, key) claimed through this instance and not yet let go, with their
    /// requests' fingerprints: a second request for one is in progress here without asking the
    /// database (the session's advisory locks are re-entrant).
    held: std::collections::HashMap<(String, String), String>,
}

/// Held by the task making groups: if it panics, the next claim starts a task again, and the
/// claims waiting get an error rather than no answer.
struct Unstuck(std::sync::Arc<std::sync::Mutex<ClaimQueue>>);

impl Drop for Unstuck {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
            q.running = false;
            q.waiting.clear();
            q.unlocks.clear();
        }
    }
}

struct PendingClaim {
    scope: String,
    key: String,
    fingerprint: String,
    lock: i64,
    clock: IdemClock,
    done: tokio::sync::oneshot::Sender<Result<IdemClaim, StoreError>>,
}

/// A write transaction on one connection, holding the sandbox row's lock. Dropped uncommitted, its
/// connection is closed (the server rolls the transaction back).
pub struct PgTxn {
    client: Option<Object>,
    tenant: String,
    entries: Vec<Entry>,
    answers: Vec<(IdemSlot, Vec<u8>)>,
}

/// `host:port/database` of a URL (no user, no password).
pub fn location(url: &str) -> String {
    let Ok(c) = url.parse::<tokio_postgres::Config>() else {
        return "postgres (unparsable URL)".into();
    };
    let host = c
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", c.get_dbname().unwrap_or("postgres"))
}

/// Adds `-c name=value` settings to the ones the URL gives.
fn add_options(config: &mut tokio_postgres::Config, more: &str) {
    let options = match config.get_options() {
        Some(o) if !o.is_empty() => format!("{o} {more}"),
        _ => more.to_owned(),
    };
    config.options(&options);
}

/// A pool of up to `size` connections made with `config`.
fn pool(config: tokio_postgres::Config, size: usize) -> Result<Pool, StoreError> {
    let mgr = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(5)))
        .wait_timeout(Some(Duration::from_secs(10)))
        .build()
        .map_err(unavailable)
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("PostgreSQL: {e}"))
}

impl Postgres {
    /// Connects (retrying with backoff for up to `wait`, saying what it waits for), migrates under
    /// an advisory lock and reads or creates the sandbox.
    pub async fn open(url: &str, wait: Duration) -> Result<Postgres, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Refused(format!("not a PostgreSQL URL ({e})")))?;
        let location = location(url);
        let deadline = tokio::time::Instant::now() + wait;
        let mut backoff = Duration::from_millis(250);
        let (mut client, conn) = loop {
            match config.connect(NoTls).await {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() + backoff < deadline => {
                    tracing::warn!(
                        "waiting for PostgreSQL at {location}: {e}; next try in {} ms",
                        backoff.as_millis()
                    );
                    eprintln!(
                        "moments-mock-server: waiting for PostgreSQL at {location} ({e}); next try in {} ms",
                        backoff.as_millis()
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    return Err(StoreError::Unavailable(format!(
                        "PostgreSQL at {location} cannot be reached ({e}); gave up after {} s",
                        wait.as_secs()
                    )));
                }
            }
        };
        let conn_task = tokio::spawn(conn);
        let migrated = migrate(&mut client).await;
        drop(client);
        let _ = conn_task.await;
        migrated?;
        // Every statement finds its rows by a key or a range of one: its prepared plan is to read
        // an index, whatever the tables held when it was planned (see `READ_AFTER`).
        let mut config = config;
        add_options(&mut config, "-c enable_seqscan=off");
        Ok(Postgres {
            locks_pool: pool(config.clone(), LOCKS_POOL_SIZE)?,
            pool: pool(config, POOL_SIZE)?,
            location,
            claims: Default::default(),
        })
    }

    /// The sandbox of `tenant`, created from `proposal` if there is none (and a proposal).
    pub async fn sandbox(
        &self,
        tenant: &str,
        proposal: Option<Genesis>,
    ) -> Result<Option<Genesis>, StoreError> {
        let c = self.client().await?;
        if let Some(p) = &proposal {
            let fixtures = p.fixtures.as_ref().map(|f| f.to_string());
            c.execute(
                "INSERT INTO sandbox (tenant, seed, created_at_ms, random_keys, fixtures)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant) DO NOTHING",
                &[
                    &tenant,
                    &&p.seed[..],
                    &p.created_at.timestamp_millis(),
                    &p.random_demo_keys,
                    &fixtures,
                ],
            )
            .await
            .map_err(unavailable)?;
        }
        let row = c
            .query_opt(
                "SELECT seed, created_at_ms, random_keys, fixtures FROM sandbox WHERE tenant = $1",
                &[&tenant],
            )
            .await
            .map_err(unavailable)?;
        row.map(|r| super::migrations::genesis((r.get(0), r.get(1), r.get(2), r.get(3))))
            .transpose()
    }

    /// Every tenant with a sandbox, and the seq of its log's last entry.
    pub async fn heads(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT tenant, head FROM sandbox ORDER BY tenant", &[])
            .await
            .map_err(unavailable)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("PostgreSQL at {}: {e}", self.location)))
    }

    /// Entries after `seq`.
    pub async fn entries_after(&self, tenant: &str, seq: i64) -> Result<Vec<Entry>, StoreError> {
        let c = self.client().await?;
        read_after(&c, tenant, seq).await
    }

    /// Starts a transaction, takes the sandbox row's lock, and reads the entries after `after`
    /// and the answers `keys` have, as committed before the lock was granted: the statements are
    /// sent at once (one round trip once the lock is free).
    pub async fn begin(
        &self,
        tenant: &str,
        after: i64,
        keys: &[&IdemSlot],
    ) -> Result<(PgTxn, Vec<Entry>, Answered), StoreError> {
        let c = self.client().await?;
        let txn = PgTxn {
            client: Some(c),
            tenant: tenant.to_owned(),
            entries: Vec::new(),
            answers: Vec::new(),
        };
        let c = txn.client.as_ref().expect("just set");
        let lock = c
            .prepare_cached("SELECT head FROM sandbox WHERE tenant = $1 FOR UPDATE")
            .await
            .map_err(unavailable)?;
        let after_st = c.prepare_cached(READ_AFTER).await.map_err(unavailable)?;
        let (_, _, rows, answered) = futures_util::future::try_join4(
            c.batch_execute("BEGIN"),
            c.query_one(&lock, &[&tenant]),
            c.query(&after_st, &[&tenant, &after]),
            answers_of(c, keys),
        )
        .await
        .map_err(unavailable)?;
        let entries = rows.iter().map(row_entry).collect::<Result<_, _>>()?;
        Ok((txn, entries, answered))
    }

    /// Claims a webhook send.
    pub async fn claim(
        &self,
        key: &str,
        instance: &str,
        stale: Duration,
    ) -> Result<bool, StoreError> {
        let c = self.client().await?;
        let now = Utc::now().timestamp_millis();
        let stale_before = now - stale.as_millis() as i64;
        let n = c
            .execute(
                "INSERT INTO webhook_claims (send_key, instance, claimed_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (send_key) DO UPDATE SET instance = excluded.instance, claimed_ms = excluded.claimed_ms
                 WHERE webhook_claims.claimed_ms < $4",
                &[&key, &instance, &now, &stale_before],
            )
            .await
            .map_err(unavailable)?;
        Ok(n == 1)
    }

    /// Forgets the webhook claims made before `older_than` ago; the number forgotten.
    pub async fn prune_claims(&self, older_than: Duration) -> Result<u64, StoreError> {
        let c = self.client().await?;
        let before = Utc::now().timestamp_millis() - older_than.as_millis() as i64;
        c.execute(
            "DELETE FROM webhook_claims WHERE claimed_ms < $1",
            &[&before],
        )
        .await
        .map_err(unavailable)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.simple_query("SELECT 1").await.map_err(unavailable)?;
        Ok(())
    }

    /// Claims an idempotency key: its advisory lock taken on this instance's locks connection, and
    /// its answer read. A key this instance holds already is in progress without asking. Claims
    /// (and unlocks) arriving while a group is being made wait and go together as the next group:
    /// one round trip for the group ([`claim_group`]).
    pub async fn idem_claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        clock: IdemClock,
    ) -> Result<IdemClaim, StoreError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let id = (scope.to_owned(), key.to_owned());
        {
            let mut q = self.claims.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(fp) = q.held.get(&id) {
                return Ok(IdemClaim::InProgress {
                    same: fp == fingerprint,
                });
            }
            q.held.insert(id.clone(), fingerprint.to_owned());
            q.waiting.push(PendingClaim {
                scope: scope.to_owned(),
                key: key.to_owned(),
                fingerprint: fingerprint.to_owned(),
                lock: lock_id(scope, key),
                clock,
                done,
            });
        }
        // Until the claim is decided the key is this request's; if the request stops waiting,
        // the key is let go (and its lock, if the group took it: see `claim_group`).
        let mut waiting = Waiting {
            pg: self,
            id: Some(id),
            answer: Some(answer),
        };
        self.run_groups();
        let claim = waiting
            .answer
            .as_mut()
            .expect("set above")
            .await
            .unwrap_or_else(|_| Err(unavailable("the claim was not made")));
        waiting.answer = None;
        if matches!(claim, Ok(IdemClaim::Claimed)) {
            waiting.id = None;
        }
        claim
    }

    /// Lets a claimed key go: its lock is given back in the next group. If its answer was not
    /// `kept`, this waits until the lock is given back, so a retry anywhere may claim the key.
    pub async fn idem_release(&self, scope: &str, key: &str, kept: bool) -> Result<(), StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.let_go(scope, key, (!kept).then_some(tx));
        if !kept {
            rx.await
                .map_err(|_| unavailable("the key's lock was not given back"))?;
        }
        Ok(())
    }

    /// Lets a claimed key go without waiting (its request stopped).
    pub fn idem_forget(&self, scope: &str, key: &str) {
        self.let_go(scope, key, None);
    }

    fn let_go(&self, scope: &str, key: &str, done: Option<tokio::sync::oneshot::Sender<()>>) {
        {
            let mut q = self.claims.lock().unwrap_or_else(|p| p.into_inner());
            q.held.remove(&(scope.to_owned(), key.to_owned()));
            q.unlocks.push((lock_id(scope, key), done));
        }
        self.run_groups();
    }

    /// Starts the task making groups, unless it runs.
    fn run_groups(&self) {
        {
            let mut q = self.claims.lock().unwrap_or_else(|p| p.into_inner());
            if std::mem::replace(&mut q.running, true) {
                return;
            }
        }
        // In a task of its own: a request that stops waiting does not stop the others' group.
        let (pool, claims) = (self.locks_pool.clone(), self.claims.clone());
        tokio::spawn(async move {
            let _unstuck = Unstuck(claims.clone());
            loop {
                let (group, unlocks) = {
                    let mut q = claims.lock().unwrap_or_else(|p| p.into_inner());
                    if q.waiting.is_empty() && q.unlocks.is_empty() {
                        q.running = false;
                        return;
                    }
                    (
                        std::mem::take(&mut q.waiting),
                        std::mem::take(&mut q.unlocks),
                    )
                };
                claim_group(&pool, &claims, group, unlocks).await;
            }
        });
    }
}

/// A claim being decided. Dropped with `id` set, the key is not this instance's any more: if the
/// group took its lock for a request that stopped waiting before reading it, the lock is given
/// back here; if the group had not answered yet, it gives the lock back itself (its answer finds no
/// one).
struct Waiting<'a> {
    pg: &'a Postgres,
    id: Option<(String, String)>,
    answer: Option<tokio::sync::oneshot::Receiver<Result<IdemClaim, StoreError>>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let Some((scope, key)) = self.id.take() else {
            return;
        };
        let unread = self.answer.take().map(|mut a| a.try_recv());
        if matches!(unread, Some(Ok(Ok(IdemClaim::Claimed)))) {
            self.pg.let_go(&scope, &key, None);
        } else {
            let mut q = self.pg.claims.lock().unwrap_or_else(|p| p.into_inner());
            q.held.remove(&(scope, key));
        }
    }
}

/// The advisory lock of a key: the first 8 bytes of the SHA-256 of its scope and key. Two keys
/// sharing one (about one pair in 2^64) are in progress while either is.
fn lock_id(scope: &str, key: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update([0u8]);
    h.update(key.as_bytes());
    let d = h.finalize();
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// A statement's parameter.
type Param<'a> = dyn tokio_postgres::types::ToSql + Sync + 'a;

/// A group's claims: each key's advisory lock tried, and its answer if it has one still kept
/// (`$4`: answers from before this, on the server's clock, expired), in the group's order. The
/// answer is read with the statement's snapshot, taken before the lock: an answer committed in
/// between is missed here and found by the write transaction's check ([`ANSWERS`]).
const CLAIM_GROUP: &str = "SELECT pg_try_advisory_lock(k.lock), i.fingerprint, i.answer
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[])
          WITH ORDINALITY AS k(lock, scope, key, expired, n)
     LEFT JOIN idempotency AS i ON i.scope = k.scope AND i.key = k.key
          AND i.answer IS NOT NULL AND i.created_ms >= k.expired
     ORDER BY k.n";

/// Lets advisory locks go (one each).
const UNLOCK: &str = "SELECT pg_advisory_unlock(l) FROM unnest($1::bigint[]) AS l";

/// The keys of a batch that have an answer still kept, read under the sandbox's lock.
const ANSWERS: &str = "SELECT i.scope, i.key, i.fingerprint, i.answer
     FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k(scope, key, expired)
     JOIN idempotency AS i ON i.scope = k.scope AND i.key = k.key
          AND i.answer IS NOT NULL AND i.created_ms >= k.expired";

/// Makes a group: the unlocks, then the claims, in one round trip on the locks connection; tells
/// each waiting request what it got. A key found answered has its lock (if taken) given back in
/// the next group; so has a key claimed for a request that stopped waiting.
async fn claim_group(
    pool: &Pool,
    claims: &std::sync::Mutex<ClaimQueue>,
    group: Vec<PendingClaim>,
    unlocks: Vec<(i64, Option<tokio::sync::oneshot::Sender<()>>)>,
) {
    let result = group_rows(pool, &group, &unlocks).await;
    // A failed unlock's lock went with its connection, or is given back with the connection that
    // replaces it: either way the waiter may go on.
    for (_, done) in unlocks {
        if let Some(done) = done {
            let _ = done.send(());
        }
    }
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            let mut q = claims.lock().unwrap_or_else(|p| p.into_inner());
            for p in group {
                q.held.remove(&(p.scope, p.key));
                let _ = p.done.send(Err(StoreError::Unavailable(e.to_string())));
            }
            return;
        }
    };
    let mut again = Vec::new();
    for (p, (locked, held)) in group.into_iter().zip(rows) {
        let claim = match held {
            Some((fp, answer)) => IdemClaim::Answered {
                same: fp == p.fingerprint,
                answer,
            },
            None if locked => IdemClaim::Claimed,
            None => IdemClaim::InProgress { same: true },
        };
        let claimed = claim == IdemClaim::Claimed;
        let lock = p.lock;
        let taken = p.done.send(Ok(claim)).is_ok();
        if locked && !(claimed && taken) {
            again.push((lock, None));
        }
    }
    if !again.is_empty() {
        let mut q = claims.lock().unwrap_or_else(|p| p.into_inner());
        q.unlocks.extend(again);
    }
}

/// Whether each claim's lock was taken, and its answer (fingerprint, answer) if it has one.
type ClaimRow = (bool, Option<(String, Vec<u8>)>);

async fn group_rows(
    pool: &Pool,
    group: &[PendingClaim],
    unlocks: &[(i64, Option<tokio::sync::oneshot::Sender<()>>)],
) -> Result<Vec<ClaimRow>, StoreError> {
    let c = pool.get().await.map_err(unavailable)?;
    let ids: Vec<i64> = unlocks.iter().map(|(l, _)| *l).collect();
    let locks: Vec<i64> = group.iter().map(|p| p.lock).collect();
    let scopes: Vec<&str> = group.iter().map(|p| p.scope.as_str()).collect();
    let keys: Vec<&str> = group.iter().map(|p| p.key.as_str()).collect();
    let expired: Vec<i64> = group.iter().map(|p| p.clock.expired_before_ms).collect();
    let unlock = async {
        if ids.is_empty() {
            return Ok(());
        }
        let st = c.prepare_cached(UNLOCK).await?;
        c.query(&st, &[&ids]).await.map(|_| ())
    };
    let claim = async {
        if group.is_empty() {
            return Ok(Vec::new());
        }
        let st = c.prepare_cached(CLAIM_GROUP).await?;
        c.query(&st, &[&locks, &scopes, &keys, &expired]).await
    };
    let (_, rows) = futures_util::future::try_join(unlock, claim)
        .await
        .map_err(unavailable)?;
    Ok(rows
        .iter()
        .map(|r| {
            let fp: Option<String> = r.get(1);
            let answer: Option<Vec<u8>> = r.get(2);
            (r.get(0), fp.zip(answer))
        })
        .collect())
}

/// A batch's entries, in one statement; the sandbox's head moves to the last of them in the same
/// statement.
const APPEND: &str = "WITH appended AS (
       INSERT INTO log (tenant, seq, at_ms, seed, version, command)
       SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bytea[], $5::text[], $6::text[])
       RETURNING seq)
     UPDATE sandbox SET head = (SELECT max(seq) FROM appended) WHERE tenant = $1";

/// A batch's answers to keyed requests, in one statement. A key whose answer expired (or that a
/// claim row of an earlier version holds) gets this one instead.
const ANSWER: &str = "INSERT INTO idempotency AS i
       (scope, key, fingerprint, created_ms, claimed_real_ms, answer)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bytea[])
     ON CONFLICT (scope, key) DO UPDATE
     SET fingerprint = excluded.fingerprint, created_ms = excluded.created_ms,
         claimed_real_ms = excluded.claimed_real_ms, answer = excluded.answer";

/// The log after a seq.
///
/// Every statement is prepared, and its plan made once (PostgreSQL keeps a generic plan after five
/// runs). The connections set `enable_seqscan = off`, so the plans of the statements that join a
/// batch's keys with a table, or read a range of the log, read the tables' primary keys whatever
/// the tables held when they were planned: made on a fresh database otherwise, the plan of a join
/// was a hash join over the whole table, read again for every batch as the table grew.
const READ_AFTER: &str = "SELECT seq, at_ms, seed, version, command FROM log
     WHERE tenant = $1 AND seq > $2 ORDER BY seq";

/// Which of `keys` have an answer kept ([`ANSWERS`]); no statement for none.
async fn answers_of(c: &Object, keys: &[&IdemSlot]) -> Result<Answered, tokio_postgres::Error> {
    if keys.is_empty() {
        return Ok(Answered::new());
    }
    let st = c.prepare_cached(ANSWERS).await?;
    let scopes: Vec<&str> = keys.iter().map(|k| k.scope.as_str()).collect();
    let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
    let expired: Vec<i64> = keys.iter().map(|k| k.clock.expired_before_ms).collect();
    let rows = c.query(&st, &[&scopes, &names, &expired]).await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect())
}

fn row_entry(r: &tokio_postgres::Row) -> Result<Entry, StoreError> {
    super::sqlite::entry(
        r.get(0),
        r.get(1),
        r.get::<_, &[u8]>(2),
        r.get(3),
        r.get::<_, &str>(4),
    )
}

async fn read_after(c: &Object, tenant: &str, seq: i64) -> Result<Vec<Entry>, StoreError> {
    let st = c.prepare_cached(READ_AFTER).await.map_err(unavailable)?;
    let rows = c.query(&st, &[&tenant, &seq]).await.map_err(unavailable)?;
    rows.iter().map(row_entry).collect()
}

impl PgTxn {
    /// Which of `keys` have an answer kept.
    pub async fn answered(&self, keys: &[&IdemSlot]) -> Result<Answered, StoreError> {
        let c = self
            .client
            .as_ref()
            .expect("a transaction has its connection until it ends");
        answers_of(c, keys).await.map_err(unavailable)
    }

    /// Queues an entry for the commit.
    pub fn append(&mut self, e: &Entry) {
        self.entries.push(e.clone());
    }

    /// Queues a keyed request's answer for the commit.
    pub fn answer(&mut self, slot: &IdemSlot, answer: Vec<u8>) {
        self.answers.push((slot.clone(), answer));
    }

    /// Writes the entries and answers, moves the head and commits (releasing the lock): one
    /// statement each for the entries, the answers and the head, whatever the batch's size, all
    /// sent at once with the `COMMIT` (one round trip and the commit's flush).
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let c = self
            .client
            .as_ref()
            .expect("a transaction has its connection until it ends");
        if self.entries.is_empty() && self.answers.is_empty() {
            // Nothing to write: the lock is given back without a flush, and the connection with it.
            c.batch_execute("ROLLBACK").await.map_err(unavailable)?;
            self.client.take();
            return Ok(());
        }
        let ins = c.prepare_cached(APPEND).await.map_err(unavailable)?;
        let answer = c.prepare_cached(ANSWER).await.map_err(unavailable)?;
        let mut seqs = Vec::with_capacity(self.entries.len());
        let mut ats = Vec::with_capacity(self.entries.len());
        let mut seeds = Vec::with_capacity(self.entries.len());
        let mut versions = Vec::with_capacity(self.entries.len());
        let mut commands = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            seqs.push(e.seq);
            ats.push(e.at.timestamp_millis());
            seeds.push(e.seed.to_vec());
            versions.push(e.version.clone());
            commands.push(e.command.to_text());
        }
        let n = self.answers.len();
        let (mut scopes, mut keys, mut fps) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut created, mut real, mut answers) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (slot, answer) in &self.answers {
            scopes.push(slot.scope.as_str());
            keys.push(slot.key.as_str());
            fps.push(slot.fingerprint.as_str());
            created.push(slot.clock.now_ms);
            real.push(slot.clock.real_ms);
            answers.push(answer.as_slice());
        }
        let mut writes: Vec<
            futures_util::future::BoxFuture<'_, Result<u64, tokio_postgres::Error>>,
        > = Vec::new();
        if !seqs.is_empty() {
            let params: Vec<&Param<'_>> =
                vec![&self.tenant, &seqs, &ats, &seeds, &versions, &commands];
            writes.push(Box::pin(c.execute_raw(&ins, params)));
        }
        if !scopes.is_empty() {
            let params: Vec<&Param<'_>> = vec![&scopes, &keys, &fps, &created, &real, &answers];
            writes.push(Box::pin(c.execute_raw(&answer, params)));
        }
        writes.push(Box::pin(async {
            c.batch_execute("COMMIT").await.map(|_| 0)
        }));
        futures_util::future::try_join_all(writes)
            .await
            .map_err(unavailable)?;
        // Committed: the connection goes back to the pool.
        self.client.take();
        Ok(())
    }
}

impl Drop for PgTxn {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            // Not committed: closing the connection makes the server roll back, and keeps a
            // connection in a transaction out of the pool.
            drop(Object::take(c));
        }
    }
}

async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(unavailable)?;
    let migrated = embedded::migrations::runner()
        .set_abort_missing(true)
        .run_async(client)
        .await;
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    super::migrations::check(migrated, "PostgreSQL")
}
