//! The request journal (`GET /_mock/journal`): the last [`CAPACITY`] requests, newest last.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A journal entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JournalEntry {
    /// Request id.
    pub request_id: String,
    /// Server time.
    pub at: DateTime<Utc>,
    /// Method.
    #[schema(value_type = String)]
    pub method: std::borrow::Cow<'static, str>,
    /// Path.
    pub path: String,
    /// Route template, if any.
    pub route: Option<String>,
    /// Answer status (0 when the connection was reset).
    pub status: u16,
    /// `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// Whether the answer was a replay.
    pub replayed: bool,
    /// The fault applied, if any.
    pub fault: Option<String>,
    /// A trigger's `occurred_at` as the request sent it (when the action happened on the device).
    pub occurred_at: Option<DateTime<Utc>>,
}

/// How many requests the journal keeps.
pub const CAPACITY: usize = 10_000;

/// The journal: a bounded queue of entries, behind its own lock ([`crate::app::Shared::journal`]).
#[derive(Debug, Default)]
pub struct Journal {
    entries: VecDeque<JournalEntry>,
}

impl Journal {
    /// Records a request, dropping the oldest entry when full.
    pub fn record(&mut self, entry: JournalEntry) {
        if self.entries.len() >= CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The last `limit` entries, oldest first, and whether older ones were left out.
    pub fn recent(&self, limit: usize) -> (Vec<JournalEntry>, bool) {
        let skip = self.entries.len().saturating_sub(limit);
        (self.entries.iter().skip(skip).cloned().collect(), skip > 0)
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> JournalEntry {
        JournalEntry {
            request_id: format!("req_{n}"),
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            method: "GET".into(),
            path: "/v1/app".into(),
            route: Some("/v1/app".into()),
            status: 200,
            idempotency_key: None,
            replayed: false,
            fault: None,
            occurred_at: None,
        }
    }

    #[test]
    fn keeps_the_last_entries_in_order() {
        let mut j = Journal::default();
        for n in 0..CAPACITY + 5 {
            j.record(entry(n));
        }
        let (all, more) = j.recent(CAPACITY);
        assert_eq!(all.len(), CAPACITY);
        assert!(!more, "the first five are gone, not held back");
        assert_eq!(all[0].request_id, "req_5");
        let (last, more) = j.recent(2);
        assert!(more);
        assert_eq!(
            last.iter()
                .map(|e| e.request_id.as_str())
                .collect::<Vec<_>>(),
            [
                format!("req_{}", CAPACITY + 3),
                format!("req_{}", CAPACITY + 4)
            ]
        );
        j.clear();
        assert_eq!(j.recent(10), (vec![], false));
    }
}
