//! The PostgreSQL store: any number of instances on one database.
//!
//! A write holds the row lock of the `sandbox` row (`SELECT … FOR UPDATE`) from its start to its
//! commit, so the changes of all instances form one order, each decided on the state all earlier
//! ones made. Writes commit with the server's defaults (`synchronous_commit = on`): an answered
//! write is durable. Idempotency claims commit without waiting for the disk, on connections of
//! their own: a claim only marks a request being handled, and the write that answers it flushes
//! the claim with its own commit.

use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::types::Type;

use super::{Entry, Genesis, IdemClaim, IdemClock, IdemSlot, StoreError};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Connections kept per instance.
pub const POOL_SIZE: usize = 32;

/// Connections kept per instance for idempotency claims (their groups are made one at a time).
const CLAIMS_POOL_SIZE: usize = 2;

/// The advisory lock instances take while one of them migrates the schema.
const MIGRATION_LOCK: i64 = 0x6d6f_6d65_6e74;

/// An open PostgreSQL store.
pub struct Postgres {
    pool: Pool,
    /// The connections idempotency claims are made on (`synchronous_commit = off`).
    claims_pool: Pool,
    location: String,
    claims: std::sync::Arc<std::sync::Mutex<ClaimQueue>>,
}

/// Idempotency claims waiting for the next group.
#[derive(Default)]
struct ClaimQueue {
    waiting: Vec<PendingClaim>,
    /// Whether a task is making groups (it takes the waiting ones until there are none).
    running: bool,
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
        }
    }
}

