//! The virtual clock every time rule reads: real time plus an offset, or frozen.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::sync::atomic::Ordering::SeqCst;

use chrono::{DateTime, Utc};

/// Server time source. Times are whole seconds (RFC 3339 without fractions on the wire).
///
/// Clones share one clock: the state owns it (and changes it under the state's lock), and the request
/// journal reads it without that lock.
#[derive(Clone, Debug, Default)]
pub struct Clock(Arc<Cell>);

#[derive(Debug)]
struct Cell {
    offset_seconds: AtomicI64,
    /// The frozen time in Unix seconds, or [`NOT_FROZEN`].
    frozen_at: AtomicI64,
}

const NOT_FROZEN: i64 = i64::MIN;

impl Default for Cell {
    fn default() -> Self {
        Cell {
            offset_seconds: AtomicI64::new(0),
            frozen_at: AtomicI64::new(NOT_FROZEN),
        }
    }
}

/// Truncates a timestamp to whole seconds.
pub fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Clock {
    fn frozen(&self) -> Option<i64> {
        Some(self.0.frozen_at.load(SeqCst)).filter(|t| *t != NOT_FROZEN)
    }

    /// The current server time.
    pub fn now(&self) -> DateTime<Utc> {
        match self.frozen() {
            Some(t) => at(t),
            None => at(crate::domain::applying::real_now().timestamp()
                + self.0.offset_seconds.load(SeqCst)),
        }
    }

    /// Whether the clock is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen().is_some()
    }

    /// Offset from real time in seconds.
    pub fn offset_seconds(&self) -> i64 {
        match self.frozen() {
            Some(t) => t - crate::domain::applying::real_now().timestamp(),
            None => self.0.offset_seconds.load(SeqCst),
        }
    }

    /// Moves time forward by `seconds`.
    #[cfg(test)]
    pub fn advance(&mut self, seconds: i64) {
        match self.frozen() {
            Some(t) => self.0.frozen_at.store(t + seconds, SeqCst),
            None => {
                self.0.offset_seconds.fetch_add(seconds, SeqCst);
            }
        }
    }

    /// Sets the time (callers check it is not backwards) and freezes or unfreezes it.
    pub fn set(&mut self, now: DateTime<Utc>, frozen: bool) {
        let now = now.timestamp();
        if frozen {
            self.0.frozen_at.store(now, SeqCst);
        } else {
            self.0.offset_seconds.store(
                now - crate::domain::applying::real_now().timestamp(),
                SeqCst,
            );
            self.0.frozen_at.store(NOT_FROZEN, SeqCst);
        }
    }

    /// Back to real time, unfrozen (a reset).
    pub fn reset(&mut self) {
        self.0.offset_seconds.store(0, SeqCst);
        self.0.frozen_at.store(NOT_FROZEN, SeqCst);
    }
}

/// The calendar month (UTC) of a time, e.g. `2026-11`.
pub fn month_of(t: DateTime<Utc>) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}", t.year(), t.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn frozen_clock_advances_exactly() {
        let mut c = Clock::default();
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        c.set(t, true);
        c.advance(86_400);
        assert_eq!(c.now(), t + Duration::days(1));
        assert!(c.is_frozen());
        assert_eq!(month_of(t), "2027-01");
        // Clones read the same clock; a reset brings it back to real time.
        let view = c.clone();
        c.advance(60);
        assert_eq!(view.now(), t + Duration::days(1) + Duration::seconds(60));
        c.reset();
        assert!(!view.is_frozen());
        assert_eq!(view.offset_seconds(), 0);
    }
}
