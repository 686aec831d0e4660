//! Errors of the outbox API.

use std::path::PathBuf;

/// An outbox operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The action's JSON is larger than [`OutboxConfig::max_payload_bytes`](crate::OutboxConfig).
    #[error("action is {size} bytes of JSON, over the {max}-byte limit")]
    PayloadTooLarge {
        /// Size of the action's JSON.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The outbox holds `max_rows` undelivered actions and its policy is
    /// [`FullPolicy::RejectNew`](crate::FullPolicy).
    #[error("the outbox is full ({max_rows} undelivered actions)")]
    Full {
        /// The configured limit.
        max_rows: u32,
    },
    /// An app-supplied idempotency key is not 1–255 printable ASCII characters.
    #[error("invalid idempotency key: must be 1-255 printable ASCII characters")]
    InvalidIdempotencyKey,
    /// An app-supplied idempotency key is already used by a different action: queued, in flight,
    /// or answered within the key retention. Nothing is written.
    #[error("idempotency key is already used by a different action")]
    DuplicateKey,
    /// An [`OutboxConfig`](crate::OutboxConfig) value is out of range (named in the message).
    #[error("invalid outbox configuration: {0}")]
    InvalidConfig(String),
    /// The action is malformed (the field is named).
    #[error("invalid action: {0}")]
    InvalidAction(String),
    /// Another `Outbox` in this process has this database file open.
    #[error("the outbox database {0} is already open in this process")]
    AlreadyOpen(PathBuf),
    /// The database was written by a newer version of this SDK (schema `found`; this version
    /// knows up to `supported`). Nothing is changed or dropped; open it with a newer SDK.
    #[error("outbox database schema v{found} is newer than this SDK supports (v{supported})")]
    UnsupportedSchema {
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest schema this SDK knows.
        supported: i64,
    },
    /// The outbox was shut down.
    #[error("the outbox is shut down")]
    Closed,
    /// SQLite failed.
    #[error("outbox storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// A file operation failed (moving a corrupt database aside, creating the directory).
    #[error("outbox file error: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for results of outbox operations.
pub type Result<T, E = OutboxError> = std::result::Result<T, E>;
