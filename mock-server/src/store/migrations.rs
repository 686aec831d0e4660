//! What the two stores share about their schema: the migrations' outcome and the sandbox row.
//!
//! The migrations are SQL files in `mock-server/migrations/{sqlite,postgres}`, `V<n>__<name>.sql`,
//! embedded in the binary and applied at start by refinery, which records them in
//! `refinery_schema_history`.

use chrono::DateTime;

use super::{Genesis, StoreError};

/// The outcome of running the migrations, as the store's start sees it: a database that has a
/// migration this binary does not know (a newer schema) refuses to start.
pub fn check(
    outcome: Result<refinery::Report, refinery::Error>,
    db: &str,
) -> Result<(), StoreError> {
    match outcome {
        Ok(_) => Ok(()),
        Err(e) => match e.kind() {
            refinery::error::Kind::MissingVersion(m) => Err(StoreError::Refused(format!(
                "the {db} database's schema is newer than this binary's: it has migration V{}__{}, \
                 which this version ({}) does not know. Run the version that migrated it, or a newer one.",
                m.version(),
                m.name(),
                super::VERSION
            ))),
            refinery::error::Kind::Connection(..) => Err(StoreError::Unavailable(format!(
                "{db}: the migrations could not run: {e}"
            ))),
            _ => Err(StoreError::Refused(format!(
                "{db}: the migrations could not run: {e}"
            ))),
        },
    }
}

/// The sandbox row, read back.
pub fn genesis(
    (seed, created_at_ms, random_demo_keys, fixtures): (Vec<u8>, i64, bool, Option<String>),
) -> Result<Genesis, StoreError> {
    let refused = |why: &str| StoreError::Refused(format!("the store's sandbox row: {why}"));
    Ok(Genesis {
        seed: seed
            .try_into()
            .map_err(|_| refused("the seed is not 32 bytes"))?,
        created_at: DateTime::from_timestamp_millis(created_at_ms)
            .ok_or_else(|| refused("bad creation time"))?,
        random_demo_keys,
        fixtures: fixtures
            .map(|f| serde_json::from_str(&f))
            .transpose()
            .map_err(|_| refused("the fixtures do not parse"))?,
    })
}
