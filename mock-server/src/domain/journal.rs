//! The request journal (`GET /_mock/journal`): the last [`CAPACITY`] requests, newest last, each with
//! what the console needs to show it to its app only (the [`Attribution`], not on the wire).

use std::collections::VecDeque;
use std::sync::Arc;

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

/// Whose a request was and what it made: the app of its credential (or of the reward link it used)
/// and the reward a trigger issued. The console shows an app its own requests only, each linked to the
/// reward or campaign it touched.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attribution {
    /// The app, when the request named one (a valid credential or reward link).
    pub app_id: Option<Arc<str>>,
    /// The reward the request issued (a trigger's).
    pub reward_id: Option<Arc<str>>,
}

/// A journal entry with its [`Attribution`].
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The entry, as `GET /_mock/journal` shows it.
    pub entry: JournalEntry,
    /// Whose it is.
    pub by: Attribution,
}

impl Recorded {
    /// Whether the request was `app_id`'s.
    pub fn is_of(&self, app_id: &str) -> bool {
        self.by.app_id.as_deref() == Some(app_id)
    }
}

/// The journal: a bounded queue of entries, behind its own lock ([`crate::app::Shared::journal`]).
#[derive(Debug, Default)]
pub struct Journal {
    entries: VecDeque<Recorded>,
}

impl Journal {
    /// Records a request, dropping the oldest entry when full.
    pub fn record(&mut self, entry: Recorded) {
        if self.entries.len() >= CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The last `limit` entries, oldest first, and whether older ones were left out.
    pub fn recent(&self, limit: usize) -> (Vec<JournalEntry>, bool) {
        let skip = self.entries.len().saturating_sub(limit);
        let entries = self.entries.iter().skip(skip).map(|r| r.entry.clone());
        (entries.collect(), skip > 0)
    }

    /// The last `limit` entries of `app_id` that `keep` accepts, newest first.
    pub fn recent_of(
        &self,
        app_id: &str,
        limit: usize,
        keep: impl Fn(&Recorded) -> bool,
    ) -> Vec<Recorded> {
        let of_app = self.entries.iter().rev().filter(|r| r.is_of(app_id));
        of_app.filter(|r| keep(r)).take(limit).cloned().collect()
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Recorded {
        let app = if n.is_multiple_of(2) {
            "app_even"
        } else {
            "app_odd"
        };
        Recorded {
            by: Attribution {
                app_id: Some(app.into()),
                reward_id: None,
            },
            entry: entry_only(n),
        }
    }

    fn entry_only(n: usize) -> JournalEntry {
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

    #[test]
    fn an_app_sees_its_own_entries_newest_first() {
        let mut j = Journal::default();
        for n in 0..10 {
            j.record(entry(n));
        }
        let mut anonymous = entry(10);
        anonymous.by.app_id = None;
        j.record(anonymous);
        let ids = |v: Vec<Recorded>| -> Vec<String> {
            v.into_iter().map(|r| r.entry.request_id).collect()
        };
        assert_eq!(
            ids(j.recent_of("app_odd", 3, |_| true)),
            ["req_9", "req_7", "req_5"]
        );
        assert_eq!(
            ids(j.recent_of("app_even", 10, |r| r.entry.request_id != "req_8")),
            ["req_6", "req_4", "req_2", "req_0"]
        );
        assert!(j.recent_of("app_other", 10, |_| true).is_empty());
    }
}
