//! The virtual clock every time rule reads: real time plus an offset, or frozen.

use chrono::{DateTime, Duration, Utc};

/// Server time source. Times are whole seconds (RFC 3339 without fractions on the wire).
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_seconds: i64,
    frozen: Option<DateTime<Utc>>,
}

/// Truncates a timestamp to whole seconds.
pub fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

impl Clock {
    /// The current server time.
    pub fn now(&self) -> DateTime<Utc> {
        match self.frozen {
            Some(t) => t,
            None => trunc(Utc::now()) + Duration::seconds(self.offset_seconds),
        }
    }

    /// Whether the clock is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// Offset from real time in seconds.
    pub fn offset_seconds(&self) -> i64 {
        match self.frozen {
            Some(t) => (t - trunc(Utc::now())).num_seconds(),
            None => self.offset_seconds,
        }
    }

    /// Moves time forward by `seconds`.
    pub fn advance(&mut self, seconds: i64) {
        match &mut self.frozen {
            Some(t) => *t += Duration::seconds(seconds),
            None => self.offset_seconds += seconds,
        }
    }

    /// Sets the time (callers check it is not backwards) and freezes or unfreezes it.
    pub fn set(&mut self, now: DateTime<Utc>, frozen: bool) {
        let now = trunc(now);
        if frozen {
            self.frozen = Some(now);
        } else {
            self.frozen = None;
            self.offset_seconds = (now - trunc(Utc::now())).num_seconds();
        }
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

    #[test]
    fn frozen_clock_advances_exactly() {
        let mut c = Clock::default();
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        c.set(t, true);
        c.advance(86_400);
        assert_eq!(c.now(), t + Duration::days(1));
        assert!(c.is_frozen());
        assert_eq!(month_of(t), "2027-01");
    }
}
