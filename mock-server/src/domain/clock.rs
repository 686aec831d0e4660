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
            None => at(Utc::now().timestamp() + self.0.offset_seconds.load(SeqCst)),
        }
    }

    /// Whether the clock is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen().is_some()
    }

    /// Offset from real time in seconds.
    pub fn offset_seconds(&self) -> i64 {
        match self.frozen() {
            Some(t) => t - Utc::now().timestamp(),
            None => self.0.offset_seconds.load(SeqCst),
        }
    }

    /// Moves time forward by `seconds`.
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
            self.0
                .offset_seconds
                .store(now - Utc::now().timestamp(), SeqCst);
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

/// Serializes a time exactly as chrono's own `Serialize` does (RFC 3339, `Z`), writing whole-second times of
/// years 0–9999 (every time the server clock makes) by hand: chrono's formatter is most of the cost of a
/// reward's JSON. Use with `#[serde(serialize_with = "crate::domain::clock::ser")]`.
pub fn ser<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    let mut buf = [0u8; 20];
    match whole_seconds(t, &mut buf) {
        Some(text) => s.serialize_str(text),
        None => t.serialize(s),
    }
}

/// [`ser`] for an optional time (`null` when absent).
pub fn ser_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser(t, s),
        None => s.serialize_none(),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` in `buf`, when `t` has no fraction of a second and a four-digit year.
fn whole_seconds<'b>(t: &DateTime<Utc>, buf: &'b mut [u8; 20]) -> Option<&'b str> {
    use chrono::{Datelike, Timelike};
    if t.nanosecond() != 0 {
        return None;
    }
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut v = value;
        for i in (0..digits).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ] {
        buf[at] = sep;
    }
    std::str::from_utf8(buf).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        #[derive(serde::Serialize)]
        struct Fast(#[serde(serialize_with = "ser")] DateTime<Utc>);
        #[derive(serde::Serialize)]
        struct FastOpt(#[serde(serialize_with = "ser_opt")] Option<DateTime<Utc>>);
        let mut cases: Vec<DateTime<Utc>> = [
            0_i64,
            -1,
            951_782_400, // 2000-02-29
            1_800_000_000,
            253_402_300_799, // 9999-12-31T23:59:59Z
            253_402_300_800, // year 10000: chrono's own format
            -62_167_219_200, // 0000-01-01
            -62_167_219_201, // year -1
        ]
        .iter()
        .map(|s| DateTime::from_timestamp(*s, 0).unwrap())
        .collect();
        // A spread of whole seconds over four centuries, and times with fractions.
        let mut x: i64 = 88_172_645_463_325_252;
        for _ in 0..2_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(
                DateTime::from_timestamp(x.rem_euclid(12_622_780_800) - 2_208_988_800, 0).unwrap(),
            );
        }
        cases.push(DateTime::from_timestamp(1_800_000_000, 5_000_000).unwrap());
        cases.push(DateTime::from_timestamp(1_800_000_059, 1_500_000_000).unwrap()); // leap second
        for t in cases {
            let chrono = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::to_string(&Fast(t)).unwrap(), chrono, "{t:?}");
            assert_eq!(serde_json::to_string(&FastOpt(Some(t))).unwrap(), chrono);
        }
        assert_eq!(serde_json::to_string(&FastOpt(None)).unwrap(), "null");
    }

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
