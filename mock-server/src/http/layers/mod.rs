//! The layers every request passes, outermost first (`http::router::router` stacks them):
//!
//! 1. [`request_id`]: a fresh `req_…` id, on the response's `X-Request-Id` and in every error envelope.
//! 2. [`journal`]: one log line per request and its journal entry, once the answer is known; starts
//!    webhook deliveries that became due.
//! 3. [`envelope`]: every error answer (≥ 400, not HTML) is the API's error envelope.
//! 4. [`limits`]: the request headers' total size and the body's.
//! 5. [`faults`]: faults injected through `/_mock/faults` fire before the request is handled.
//! 6. [`idempotency`]: `Idempotency-Key` replay, conflict and in-progress answers; stores the answer.
//! 7. [`store`]: with a persistent store, a change is an entry of its log, written in the store's
//!    transaction; a read first applies what other instances wrote (`crate::sync`).
//!
//! `GET /_mock/health` skips the header limit, faults and the journal (it is logged): a container
//! probing every few seconds changes nothing a test reads, and a fault aimed at the API cannot make
//! the container look dead.
//!
//! Each layer is a `tower` [`Layer`](tower::Layer) and [`Service`](tower::Service) of its own. A
//! layer that only looks at the request and the answer calls the service inside it directly and
//! returns its future wrapped ([`Then`]), so the stack's futures nest without a box or a clone of
//! the services inside; only a layer that must wait before handing the request on (the body's
//! collection for idempotency, an injected fault's latency) boxes a future.

pub mod envelope;
pub mod faults;
pub mod idempotency;
pub mod idempotency_shared;
pub mod journal;
pub mod limits;
pub mod request_id;
pub mod store;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use futures_util::future::BoxFuture;

/// The route template of `GET /_mock/health`.
pub const HEALTH_ROUTE: &str = "/_mock/health";

/// The `Idempotency-Key` header's name (a constant: a lookup by `&str` parses the name every time).
pub const IDEMPOTENCY_KEY: axum::http::HeaderName =
    axum::http::HeaderName::from_static("idempotency-key");

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

/// What a layer does to the answer of the service inside it.
pub trait After {
    /// The answer passed on.
    fn after(self, resp: Response) -> Response;
}

/// The future of a layer over the service inside it: that service's answer, then [`After`].
pub struct Then<F, A> {
    inner: F,
    after: Option<A>,
}

impl<F, A> Then<F, A> {
    /// `inner`'s answer, passed through `after` when it is ready.
    pub fn new(inner: F, after: A) -> Self {
        Then {
            inner,
            after: Some(after),
        }
    }
}

impl<F, A> Future for Then<F, A>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
    A: After + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Ok(resp) = ready!(Pin::new(&mut this.inner).poll(cx));
        let after = this.after.take().expect("polled after it was ready");
        Poll::Ready(Ok(after.after(resp)))
    }
}

/// The future of a layer that either hands the request on at once or answers after waiting
/// (boxed: that path is the rare one, or must own the service inside).
pub type OrBoxed<F> =
    futures_util::future::Either<F, BoxFuture<'static, Result<Response, Infallible>>>;

/// Takes the service inside a layer for a future that outlives the call, leaving a clone in its
/// place (the taken one is the one `poll_ready` readied).
pub fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}

/// Runs the service inside a layer to its answer.
pub async fn run<S>(mut inner: S, req: Request) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let Ok(resp) = inner.call(req).await;
    resp
}
