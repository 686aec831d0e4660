//! The context of applying one entry of a persistent store's log: the real time it was first
//! applied at and its own random stream.
//!
//! A sandbox kept in SQLite or PostgreSQL ([`crate::store`]) is the result of applying its log's
//! entries in order. Every instance applies every entry, and each must reach the same state, so
//! while an entry is applied the clock reads the entry's time instead of the system's
//! ([`real_now`]) and ids, tokens and secrets come from a ChaCha20 stream seeded by the entry's
//! 32-byte seed ([`fill`]), itself drawn from the operating system's CSPRNG when the entry was
//! first applied. Outside an entry (the in-memory store, every read) nothing changes: the system
//! clock and the OS random source, as before.

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// What applying one entry reads instead of the system: its time and its random stream.
pub struct Applying {
    now: DateTime<Utc>,
    rng: RefCell<ChaCha20Rng>,
    actor: RefCell<Option<String>>,
    unchanged: std::cell::Cell<bool>,
    flush: std::cell::Cell<bool>,
    replay: bool,
}

/// What applying a request left to record: who it acted as, and whether it changed nothing.
#[derive(Debug, Default)]
pub struct Outcome {
    /// [`actor`].
    pub actor: Option<String>,
    /// [`mark_unchanged`] was called: the request changed nothing and needs no entry.
    pub unchanged: bool,
    /// [`flush_after`] was called: the request's answer waits for the webhook sends it made due.
    pub flush: bool,
}

tokio::task_local! {
    static APPLYING: Applying;
}

impl Applying {
    /// The context of an entry first applied at `now` with `seed`; `replay` when the entry comes
    /// from the log (another instance, or this one before a restart) rather than a live request.
    pub fn new(now: DateTime<Utc>, seed: [u8; 32], actor: Option<String>, replay: bool) -> Self {
        Applying {
            now,
            rng: RefCell::new(ChaCha20Rng::from_seed(seed)),
            actor: RefCell::new(actor),
            unchanged: std::cell::Cell::new(false),
            flush: std::cell::Cell::new(false),
            replay,
        }
    }

    /// Runs `fut` with this context: the clock and the random source of everything it does
    /// (across `.await`s, on whichever thread polls it) are the entry's.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> (F::Output, Outcome) {
        APPLYING
            .scope(self, async move {
                let out = fut.await;
                let outcome = APPLYING.with(|a| Outcome {
                    actor: a.actor.borrow_mut().take(),
                    unchanged: a.unchanged.get(),
                    flush: a.flush.get(),
                });
                (out, outcome)
            })
            .await
    }

    /// Runs `f` with this context, synchronously.
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        APPLYING.sync_scope(self, f)
    }
}

/// A new seed for an entry, from the OS CSPRNG.
pub fn new_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the OS random source failed");
    seed
}

/// Whether an entry is being applied.
pub fn active() -> bool {
    APPLYING.try_with(|_| ()).is_ok()
}

/// Whether an entry from the log is being applied again (replay: no webhook is sent, no session
/// is looked up).
pub fn replaying() -> bool {
    APPLYING.try_with(|a| a.replay).unwrap_or(false)
}

/// The real time: the entry's while one is applied, else the system's.
pub fn real_now() -> DateTime<Utc> {
    APPLYING.try_with(|a| a.now).unwrap_or_else(|_| Utc::now())
}

/// Fills `buf` from the entry's stream; `false` when no entry is being applied.
pub fn fill(buf: &mut [u8]) -> bool {
    APPLYING
        .try_with(|a| a.rng.borrow_mut().fill_bytes(buf))
        .is_ok()
}

/// Who a request acted as when its credentials are not in the request itself (the console's
/// session): recorded with the entry, so that applying it again acts as the same app.
pub fn actor() -> Option<String> {
    APPLYING
        .try_with(|a| a.actor.borrow().clone())
        .ok()
        .flatten()
}

/// Says that the request being applied was refused before it changed anything, for a reason that is
/// not part of the sandbox's state (the compatibility endpoints' real-time rate limit): it gets no
/// entry, so applying the log never meets it.
pub fn mark_unchanged() {
    let _ = APPLYING.try_with(|a| a.unchanged.set(true));
}

/// Asks for the webhook sends made due while this entry is applied to be delivered once it is
/// committed, before the request is answered (a clock move waits for them, as in memory).
pub fn flush_after() {
    let _ = APPLYING.try_with(|a| a.flush.set(!a.replay));
}

/// Records who the request being applied acts as (see [`actor`]).
pub fn set_actor(secret: &str) {
    let _ = APPLYING.try_with(|a| *a.actor.borrow_mut() = Some(secret.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_ids_and_time() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let run = || {
            Applying::new(t, [7; 32], None, false).sync_scope(|| {
                (
                    crate::domain::ids::new_id("rwd_"),
                    crate::domain::ids::secret("sk_", 24),
                    real_now(),
                )
            })
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        assert_eq!(a.2, t);
        assert_ne!(
            crate::domain::ids::new_id("rwd_"),
            a.0,
            "outside, ids are random"
        );
        assert!(!active());
    }
}
