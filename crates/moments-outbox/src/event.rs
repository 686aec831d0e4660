//! What the outbox tells the app.

use std::path::PathBuf;

use crate::deliver::{Delivered, PermanentError};

/// An outcome or state change, reported through an [`OutboxListener`]. New variants may be
/// added: a `match` needs a `_` arm.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OutboxEvent {
    /// The server accepted the action. Reported at least once: if the app dies between the
    /// answer and the listener call, it is reported again at the next open (with the same
    /// outcome, from the outbox's own record).
    Delivered {
        /// The action's idempotency key.
        idempotency_key: String,
        /// Its customer.
        customer_id: String,
        /// The answer.
        delivered: Delivered,
    },
    /// The server refused the action for good. The action stays visible in
    /// [`Outbox::failed`](crate::Outbox::failed) and is never retried. Reported once (again at
    /// the next open only if the app died before the listener returned).
    Failed {
        /// The action's idempotency key.
        idempotency_key: String,
        /// Its customer.
        customer_id: String,
        /// Why.
        error: PermanentError,
    },
    /// An undelivered action was removed without delivery.
    Dropped {
        /// The action's idempotency key.
        idempotency_key: String,
        /// Its customer.
        customer_id: String,
        /// Why.
        reason: DropReason,
    },
    /// Delivery paused: the deliverer's credentials were refused twice in a row. Nothing is
    /// dropped; call [`Outbox::resume_delivery`](crate::Outbox::resume_delivery) once the app has
    /// a valid session.
    Paused {
        /// The `401` error code.
        code: String,
    },
    /// The database file was unreadable (corrupt, or not a database). It was moved aside to
    /// `moved_to` and a fresh, empty outbox created. Actions in the old file are not delivered.
    DatabaseRecovered {
        /// Where the unreadable file now is.
        moved_to: PathBuf,
        /// What SQLite said.
        detail: String,
    },
}

/// Why an action was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Older than [`OutboxConfig::max_age`](crate::OutboxConfig) without being delivered.
    Expired,
    /// Evicted to make room under [`FullPolicy::DropOldest`](crate::FullPolicy).
    Evicted,
    /// Removed by [`Outbox::purge_customer`](crate::Outbox::purge_customer).
    Purged,
}

/// Receives [`OutboxEvent`]s. Called from the outbox's delivery task: return quickly and do not
/// call back into the outbox synchronously.
pub trait OutboxListener: Send + Sync + 'static {
    /// One event.
    fn on_event(&self, event: OutboxEvent);
}

impl<F: Fn(OutboxEvent) + Send + Sync + 'static> OutboxListener for F {
    fn on_event(&self, event: OutboxEvent) {
        self(event)
    }
}