struct PendingClaim {
    scope: String,
    key: String,
    fingerprint: String,
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
        // Idempotency claims commit without waiting for the disk: other instances see a claim
        // at once, and the write that answers it commits (and flushes, with every WAL record
        // before it) later. A claim lost in a crash was answered to no one: its request's write
        // was not committed either.
        let mut claims_config = config.clone();
        add_options(&mut claims_config, "-c synchronous_commit=off");
        Ok(Postgres {
            pool: pool(config, POOL_SIZE)?,
            claims_pool: pool(claims_config, CLAIMS_POOL_SIZE)?,
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

    /// Starts a transaction and takes the sandbox row's lock.
    /// Starts a transaction, takes the sandbox row's lock and reads the entries after `after`
    /// committed before the lock was granted: three statements sent at once (one round trip once
    /// the lock is free).
    pub async fn begin(&self, tenant: &str, after: i64) -> Result<(PgTxn, Vec<Entry>), StoreError> {
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
        let (_, _, rows) = futures_util::future::try_join3(
            c.batch_execute("BEGIN"),
            c.query_one(&lock, &[&tenant]),
            c.query_typed(READ_AFTER, &[(&tenant, Type::TEXT), (&after, Type::INT8)]),
        )
        .await
        .map_err(unavailable)?;
        let entries = rows.iter().map(row_entry).collect::<Result<_, _>>()?;
        Ok((txn, entries))
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

    /// Claims an idempotency key. Claims arriving while one is being made wait and go together as
    /// the next group: one statement and one commit for the group ([`claim_group`]), as writes go
    /// in one transaction per batch.
    pub async fn idem_claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        clock: IdemClock,
    ) -> Result<IdemClaim, StoreError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let lead = {
            let mut q = self.claims.lock().unwrap_or_else(|p| p.into_inner());
            q.waiting.push(PendingClaim {
                scope: scope.to_owned(),
                key: key.to_owned(),
                fingerprint: fingerprint.to_owned(),
                clock,
                done,
            });
            !std::mem::replace(&mut q.running, true)
        };
        if lead {
            // In a task of its own: a request that stops waiting does not stop the others' group.
            let (pool, claims) = (self.claims_pool.clone(), self.claims.clone());
            tokio::spawn(async move {
                let _unstuck = Unstuck(claims.clone());
                loop {
                    let group = {
                        let mut q = claims.lock().unwrap_or_else(|p| p.into_inner());
                        if q.waiting.is_empty() {
                            q.running = false;
                            return;
                        }
                        std::mem::take(&mut q.waiting)
                    };
                    claim_group(&pool, group).await;
                }
            });
        }
        answer
            .await
            .unwrap_or_else(|_| Err(unavailable("the claim was not made")))
    }

    /// Frees a claimed key that got no answer to keep.
    pub async fn idem_release(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM idempotency WHERE scope = $1 AND key = $2 AND answer IS NULL",
            &[&scope, &key],
        )
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}

/// A statement's parameter.
type Param<'a> = dyn tokio_postgres::types::ToSql + Sync + 'a;

/// A group of claims: each key inserted, or taken over from an expired answer or an abandoned claim
/// (the thresholds are each row's own times less `$6`, the retention, and `$7`, the abandonment
/// delay, in ms); the keys claimed are returned. Rows come sorted by scope and key, so two groups
/// on different instances take the keys' locks in one order.
const CLAIM_GROUP: &str =
    "INSERT INTO idempotency AS i (scope, key, fingerprint, created_ms, claimed_real_ms)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
     ON CONFLICT (scope, key) DO UPDATE
     SET fingerprint = excluded.fingerprint, created_ms = excluded.created_ms,
         claimed_real_ms = excluded.claimed_real_ms, answer = NULL
     WHERE i.created_ms < excluded.created_ms - $6
        OR (i.answer IS NULL AND i.claimed_real_ms < excluded.claimed_real_ms - $7)
     RETURNING scope, key";

/// What holds the keys a group could not claim.
const HELD: &str = "SELECT i.scope, i.key, i.fingerprint, i.answer FROM idempotency AS i
     JOIN unnest($1::text[], $2::text[]) AS k(scope, key) ON i.scope = k.scope AND i.key = k.key";

/// What holds a key: the fingerprint of its request, and its answer once there is one.
type Held = (String, Option<Vec<u8>>);

/// Makes a group of claims and tells each waiting request what it got. Claims with other retention
/// or abandonment delays than the first's (none, today) go in groups of their own.
async fn claim_group(pool: &Pool, mut group: Vec<PendingClaim>) {
    let delays = |c: &IdemClock| {
        (
            c.now_ms - c.expired_before_ms,
            c.real_ms - c.abandoned_before_ms,
        )
    };
    while !group.is_empty() {
        let first = delays(&group[0].clock);
        let (now, later): (Vec<_>, Vec<_>) =
            group.into_iter().partition(|c| delays(&c.clock) == first);
        group = later;
        let results = claim_rows(pool, &now, first).await;
        match results {
            Ok(results) => {
                for (pending, result) in now.into_iter().zip(results) {
                    let _ = pending.done.send(Ok(result));
                }
            }
            Err(e) => {
                for pending in now {
                    let _ = pending
                        .done
                        .send(Err(StoreError::Unavailable(e.to_string())));
                }
            }
        }
    }
}

/// One statement claiming every distinct key of `claims`, then one reading what holds the others;
/// the outcome of each claim, in order. A key twice in the group is claimed by its first request
/// and in progress for the next.
async fn claim_rows(
    pool: &Pool,
    claims: &[PendingClaim],
    (ttl_ms, abandoned_ms): (i64, i64),
) -> Result<Vec<IdemClaim>, StoreError> {
    let c = pool.get().await.map_err(unavailable)?;
    let mut order: Vec<usize> = (0..claims.len()).collect();
    order.sort_by(|&a, &b| {
        (&claims[a].scope, &claims[a].key).cmp(&(&claims[b].scope, &claims[b].key))
    });
    order.dedup_by(|a, b| claims[*a].scope == claims[*b].scope && claims[*a].key == claims[*b].key);
    let column = |f: fn(&PendingClaim) -> &str| -> Vec<&str> {
        order.iter().map(|&i| f(&claims[i])).collect()
    };
    let (scopes, keys, fps) = (
        column(|c| &c.scope),
        column(|c| &c.key),
        column(|c| &c.fingerprint),
    );
    let created: Vec<i64> = order.iter().map(|&i| claims[i].clock.now_ms).collect();
    let real: Vec<i64> = order.iter().map(|&i| claims[i].clock.real_ms).collect();
    let st = c.prepare_cached(CLAIM_GROUP).await.map_err(unavailable)?;
    let rows = c
        .query(
            &st,
            &[
                &scopes,
                &keys,
                &fps,
                &created,
                &real,
                &ttl_ms,
                &abandoned_ms,
            ],
        )
        .await
        .map_err(unavailable)?;
    let mut claimed: std::collections::HashSet<(String, String)> = rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    let mut outcome: Vec<Option<IdemClaim>> = claims
        .iter()
        .map(|p| {
            // The first request of a key it claimed takes the claim (`remove`: the next one with
            // that key does not).
            claimed
                .remove(&(p.scope.clone(), p.key.clone()))
                .then_some(IdemClaim::Claimed)
        })
        .collect();
    if outcome.iter().any(Option::is_none) {
        let (held_scopes, held_keys): (Vec<&str>, Vec<&str>) = claims
            .iter()
            .zip(&outcome)
            .filter(|(_, o)| o.is_none())
            .map(|(p, _)| (p.scope.as_str(), p.key.as_str()))
            .unzip();
        let rows = c
            .query_typed(
                HELD,
                &[
                    (&held_scopes, Type::TEXT_ARRAY),
                    (&held_keys, Type::TEXT_ARRAY),
                ],
            )
            .await
            .map_err(unavailable)?;
        let held: std::collections::HashMap<(String, String), Held> = rows
            .into_iter()
            .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
            .collect();
        for (p, o) in claims.iter().zip(outcome.iter_mut()) {
            if o.is_some() {
                continue;
            }
            *o = Some(match held.get(&(p.scope.clone(), p.key.clone())) {
                // Released between the two statements: in progress a moment ago; a retry claims it.
                None => IdemClaim::InProgress { same: true },
                Some((fp, None)) => IdemClaim::InProgress {
                    same: *fp == p.fingerprint,
                },
                Some((fp, Some(answer))) => IdemClaim::Answered {
                    same: *fp == p.fingerprint,
                    answer: answer.clone(),
                },
            });
        }
    }
    Ok(outcome
        .into_iter()
        .map(|o| o.expect("every claim decided"))
        .collect())
}

/// A batch's entries, in one statement; the sandbox's head moves to the last of them in the same
/// statement.
const APPEND: &str = "WITH appended AS (
       INSERT INTO log (tenant, seq, at_ms, seed, version, command)
       SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bytea[], $5::text[], $6::text[])
       RETURNING seq)
     UPDATE sandbox SET head = (SELECT max(seq) FROM appended) WHERE tenant = $1";

