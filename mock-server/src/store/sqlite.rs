//! The SQLite store: one file, one instance (the file is locked while the instance runs).
//!
//! WAL journal, `synchronous = NORMAL`: a commit survives the process being killed; the last
//! commits may be lost if the machine itself stops (power loss), which a sandbox can afford.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Answered, Command, Entry, Genesis, IdemClaim, IdemClock, IdemSlot, StoreError};

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// An open SQLite store.
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

/// A write transaction: the entries to append, written at commit (the instance is the only writer).
pub struct SqliteTxn {
    tenant: String,
    conn: Arc<Mutex<Connection>>,
    entries: Vec<Entry>,
    answers: Vec<(IdemSlot, Vec<u8>)>,
}

/// Runs `f` on the connection, on a blocking thread.
async fn on<R: Send + 'static>(
    conn: &Arc<Mutex<Connection>>,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
) -> Result<R, StoreError> {
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c)
    })
    .await
    .map_err(unavailable)?
    .map_err(unavailable)
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("SQLite: {e}"))
}

impl Sqlite {
    /// Opens (creating) the file, locks it for this instance, migrates it and reads or creates the
    /// sandbox.
    pub async fn open(path: PathBuf) -> Result<Sqlite, StoreError> {
        let conn = tokio::task::spawn_blocking(move || open_blocking(&path))
            .await
            .map_err(unavailable)??;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The sandbox of `tenant`, created from `proposal` if there is none (and a proposal).
    pub async fn sandbox(
        &self,
        tenant: &str,
        proposal: Option<Genesis>,
    ) -> Result<Option<Genesis>, StoreError> {
        let tenant = tenant.to_owned();
        let row = self
            .with(move |c| {
                if let Some(p) = &proposal {
                    c.execute(
                        "INSERT INTO sandbox (tenant, seed, created_at_ms, random_keys, fixtures)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant) DO NOTHING",
                        params![
                            tenant,
                            &p.seed[..],
                            p.created_at.timestamp_millis(),
                            p.random_demo_keys,
                            p.fixtures.as_ref().map(|f| f.to_string())
                        ],
                    )?;
                }
                c.query_row(
                    "SELECT seed, created_at_ms, random_keys, fixtures FROM sandbox WHERE tenant = ?1",
                    [&tenant],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
            })
            .await?;
        row.map(super::migrations::genesis).transpose()
    }

    /// Every tenant with a sandbox, and the seq of its log's last entry.
    pub async fn heads(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare("SELECT tenant, head FROM sandbox ORDER BY tenant")?;
            let v = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(String, i64)>>>()?;
            Ok(v)
        })
        .await
    }

    async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, StoreError> {
        on(&self.conn, f).await
    }

    /// Entries after `seq`.
    pub async fn entries_after(&self, tenant: &str, seq: i64) -> Result<Vec<Entry>, StoreError> {
        let tenant = tenant.to_owned();
        let rows = self
            .with(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT seq, at_ms, seed, version, command FROM log
                     WHERE tenant = ?1 AND seq > ?2 ORDER BY seq",
                )?;
                let rows = st
                    .query_map(params![tenant, seq], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(seq, at, seed, version, command)| entry(seq, at, &seed, version, &command))
            .collect()
    }

    /// A write transaction.
    pub fn begin(&self, tenant: &str) -> SqliteTxn {
        SqliteTxn {
            tenant: tenant.to_owned(),
            conn: self.conn.clone(),
            entries: Vec::new(),
            answers: Vec::new(),
        }
    }

