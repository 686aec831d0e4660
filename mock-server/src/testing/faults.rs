//! [`Fault`] and [`Faults`]: faults injected through `/_mock/faults`.

use std::time::Duration;

use super::{Control, Error, Result, Route};

/// What a fault does beside (or instead of) answering a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Close the connection without an answer.
    ResetConnection,
    /// Answer `429 rate_limited` with `Retry-After`.
    RateLimit,
}

/// A fault for the next requests of a route. It fires before the request is handled, so the request
/// has no effect.
///
/// ```
/// use std::time::Duration;
/// use moments_mock_server::testing::{Fault, Route};
///
/// let outage = Fault::on(Route::Trigger).status(503).times(2);
/// let slow = Fault::on(Route::GetReward).latency(Duration::from_millis(300));
/// let gone = Fault::on(Route::Redemption).reset_connection();
/// let busy = Fault::on(Route::Trigger).rate_limit(Duration::from_secs(5));
/// # let _ = (outage, slow, gone, busy);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    route: Route,
    count: u32,
    status: Option<u16>,
    latency: Option<Duration>,
    action: Option<FaultAction>,
    retry_after: Option<Duration>,
}

impl Fault {
    /// A fault on `route` for its next request. Give it a [`status`](Self::status), a
    /// [`latency`](Self::latency), [`reset_connection`](Self::reset_connection) or
    /// [`rate_limit`](Self::rate_limit) before injecting it.
    pub fn on(route: impl Into<Route>) -> Fault {
        Fault {
            route: route.into(),
            count: 1,
            status: None,
            latency: None,
            action: None,
            retry_after: None,
        }
    }

    /// For the next `n` matching requests (default 1; ≥ 1).
    pub fn times(mut self, n: u32) -> Fault {
        self.count = n;
        self
    }

    /// Answers this status (400–599) with the error envelope (`service_unavailable` for 503; 429
    /// and 503 carry `Retry-After`).
    pub fn status(mut self, status: u16) -> Fault {
        self.status = Some(status);
        self
    }

    /// Delays the answer (alone: delays handling; with another effect: delays it).
    pub fn latency(mut self, latency: Duration) -> Fault {
        self.latency = Some(latency);
        self
    }

    /// Closes the connection without an answer.
    pub fn reset_connection(mut self) -> Fault {
        self.action = Some(FaultAction::ResetConnection);
        self
    }

    /// Answers `429 rate_limited` with `Retry-After: retry_after` (whole seconds, ≥ 1).
    pub fn rate_limit(mut self, retry_after: Duration) -> Fault {
        self.action = Some(FaultAction::RateLimit);
        self.retry_after = Some(retry_after);
        self
    }

    /// `Retry-After` of a 429 or 503 [`status`](Self::status) (whole seconds, ≥ 1; default 1).
    pub fn retry_after(mut self, retry_after: Duration) -> Fault {
        self.retry_after = Some(retry_after);
        self
    }

    /// The body of `POST /_mock/faults`, checked: an unknown route, a count of 0, a status outside
    /// 400–599, a fault that does nothing, or a sub-second or zero `Retry-After` is [`Error::Invalid`]
    /// naming the control API's field.
    pub fn to_wire(&self) -> Result<crate::domain::faults::Fault> {
        self.route.validate()?;
        if self.count == 0 {
            return Err(Error::invalid("count", "`count` must be ≥ 1"));
        }
        if let Some(s) = self.status
            && !(400..=599).contains(&s)
        {
            return Err(Error::invalid("status", "`status` must be 400–599"));
        }
        if self.status.is_none() && self.action.is_none() && self.latency.is_none() {
            return Err(Error::invalid(
                "status",
                "a fault needs a status, a latency, reset_connection or rate_limit",
            ));
        }
        let retry_after_seconds = match self.retry_after {
            None => None,
            Some(d) if d.subsec_nanos() != 0 || d.as_secs() == 0 => {
                return Err(Error::invalid(
                    "retry_after_seconds",
                    format!("`Retry-After` is whole seconds ≥ 1, not {d:?}"),
                ));
            }
            Some(d) => Some(d.as_secs()),
        };
        let latency_ms = match self.latency {
            None => None,
            Some(d) => Some(
                u64::try_from(d.as_millis())
                    .map_err(|_| Error::invalid("latency_ms", "too long"))?,
            ),
        };
        Ok(crate::domain::faults::Fault {
            route: self.route.as_str().to_string(),
            count: self.count,
            status: self.status,
            latency_ms,
            action: self.action.map(|a| {
                match a {
                    FaultAction::ResetConnection => "reset",
                    FaultAction::RateLimit => "rate_limit",
                }
                .to_string()
            }),
            retry_after_seconds,
        })
    }
}

/// A fault still armed, as [`Faults::list`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArmedFault {
    /// The route.
    pub route: Route,
    /// How many matching requests it still applies to.
    pub remaining: u32,
    /// The status it answers.
    pub status: Option<u16>,
    /// The delay.
    pub latency: Option<Duration>,
    /// What it does beside a status.
    pub action: Option<FaultAction>,
    /// The `Retry-After` it sends.
    pub retry_after: Option<Duration>,
}

impl ArmedFault {
    /// A fault as the mock lists it.
    pub fn from_wire(f: &crate::domain::faults::Fault) -> ArmedFault {
        ArmedFault {
            route: Route::parse(&f.route),
            remaining: f.count,
            status: f.status,
            latency: f.latency_ms.map(Duration::from_millis),
            action: match f.action.as_deref() {
                Some("reset") => Some(FaultAction::ResetConnection),
                Some("rate_limit") => Some(FaultAction::RateLimit),
                _ => None,
            },
            retry_after: f.retry_after_seconds.map(Duration::from_secs),
        }
    }
}

/// The faults of a mock (`/_mock/faults`).
#[derive(Clone, Debug)]
pub struct Faults {
    control: Control,
}

impl Faults {
    pub(crate) fn new(control: Control) -> Faults {
        Faults { control }
    }

    /// Injects a fault (checked first: see [`Fault::to_wire`]). Faults apply in the order injected;
    /// the first that matches a request fires.
    pub async fn inject(&self, fault: Fault) -> Result<()> {
        let wire = fault.to_wire()?;
        self.control
            .post::<crate::domain::faults::Fault>("/_mock/faults", &wire)
            .await
            .map(drop)
    }

    /// The faults still armed, with how many requests each has left, in the order they apply.
    pub async fn list(&self) -> Result<Vec<ArmedFault>> {
        let list: super::Page<crate::domain::faults::Fault> =
            self.control.get("/_mock/faults").await?;
        Ok(list.data.iter().map(ArmedFault::from_wire).collect())
    }

    /// Removes every fault.
    pub async fn clear(&self) -> Result<()> {
        self.control
            .call::<serde_json::Value>(reqwest::Method::DELETE, "/_mock/faults", None::<&()>)
            .await
            .map(drop)
    }
}
