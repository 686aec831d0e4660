//! One log line per request (at `info`, target [`REQUEST_LOG_TARGET`]) and its entry in the request
//! journal (`GET /_mock/journal`), written once the answer is known, after the idempotency layer
//! stored it. Then webhook deliveries that became due start.

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use chrono::{DateTime, Utc};
use tower::{Layer, Service};

use crate::app::AppState;
use crate::domain::journal::{Attribution, JournalEntry, Recorded};
use crate::http::layers::faults::FaultFired;
use crate::http::layers::{
    After, HEALTH_ROUTE, IDEMPOTENCY_KEY, RouteOf, Then, idempotency::Replayed,
};

/// The log target of the one line per request (`--log moments_mock_server::request=info` shows those alone).
pub const REQUEST_LOG_TARGET: &str = "moments_mock_server::request";

/// What a request touched, left on its answer for the journal ([`Attribution`]) by a handler that knows
/// better than the credential: a trigger names the reward it issued, a reward link its app.
#[derive(Clone, Debug)]
pub struct Touched(pub Attribution);

/// A trigger's `occurred_at`, left on its answer for the journal.
#[derive(Clone, Copy, Debug)]
pub struct OccurredAt(pub DateTime<Utc>);

/// What the journal knows of a request before it is handled (in the request's extensions, shared, for
/// a layer that answers without returning: a connection reset by a fault).
#[derive(Clone, Debug)]
pub struct Started {
    at: Instant,
    request_id: String,
    method: Method,
    path: String,
    route: Option<RouteOf>,
    idempotency_key: Option<String>,
}

/// What the answer adds.
#[derive(Debug, Default)]
pub struct Outcome {
    /// HTTP status (0: the connection was reset by a fault).
    pub status: u16,
    /// The answer was a replay of an idempotency key's stored answer.
    pub replayed: bool,
    /// The fault that fired, described.
    pub fault: Option<String>,
    /// The trigger's `occurred_at`.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Whose the request was.
    pub by: Attribution,
}

/// The layer.
#[derive(Clone)]
pub struct JournalLayer(pub AppState);

impl<S> Layer<S> for JournalLayer {
    type Service = Journal<S>;

    fn layer(&self, inner: S) -> Journal<S> {
        Journal {
            inner,
            app: self.0.clone(),
        }
    }
}

/// The service of [`JournalLayer`].
#[derive(Clone)]
pub struct Journal<S> {
    inner: S,
    app: AppState,
}

impl<S> Service<Request> for Journal<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Then<S::Future, Finish>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let started = Started {
            at: Instant::now(),
            request_id: crate::http::envelope::current_request_id(),
            method: req.method().clone(),
            path: req.uri().path().to_string(),
            route: RouteOf::of(&req),
            idempotency_key: req
                .headers()
                .get(IDEMPOTENCY_KEY)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        let health = started.method == Method::GET
            && started.route.as_ref().map(RouteOf::as_str) == Some(HEALTH_ROUTE);
        let started = Arc::new(started);
        req.extensions_mut().insert(started.clone());
        let finish = Finish {
            app: self.app.clone(),
            credential: req.headers().get(http::header::AUTHORIZATION).cloned(),
            started,
            health,
        };
        Then::new(self.inner.call(req), finish)
    }
}

/// Logs and records the request once its answer is known.
pub struct Finish {
    app: AppState,
    /// The `Authorization` header, to name the app once the handler resolved (and cached) it.
    credential: Option<http::HeaderValue>,
    started: Arc<Started>,
    health: bool,
}

impl After for Finish {
    fn after(self, resp: Response) -> Response {
        // The request, and the reference its extensions held, is gone: the entry takes the strings.
        let started = Arc::try_unwrap(self.started).unwrap_or_else(|s| Started::clone(&s));
        let outcome = Outcome {
            status: resp.status().as_u16(),
            replayed: resp.extensions().get::<Replayed>().is_some(),
            fault: resp.extensions().get::<FaultFired>().map(|f| f.0.clone()),
            occurred_at: resp.extensions().get::<OccurredAt>().map(|o| o.0),
            by: attribution(&self.app, &resp, self.credential.as_ref()),
        };
        if self.health {
            log(&started, &outcome);
            return resp;
        }
        if record(&self.app, started, outcome) {
            let a = self.app;
            tokio::spawn(async move { crate::delivery::flush(&a).await });
        }
        resp
    }
}

/// Whose a request was: as its handler said ([`Touched`]), else the app of its credential when the
/// handler resolved it (from the credential cache: no lock on the state).
fn attribution(
    app: &AppState,
    resp: &Response,
    credential: Option<&http::HeaderValue>,
) -> Attribution {
    match resp.extensions().get::<Touched>() {
        Some(t) => t.0.clone(),
        None => Attribution {
            app_id: credential.and_then(|c| crate::http::auth::cached_app(app, c)),
            reward_id: None,
        },
    }
}

/// Logs the request ([`log`]), records it in the journal and tells whether webhook sends wait to be
/// delivered. The journal has its own lock.
pub fn record(app: &AppState, s: Started, o: Outcome) -> bool {
    log(&s, &o);
    let entry = JournalEntry {
        request_id: s.request_id,
        at: app.0.clock.now(),
        method: method_name(&s.method),
        path: s.path,
        route: s.route.map(|r| r.as_str().to_string()),
        status: o.status,
        idempotency_key: s.idempotency_key,
        replayed: o.replayed,
        fault: o.fault,
        occurred_at: o.occurred_at,
    };
    let recorded = Recorded { entry, by: o.by };
    let feed = &app.0.journal_feed;
    // Sent under the journal's lock: a listener that subscribes under it, then reads the journal, sees
    // each entry once.
    let mut journal = app.journal();
    if feed.receiver_count() > 0 {
        // No listener left since the count was read: nothing to tell.
        let _ = feed.send(Arc::new(recorded.clone()));
    }
    journal.record(recorded);
    drop(journal);
    app.outbox_pending()
}

/// Logs the request at `info`: method, route template (never the path, which may hold a reward link's
/// token; `-` when no route matched), status (0: the connection was reset by a fault), duration, request
/// id, idempotency key when sent, whether the answer was a replay, and the fault that fired, if one did.
fn log(s: &Started, o: &Outcome) {
    let duration_ms = s.at.elapsed().as_secs_f64() * 1000.0;
    // An `Option` field is written only when it is `Some`.
    tracing::info!(
        target: REQUEST_LOG_TARGET,
        method = s.method.as_str(),
        route = s.route.as_ref().map_or("-", RouteOf::as_str),
        status = o.status,
        duration_ms,
        request_id = s.request_id.as_str(),
        idempotency_key = s.idempotency_key.as_deref(),
        replayed = o.replayed,
        fault = o.fault.as_deref(),
        "request"
    );
}

/// The method's name, without allocating for the standard ones.
fn method_name(m: &Method) -> Cow<'static, str> {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    match KNOWN.iter().find(|k| **k == m.as_str()) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(m.as_str().to_string()),
    }
}
