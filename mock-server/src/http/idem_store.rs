//! The idempotency store: what each key's request answered (or that it is still running), in
//! [`SHARDS`] maps behind locks of their own, apart from the state's lock.
//!
//! Apart so that a trigger takes the state's lock once (to run the trigger), not also to look its key
//! up and store its answer: with two workers the second was mostly waiting for the state's lock.
//! The middleware's rules (scope, replay, conflict, 5xx not stored) are in [`crate::http::layers::idempotency`].

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};

use crate::domain::shard::{FastMap, SHARDS};
use crate::http::layers::idempotency::Answer;

/// The scope of a key, (app, customer of a customer token, key), as a 128-bit keyed digest
/// ([`IdemStore::scope`]): the store keeps 16 bytes per key instead of three strings. Two scopes
/// share a digest with probability about n²/2¹²⁹ (n = stored keys).
pub type Scope = u128;

/// The first 128 bits of SHA-256 over method, path (with query) and body: a different request under
/// the same key matches by chance with probability 2⁻¹²⁸.
pub type Fingerprint = [u8; 16];

/// Retention of stored answers, in hours of server time.
pub const RETENTION_HOURS: i64 = 24;

/// Whether an answer says "retry later" (`429` of any code, `5xx`): such answers are not stored, so
/// a retry with the same key runs again. (`409 idempotency_in_progress` is answered before the
/// handler and never reaches the store.)
pub fn retry_later(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// A stored idempotent answer.
#[derive(Clone, Debug)]
pub enum IdemEntry {
    /// Still running.
    InProgress {
        /// Hash of method, path and body.
        fingerprint: Fingerprint,
        /// When it started.
        at: DateTime<Utc>,
    },
    /// Finished.
    Done {
        /// Hash of method, path and body.
        fingerprint: Fingerprint,
        /// When it finished.
        at: DateTime<Utc>,
        /// Answer status.
        status: u16,
        /// Answer body.
        body: Answer,
        /// Answer `Retry-After`.
        retry_after: Option<Box<str>>,
    },
}

impl IdemEntry {
    /// When the key was first used (in progress) or its answer stored.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            IdemEntry::InProgress { at, .. } | IdemEntry::Done { at, .. } => *at,
        }
    }
}

/// What [`IdemStore::begin`] found under a key.
pub enum Begin {
    /// Nothing fresh: the key is now marked in progress; store its answer under this ticket.
    New(Ticket),
    /// Another request with this key is running.
    InProgress,
    /// The key answered a different request.
    Conflict,
    /// The key's answer, to send again: status, `Retry-After`, body.
    Done(u16, Option<Box<str>>, Answer),
}

/// The key a request runs under, in the request's extensions while it is handled, so that the
/// handler can store its answer itself ([`crate::http::layers::idempotency::store_now`]).
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    /// The key's scope.
    pub scope: Scope,
    /// The request's fingerprint.
    pub fp: Fingerprint,
    /// The store's epoch when the key was marked: an answer is not stored across a reset.
    epoch: u64,
}

/// Answers by [`Scope`], in shards with their own locks.
pub struct IdemStore {
    shards: Box<[Mutex<Shard>]>,
    /// Keys of [`IdemStore::scope`]: random per process.
    keys: std::hash::RandomState,
    /// Bumped by [`IdemStore::clear`].
    epoch: AtomicU64,
    /// Server time (Unix seconds) of the last sweep of expired keys.
    last_sweep: AtomicI64,
}

impl IdemStore {
    /// An empty store; `now` is the server's time.
    pub fn new(now: DateTime<Utc>) -> IdemStore {
        IdemStore {
            // Empty shards allocate nothing: a mock holds what it has been given.
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            keys: std::hash::RandomState::new(),
            epoch: AtomicU64::new(0),
            last_sweep: AtomicI64::new(now.timestamp()),
        }
    }

