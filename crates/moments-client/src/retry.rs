//! When and how calls are retried, and where idempotency keys come from.
//!
//! A call is retried only when that is safe: a `GET`, or a `POST` carrying an `Idempotency-Key`
//! (the client puts one on every `/v1/` `POST`, made once per logical call and reused on every
//! attempt). Retryable failures are connection errors, timeouts and the statuses 429, 500, 502, 503
//! and 504 (plus `409 idempotency_in_progress`); other `4xx` never are. A connection that could not
//! be opened is retried for any method, since the request was never sent. Between attempts the client
//! sleeps an exponential backoff with full jitter, capped, or the server's `Retry-After` when present.

use std::time::Duration;

/// The retry policy of a client (or of one call, through [`RequestOptions`](crate::RequestOptions)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry). Default 3.
    pub max_attempts: u32,
    /// The backoff before the first retry (before jitter). Default 200 ms.
    pub initial_backoff: Duration,
    /// The backoff never exceeds this (before jitter). Default 10 s.
    pub max_backoff: Duration,
    /// Full jitter: sleep a uniformly random time in `[0, backoff]`. Default `true`.
    pub jitter: bool,
    /// Sleep the server's `Retry-After` when it sends one. Default `true`.
    pub honor_retry_after: bool,
    /// A `Retry-After` longer than this is not waited for: the error is returned. Default 60 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            jitter: true,
            honor_retry_after: true,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets [`max_attempts`](Self::max_attempts) (at least 1).
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the initial and maximum backoff.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Turns full jitter on or off (off makes delays deterministic, for tests).
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The backoff ceiling before retry number `retry` (1 for the first retry), before jitter:
    /// `min(max_backoff, initial_backoff * 2^(retry-1))`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        self.initial_backoff
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The sleep before retry number `retry`, given the server's `Retry-After`. `None` means
    /// "do not retry" (the `Retry-After` is over [`max_retry_after`](Self::max_retry_after)).
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let (true, Some(ra)) = (self.honor_retry_after, retry_after) {
            if ra > self.max_retry_after {
                return None;
            }
            return Some(ra);
        }
        let ceiling = self.backoff_ceiling(retry);
        if !self.jitter || ceiling.is_zero() {
            return Some(ceiling);
        }
        let nanos = ceiling.as_nanos().min(u64::MAX as u128) as u64;
        Some(Duration::from_nanos(random_u64() % (nanos + 1)))
    }
}

fn random_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        // No OS randomness: fall back to the clock; jitter needs spread, not secrecy.
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
            .unwrap_or(0)
    })
}

pub use moments_idempotency::{IdempotencyKeySource, RandomKeys, SeededKeys};

/// Checks a caller-supplied idempotency key (the API's rule: [`moments_idempotency::is_valid_key`]).
pub(crate) fn valid_key(k: &str) -> bool {
    moments_idempotency::is_valid_key(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_secs(1))
            .with_jitter(false);
        assert_eq!(p.delay(1, None), Some(Duration::from_millis(100)));
        assert_eq!(p.delay(2, None), Some(Duration::from_millis(200)));
        assert_eq!(p.delay(4, None), Some(Duration::from_millis(800)));
        assert_eq!(p.delay(5, None), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(40, None), Some(Duration::from_secs(1)));
    }

    #[test]
    fn full_jitter_stays_under_ceiling() {
        let p =
            RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        for retry in 1..10 {
            let d = p.delay(retry, None).unwrap();
            assert!(d <= p.backoff_ceiling(retry));
        }
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(600))), None);
    }

    #[test]
    fn keys_look_like_uuid_v4() {
        let k = RandomKeys.next_key();
        assert_eq!(k.len(), 36);
        assert_eq!(&k[14..15], "4");
        assert!(valid_key(&k));
        assert_ne!(RandomKeys.next_key(), k);
        let a = SeededKeys::new(7);
        let b = SeededKeys::new(7);
        assert_eq!(a.next_key(), b.next_key());
        assert_ne!(a.next_key(), SeededKeys::new(8).next_key());
    }

    #[test]
    fn key_validation() {
        assert!(!valid_key(""));
        assert!(!valid_key(&"a".repeat(256)));
        assert!(!valid_key("tab\there"));
        assert!(valid_key("order-42"));
    }
}
