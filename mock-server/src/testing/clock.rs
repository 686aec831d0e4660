//! [`Clock`]: the mock's virtual clock (`/_mock/clock`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ClockView, Control, Error, Result};

/// The mock's virtual clock: real time plus an offset, or frozen. Every time rule of the mock reads
/// it; moving it runs the rules that became due, in time order, before the call returns.
#[derive(Clone, Debug)]
pub struct Clock {
    control: Control,
}

#[derive(Serialize)]
struct SetBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    now: Option<DateTime<Utc>>,
    frozen: bool,
}

/// Whole seconds of a duration (the clock's unit), refusing a fraction.
fn whole_seconds(d: Duration, field: &str) -> Result<i64> {
    if d.subsec_nanos() != 0 {
        return Err(Error::invalid(
            field,
            format!("the mock's clock moves in whole seconds, not {d:?}"),
        ));
    }
    i64::try_from(d.as_secs()).map_err(|_| Error::invalid(field, "too long"))
}

impl Clock {
    pub(crate) fn new(control: Control) -> Clock {
        Clock { control }
    }

    /// The server's time.
    pub async fn now(&self) -> Result<DateTime<Utc>> {
        Ok(self.state().await?.now)
    }

    /// The time, whether the clock is frozen, and its offset from real time.
    pub async fn state(&self) -> Result<ClockView> {
        self.control.get("/_mock/clock").await
    }

    /// Moves time forward by `by` (whole seconds; a fraction is [`Error::Invalid`] naming
    /// `seconds`), running every rule that became due and delivering due webhooks before it returns.
    pub async fn advance(&self, by: Duration) -> Result<ClockView> {
        let seconds = whole_seconds(by, "seconds")?;
        self.control
            .post(
                "/_mock/clock/advance",
                &serde_json::json!({ "seconds": seconds }),
            )
            .await
    }

    /// Sets the time (not backwards: the mock answers `validation_error` naming `now`) and lets the
    /// clock run from there.
    pub async fn set(&self, to: DateTime<Utc>) -> Result<ClockView> {
        self.send(Some(to), false).await
    }

    /// Freezes the clock where it is (in one call, so no second passes between reading and
    /// freezing).
    pub async fn freeze(&self) -> Result<ClockView> {
        self.send(None, true).await
    }

    /// Sets the time (not backwards) and freezes it there.
    pub async fn freeze_at(&self, at: DateTime<Utc>) -> Result<ClockView> {
        self.send(Some(at), true).await
    }

    /// Lets a frozen clock run again from where it stands.
    pub async fn unfreeze(&self) -> Result<ClockView> {
        self.send(None, false).await
    }

    async fn send(&self, now: Option<DateTime<Utc>>, frozen: bool) -> Result<ClockView> {
        self.control
            .post("/_mock/clock/set", &SetBody { now, frozen })
            .await
    }
}