/// A batch's answers to keyed requests, in one statement (planned each time, see [`READ_AFTER`]).
const ANSWER: &str = "UPDATE idempotency AS i SET answer = a.answer
     FROM unnest($1::text[], $2::text[], $3::bytea[]) AS a(scope, key, answer)
     WHERE i.scope = a.scope AND i.key = a.key";

/// The log after a seq. This, [`ANSWER`] and [`HELD`] are sent unnamed with their parameters'
/// types (`query_typed`), so PostgreSQL plans each for the values at hand and the tables as they
/// are now. A prepared statement's generic plan is made once and kept: for the answers' join, made
/// on a fresh database, it was a hash join over the whole table, read again for every batch as the
/// table grew. The other statements' plans do not depend on a table's size (a key's row, an
/// insert).
const READ_AFTER: &str = "SELECT seq, at_ms, seed, version, command FROM log
     WHERE tenant = $1 AND seq > $2 ORDER BY seq";

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
    let rows = c
        .query_typed(READ_AFTER, &[(&tenant, Type::TEXT), (&seq, Type::INT8)])
        .await
        .map_err(unavailable)?;
    rows.iter().map(row_entry).collect()
}

impl PgTxn {
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
        let mut scopes = Vec::with_capacity(self.answers.len());
        let mut keys = Vec::with_capacity(self.answers.len());
        let mut answers = Vec::with_capacity(self.answers.len());
        for (slot, answer) in &self.answers {
            scopes.push(slot.scope.as_str());
            keys.push(slot.key.as_str());
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
            let params: [(&Param<'_>, Type); 3] = [
                (&scopes, Type::TEXT_ARRAY),
                (&keys, Type::TEXT_ARRAY),
                (&answers, Type::BYTEA_ARRAY),
            ];
            writes.push(Box::pin(async move {
                c.query_typed(ANSWER, &params).await.map(|_| 0)
            }));
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
