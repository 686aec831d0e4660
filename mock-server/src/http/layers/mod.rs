//! The layers every request passes, outermost first (`http::router::router` stacks them):
//!
//! 1. [`request_id`]: a fresh `req_…` id, on the response's `X-Request-Id` and in every error envelope.
//! 2. [`journal`]: one log line per request and its journal entry, once the answer is known; starts
//!    webhook deliveries that became due.
//! 3. [`envelope`]: every error answer (≥ 400, not HTML) is the API's error envelope.
//! 4. [`limits`]: the request headers' total size and the body's.
//! 5. [`faults`]: faults injected through `/_mock/faults` fire before the request is handled.
//! 6. [`idempotency`]: `Idempotency-Key` replay, conflict and in-progress answers; stores the answer.
//!
//! `GET /_mock/health` skips the header limit, faults and the journal (it is logged): a container
//! probing every few seconds changes nothing a test reads, and a fault aimed at the API cannot make
//! the container look dead.

pub mod envelope;
pub mod faults;
pub mod idempotency;
pub mod journal;
pub mod limits;
pub mod request_id;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;

/// The route template of `GET /_mock/health`.
pub const HEALTH_ROUTE: &str = "/_mock/health";

/// The route a request was matched to: the router's template, or for a path the router did not
/// match (a wrong method, say), the served template it fits.
#[derive(Clone, Debug)]
pub enum RouteOf {
    /// Matched by the router.
    Matched(MatchedPath),
    /// Fits a served template.
    Template(&'static str),
}

impl RouteOf {
    /// The route of a request, if it has one.
    pub fn of(req: &Request) -> Option<RouteOf> {
        match req.extensions().get::<MatchedPath>() {
            Some(m) => Some(RouteOf::Matched(m.clone())),
            None => route_template(req.uri().path()).map(RouteOf::Template),
        }
    }

    /// The template.
    pub fn as_str(&self) -> &str {
        match self {
            RouteOf::Matched(m) => m.as_str(),
            RouteOf::Template(t) => t,
        }
    }
}

/// Whether a request is the health check.
pub fn is_health(req: &Request) -> bool {
    req.method() == Method::GET && RouteOf::of(req).is_some_and(|r| r.as_str() == HEALTH_ROUTE)
}

/// Matches a path against the served route templates (without allocating: this runs per request).
pub fn route_template(path: &str) -> Option<&'static str> {
    let path = path.trim_end_matches('/');
    crate::http::router::routes()
        .iter()
        .map(|(_, t)| t.as_str())
        .find(|t| {
            let (mut ts, mut ps) = (t.split('/'), path.split('/'));
            loop {
                match (ts.next(), ps.next()) {
                    (None, None) => return true,
                    (Some(a), Some(b)) if (a.starts_with('{') && !b.is_empty()) || a == b => {}
                    _ => return false,
                }
            }
        })
}