    /// Claims a webhook send.
    pub async fn claim(
        &self,
        key: &str,
        instance: &str,
        stale: Duration,
    ) -> Result<bool, StoreError> {
        let (key, instance) = (key.to_owned(), instance.to_owned());
        self.with(move |c| {
            let now = Utc::now().timestamp_millis();
            let n = c.execute(
                "INSERT INTO webhook_claims (send_key, instance, claimed_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (send_key) DO UPDATE SET instance = excluded.instance, claimed_ms = excluded.claimed_ms
                 WHERE webhook_claims.claimed_ms < ?4",
                params![key, instance, now, now - stale.as_millis() as i64],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Forgets the webhook claims made before `older_than` ago; the number forgotten.
    pub async fn prune_claims(&self, older_than: Duration) -> Result<u64, StoreError> {
        self.with(move |c| {
            let before = Utc::now().timestamp_millis() - older_than.as_millis() as i64;
            c.execute(
                "DELETE FROM webhook_claims WHERE claimed_ms < ?1",
                params![before],
            )
            .map(|n| n as u64)
        })
        .await
    }

    /// Whether the file answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.with(|c| c.query_row("SELECT count(*) FROM sandbox", [], |r| r.get::<_, i64>(0)))
            .await
            .map(drop)
    }

    /// Claims an idempotency key.
    pub async fn idem_claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        c: IdemClock,
    ) -> Result<IdemClaim, StoreError> {
        let (scope, key, fp) = (scope.to_owned(), key.to_owned(), fingerprint.to_owned());
        self.with(move |conn| {
            let tx = conn.transaction()?;
            // Expired answers and abandoned claims free their key.
            tx.execute(
                "DELETE FROM idempotency WHERE scope = ?1 AND key = ?2
                 AND (created_ms < ?3 OR (answer IS NULL AND claimed_real_ms < ?4))",
                params![scope, key, c.expired_before_ms, c.abandoned_before_ms],
            )?;
            let held: Option<(String, Option<Vec<u8>>)> = tx
                .query_row(
                    "SELECT fingerprint, answer FROM idempotency WHERE scope = ?1 AND key = ?2",
                    params![scope, key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let out = match held {
                Some((f, None)) => IdemClaim::InProgress { same: f == fp },
                Some((f, Some(answer))) => IdemClaim::Answered {
                    same: f == fp,
                    answer,
                },
                None => {
                    tx.execute(
                        "INSERT INTO idempotency (scope, key, fingerprint, created_ms, claimed_real_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![scope, key, fp, c.now_ms, c.real_ms],
                    )?;
                    IdemClaim::Claimed
                }
            };
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// Frees a claimed key that got no answer to keep.
    pub async fn idem_release(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.with(move |c| {
            c.execute(
                "DELETE FROM idempotency WHERE scope = ?1 AND key = ?2 AND answer IS NULL",
                params![scope, key],
            )
            .map(drop)
        })
        .await
    }
}

impl SqliteTxn {
    /// Which of `keys` have an answer kept.
    pub async fn answered(&self, keys: &[&IdemSlot]) -> Result<Answered, StoreError> {
        let keys: Vec<(String, String, i64)> = keys
            .iter()
            .map(|k| (k.scope.clone(), k.key.clone(), k.clock.expired_before_ms))
            .collect();
        on(&self.conn, move |c| {
            let mut out = Answered::new();
            for (scope, key, expired) in keys {
                let row: Option<(String, Vec<u8>)> = c
                    .query_row(
                        "SELECT fingerprint, answer FROM idempotency
                         WHERE scope = ?1 AND key = ?2 AND answer IS NOT NULL AND created_ms >= ?3",
                        params![scope, key, expired],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if let Some(held) = row {
                    out.insert((scope, key), held);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Queues an entry for the commit.
    pub fn append(&mut self, entry: &Entry) {
        self.entries.push(entry.clone());
    }

    /// Queues a keyed request's answer for the commit.
    pub fn answer(&mut self, slot: &IdemSlot, answer: Vec<u8>) {
        self.answers.push((slot.clone(), answer));
    }

    /// Writes the entries (and answers) in one transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let SqliteTxn {
            tenant,
            conn,
            entries,
            answers,
        } = self;
        on(&conn, move |c| {
            let tx = c.transaction()?;
            {
                let mut ins = tx.prepare_cached(
                    "INSERT INTO log (tenant, seq, at_ms, seed, version, command)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for e in &entries {
                    ins.execute(params![
                        tenant,
                        e.seq,
                        e.at.timestamp_millis(),
                        &e.seed[..],
                        e.version,
                        e.command.to_text()
                    ])?;
                }
            }
            for (slot, answer) in &answers {
                // The claim's row, or (a key rescoped after a reset) a row of its own.
                tx.execute(
                    "INSERT INTO idempotency (scope, key, fingerprint, created_ms, claimed_real_ms, answer)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (scope, key) DO UPDATE SET answer = excluded.answer",
                    params![
                        slot.scope,
                        slot.key,
                        slot.fingerprint,
                        slot.clock.now_ms,
                        slot.clock.real_ms,
                        answer
                    ],
                )?;
            }
            let last = entries.last().map_or(0, |e| e.seq);
            tx.execute(
                "UPDATE sandbox SET head = ?2 WHERE tenant = ?1",
                params![tenant, last],
            )?;
            tx.commit()
        })
        .await
    }
}

pub(super) fn entry(
    seq: i64,
    at_ms: i64,
    seed: &[u8],
    version: String,
    command: &str,
) -> Result<Entry, StoreError> {
    let bad = |why: String| StoreError::Refused(format!("log entry {seq}: {why}"));
    Ok(Entry {
        seq,
        at: DateTime::from_timestamp_millis(at_ms).ok_or_else(|| bad("bad time".into()))?,
        seed: seed
            .try_into()
            .map_err(|_| bad("the seed is not 32 bytes".into()))?,
        version,
        command: Command::from_text(command).map_err(bad)?,
    })
}

fn open_blocking(path: &std::path::Path) -> Result<Connection, StoreError> {
    let refused =
        |why: String| StoreError::Refused(format!("SQLite store {}: {why}", path.display()));
    let mut conn = Connection::open(path).map_err(|e| refused(e.to_string()))?;
    conn.busy_timeout(Duration::from_millis(0))
        .map_err(|e| refused(e.to_string()))?;
    // One instance per file: the exclusive lock is taken by the first write and held until the
    // connection closes.
    conn.execute_batch(
        "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         BEGIN EXCLUSIVE; COMMIT;",
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => refused(
            "another instance uses this file (a SQLite store serves one instance; use PostgreSQL to run several)".into(),
        ),
        _ => refused(e.to_string()),
    })?;
    super::migrations::check(
        embedded::migrations::runner()
            .set_abort_missing(true)
            .run(&mut Migrations(&mut conn)),
        "SQLite",
    )?;
    Ok(conn)
}

/// refinery's view of a rusqlite connection (refinery's own driver is for older rusqlite versions).
struct Migrations<'a>(&'a mut Connection);

impl refinery_core::traits::sync::Transaction for Migrations<'_> {
    type Error = rusqlite::Error;

    fn execute(&mut self, queries: &[&str]) -> Result<usize, Self::Error> {
        let tx = self.0.transaction()?;
        for q in queries {
            tx.execute_batch(q)?;
        }
        tx.commit()?;
        Ok(queries.len())
    }
}

impl refinery_core::traits::sync::Query<Vec<refinery::Migration>> for Migrations<'_> {
    fn query(&mut self, query: &str) -> Result<Vec<refinery::Migration>, Self::Error> {
        let mut st = self.0.prepare(query)?;
        let rows = st.query_map([], |r| {
            let version: i32 = r.get(0)?;
            let name: String = r.get(1)?;
            let applied_on: String = r.get(2)?;
            let checksum: String = r.get(3)?;
            Ok((version, name, applied_on, checksum))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (version, name, applied_on, checksum) = row?;
            let applied_on = time::OffsetDateTime::parse(
                &applied_on,
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            out.push(refinery::Migration::applied(
                version,
                name,
                applied_on,
                checksum.parse().unwrap_or_default(),
            ));
        }
        Ok(out)
    }
}

impl refinery::Migrate for Migrations<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn old_webhook_claims_are_forgotten_and_new_ones_kept() {
        let dir = std::env::temp_dir().join(format!(
            "moments-claims-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Sqlite::open(dir.join("sandbox.db")).await.unwrap();
        let stale = Duration::from_secs(30);
        assert!(db.claim("t:e:j:1", "a", stale).await.unwrap());
        assert!(!db.claim("t:e:j:1", "b", stale).await.unwrap(), "held");
        assert_eq!(db.prune_claims(Duration::from_secs(3600)).await.unwrap(), 0);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(db.prune_claims(Duration::ZERO).await.unwrap(), 1);
        assert!(db.claim("t:e:j:1", "b", stale).await.unwrap(), "forgotten");
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