    fn shard(&self, scope: Scope) -> MutexGuard<'_, Shard> {
        // A scope is a keyed digest: its low bits are as good as any hash of it.
        self.shards[(scope as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The [`Scope`] of `key` used by `app` (and by `customer` when a customer token calls): two
    /// SipHash-1-3 digests with per-process random keys over length-prefixed parts.
    pub fn scope(&self, app: &str, customer: Option<&str>, key: &str) -> Scope {
        let (tag, customer) = match customer {
            Some(c) => ("customer", c),
            None => ("server", ""),
        };
        let digest = |domain: &str| {
            let mut h = self.keys.build_hasher();
            for p in [domain, app, tag, customer, key] {
                h.write_usize(p.len());
                h.write(p.as_bytes());
            }
            h.finish()
        };
        (u128::from(digest("idempotency-scope-1")) << 64)
            | u128::from(digest("idempotency-scope-2"))
    }

    /// Looks `scope` up at server time `now`; marks it in progress unless a fresh entry is there.
    /// Once per hour of server time, first drops the keys past their retention.
    pub fn begin(&self, scope: Scope, fp: Fingerprint, now: DateTime<Utc>) -> Begin {
        self.sweep_if_due(now);
        let epoch = self.epoch.load(Ordering::Acquire);
        let fresh = |at: DateTime<Utc>| now - at < Duration::hours(RETENTION_HOURS);
        let mut shard = self.shard(scope);
        match shard.get(&scope).map(|b| &**b) {
            Some(IdemEntry::InProgress { at, .. }) if fresh(*at) => Begin::InProgress,
            Some(IdemEntry::Done {
                fingerprint,
                at,
                status,
                body,
                retry_after,
            }) if fresh(*at) => {
                if *fingerprint != fp {
                    Begin::Conflict
                } else {
                    Begin::Done(*status, retry_after.clone(), body.clone())
                }
            }
            _ => {
                shard.insert(
                    scope,
                    Box::new(IdemEntry::InProgress {
                        fingerprint: fp,
                        at: now,
                    }),
                );
                Begin::New(Ticket { scope, fp, epoch })
            }
        }
    }

    /// Stores the answer of the request holding `ticket`, or forgets the key when the answer is a
    /// 5xx (the request may run again). Nothing is stored when the store was cleared since.
    pub fn finish(
        &self,
        ticket: &Ticket,
        status: u16,
        retry_after: Option<Box<str>>,
        body: Answer,
        now: DateTime<Utc>,
    ) {
        let mut shard = self.shard(ticket.scope);
        if ticket.epoch != self.epoch.load(Ordering::Acquire) {
            return;
        }
        // An answer that says "try again later" is not what the key remembers: the retry runs again.
        if retry_later(status) {
            shard.remove(&ticket.scope);
            return;
        }
        shard.insert(
            ticket.scope,
            Box::new(IdemEntry::Done {
                fingerprint: ticket.fp,
                at: now,
                status,
                body,
                retry_after,
            }),
        );
    }

    /// Forgets a key still in progress (its request never finished).
    pub fn abandon(&self, ticket: &Ticket) {
        let mut shard = self.shard(ticket.scope);
        if matches!(
            shard.get(&ticket.scope).map(|b| &**b),
            Some(IdemEntry::InProgress { fingerprint, .. }) if *fingerprint == ticket.fp
        ) {
            shard.remove(&ticket.scope);
        }
    }

    /// Forgets every key (a reset); answers of requests running now are not stored.
    pub fn clear(&self, now: DateTime<Utc>) {
        // Each shard is locked while the epoch moves on, so a `finish` that saw the old epoch has
        // stored before the shard is emptied, and one that comes later sees the new epoch.
        let mut guards: Vec<_> = (0..SHARDS)
            .map(|i| self.shards[i].lock().unwrap_or_else(|p| p.into_inner()))
            .collect();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.last_sweep.store(now.timestamp(), Ordering::Release);
        for g in &mut guards {
            // A new table, so the old one's memory is freed (a reset gives memory back).
            **g = Shard::default();
        }
    }

    /// Drops the keys past their retention, at most once per hour of server time.
    fn sweep_if_due(&self, now: DateTime<Utc>) {
        let last = self.last_sweep.load(Ordering::Acquire);
        let now_s = now.timestamp();
        if now_s - last < 3600
            || self
                .last_sweep
                .compare_exchange(last, now_s, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return;
        }
        let keep_after = now - Duration::hours(RETENTION_HOURS);
        for s in self.shards.iter() {
            s.lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|_, e| e.at() > keep_after);
        }
    }

    /// Number of stored keys (in progress or done).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    /// Whether no key is stored.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One shard of the store.
type Shard = FastMap<Scope, Box<IdemEntry>>;

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn t0() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn answer(s: &'static str) -> Answer {
        Answer::Bytes(Box::new(Bytes::from_static(s.as_bytes())))
    }

    #[test]
    fn scopes_differ_by_app_customer_and_key_and_parts_do_not_run_together() {
        let s = IdemStore::new(t0());
        let a = s.scope("app_1", None, "k");
        assert_eq!(a, s.scope("app_1", None, "k"));
        assert_ne!(a, s.scope("app_2", None, "k"));
        assert_ne!(a, s.scope("app_1", Some("c"), "k"));
        assert_ne!(a, s.scope("app_1", None, "k2"));
        assert_ne!(
            s.scope("app_1", Some("ab"), "c"),
            s.scope("app_1", Some("a"), "bc")
        );
        // Another process (other keys) gives other digests.
        assert_ne!(a, IdemStore::new(t0()).scope("app_1", None, "k"));
    }

    #[test]
    fn new_then_in_progress_then_replay_or_conflict_then_expiry() {
        let s = IdemStore::new(t0());
        let scope = s.scope("app", None, "k");
        let Begin::New(t) = s.begin(scope, [1; 16], t0()) else {
            panic!("a new key")
        };
        assert!(matches!(s.begin(scope, [1; 16], t0()), Begin::InProgress));
        s.finish(&t, 201, Some("3".into()), answer("{}"), t0());
        match s.begin(scope, [1; 16], t0() + Duration::hours(23)) {
            Begin::Done(201, Some(ra), Answer::Bytes(b)) => {
                assert_eq!((&*ra, &b[..]), ("3", &b"{}"[..]))
            }
            _ => panic!("the stored answer"),
        }
        assert!(matches!(s.begin(scope, [2; 16], t0()), Begin::Conflict));
        assert!(
            matches!(
                s.begin(scope, [2; 16], t0() + Duration::hours(24)),
                Begin::New(_)
            ),
            "past its retention the key is new again"
        );
    }

    #[test]
    fn server_errors_are_forgotten_and_abandoned_keys_run_again() {
        let s = IdemStore::new(t0());
        let scope = s.scope("app", None, "k");
        let Begin::New(t) = s.begin(scope, [1; 16], t0()) else {
            panic!()
        };
        s.finish(&t, 503, None, answer("{}"), t0());
        let Begin::New(t) = s.begin(scope, [1; 16], t0()) else {
            panic!("a 5xx is not stored")
        };
        s.abandon(&t);
        assert!(matches!(s.begin(scope, [1; 16], t0()), Begin::New(_)));
    }

    #[test]
    fn a_reset_forgets_keys_and_answers_still_running() {
        let s = IdemStore::new(t0());
        let (a, b) = (s.scope("app", None, "a"), s.scope("app", None, "b"));
        let Begin::New(ta) = s.begin(a, [1; 16], t0()) else {
            panic!()
        };
        s.finish(&ta, 200, None, answer("{}"), t0());
        let Begin::New(tb) = s.begin(b, [1; 16], t0()) else {
            panic!()
        };
        s.clear(t0());
        assert!(s.is_empty());
        s.finish(&tb, 200, None, answer("{}"), t0());
        assert!(
            s.is_empty(),
            "an answer from before the reset is not stored"
        );
        assert!(matches!(s.begin(a, [1; 16], t0()), Begin::New(_)));
    }

    #[test]
    fn expired_keys_are_swept_once_an_hour() {
        let s = IdemStore::new(t0());
        for i in 0..100 {
            let scope = s.scope("app", None, &format!("k{i}"));
            let Begin::New(t) = s.begin(scope, [1; 16], t0()) else {
                panic!()
            };
            s.finish(&t, 200, None, answer("{}"), t0());
        }
        let late = t0() + Duration::hours(25);
        let fresh = s.scope("app", None, "fresh");
        assert!(matches!(s.begin(fresh, [1; 16], late), Begin::New(_)));
        assert_eq!(
            s.len(),
            1,
            "the 100 expired keys are gone, the new one stays"
        );
    }
}
