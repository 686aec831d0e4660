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
        self.route
            .split_once(' ')
            .is_some_and(|(m, p)| route_matches(m, p, method, path, template))
    }
}

/// Whether a request (method, path, and the template the router matched, if any) is a fault
/// route's (`method` of the route, `*` for any; `path` the exact path or the template).
pub fn route_matches(
    route_method: &str,
    route_path: &str,
    method: &str,
    path: &str,
    template: Option<&str>,
) -> bool {
    (route_method == "*" || route_method.eq_ignore_ascii_case(method))
        && (route_path == path || Some(route_path) == template)
}

/// The faults armed on a server, in the order they were injected.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    armed: Vec<Fault>,
}

impl Faults {
    /// Arms a fault after those already armed.
    pub fn arm(&mut self, f: Fault) {
        self.armed.push(f);
    }

    /// The armed faults, each with the requests it still applies to.
    pub fn list(&self) -> &[Fault] {
        &self.armed
    }

    /// Disarms every fault.
    pub fn clear(&mut self) {
        self.armed.clear();
    }

    /// The first armed fault that matches a request, counted against it: a fault is disarmed after
    /// its last request.
    pub fn take(&mut self, method: &str, path: &str, template: Option<&str>) -> Option<Fault> {
        let i = self
            .armed
            .iter()
            .position(|f| f.matches(method, path, template))?;
        let f = self.armed[i].clone();
        self.armed[i].count -= 1;
        if self.armed[i].count == 0 {
            self.armed.remove(i);
        }
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(route: &str, count: u32) -> Fault {
        Fault {
            route: route.into(),
            count,
            status: Some(503),
            latency_ms: None,
            action: None,
            retry_after_seconds: None,
        }
    }

    #[test]
    fn the_first_matching_fault_applies_for_its_count_then_the_next() {
        let mut f = Faults::default();
        f.arm(fault("POST /v1/triggers", 2));
        f.arm(fault("* /v1/rewards/{id}", 1));
        f.arm(fault("POST /v1/triggers", 1));
        assert!(
            f.take("GET", "/v1/triggers", Some("/v1/triggers"))
                .is_none(),
            "method"
        );
        for _ in 0..3 {
            assert!(
                f.take("post", "/v1/triggers", Some("/v1/triggers"))
                    .is_some()
            );
        }
        assert!(
            f.take("POST", "/v1/triggers", Some("/v1/triggers"))
                .is_none(),
            "used up"
        );
        assert_eq!(f.list().len(), 1);
        assert!(
            f.take("DELETE", "/v1/rewards/rwd_1", Some("/v1/rewards/{id}"))
                .is_some()
        );
        assert!(f.list().is_empty());
    }
}
