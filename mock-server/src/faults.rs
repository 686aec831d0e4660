//! Faults injected through the control API (`POST /_mock/faults`): a status, a delay, a reset
//! connection or a rate limit, for the next N requests of a route.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An injected fault.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// `METHOD path`: a route template or exact path; `*` matches any method.
    pub route: String,
    /// How many matching requests it applies to (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Answer this status with the error envelope.
    pub status: Option<u16>,
    /// Delay before answering (or before handling, alone).
    pub latency_ms: Option<u64>,
    /// `reset` (close the connection) or `rate_limit` (429).
    pub action: Option<String>,
    /// `Retry-After` for 429 answers (default 1).
    pub retry_after_seconds: Option<u64>,
}
fn one() -> u32 {
    1
}

impl Fault {
    /// Whether the fault matches a request.
    pub fn matches(&self, method: &str, path: &str, template: Option<&str>) -> bool {
        let Some((m, p)) = self.route.split_once(' ') else {
            return false;
        };
        (m == "*" || m.eq_ignore_ascii_case(method)) && (p == path || Some(p) == template)
    }
}
