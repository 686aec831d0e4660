//! The outer middleware: request id on every response, faults, body limit, error envelopes,
//! idempotency, journal, and webhook flushing.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State as S};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use crate::app::AppState;
use crate::domain::errors::ApiError;
use crate::domain::ids;
use crate::domain::journal::JournalEntry;
use crate::http::envelope::{Enveloped, REQUEST_ID};
use crate::http::idempotency::{self, PendingStore, Pre, Replayed, Ticket};

/// Maximum request body.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Maximum total size of request headers.
pub const HEADER_LIMIT: usize = 16 * 1024;

/// Per-connection control: notifying it drops the connection without an answer.
#[derive(Clone)]
pub struct ConnCtl(pub Arc<Notify>);

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

/// The middleware.
pub async fn middleware(S(app): S<AppState>, req: Request, next: Next) -> Response {
    let rid = ids::new_id("req_");
    REQUEST_ID
        .scope(rid.clone(), handle(app, rid, req, next))
        .await
}

async fn handle(app: AppState, rid: String, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // The router already matched the route: take its template (no scan) when it did.
    let matched = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let route: Option<&str> = match &matched {
        Some(m) => Some(m.as_str()),
        None => route_template(&path),
    };
    let idem_key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // Health checks skip the header limit, faults and the journal: a container probing every few seconds
    // changes nothing a test reads, and a fault aimed at the API cannot make the container look dead.
    // They are logged like any request.
    if method == Method::GET && route == Some(HEALTH_ROUTE) {
        let mut resp = next.run(req).await;
        resp.headers_mut().insert(
            "x-request-id",
            HeaderValue::from_str(&rid).unwrap_or(HeaderValue::from_static("req_")),
        );
        log_request(
            &method,
            route,
            resp.status().as_u16(),
            started,
            &rid,
            idem_key.as_deref(),
            false,
            None,
        );
        return resp;
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > HEADER_LIMIT {
        let mut resp =
            ApiError::from_status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).into_response();
        resp.headers_mut().insert(
            "x-request-id",
            HeaderValue::from_str(&rid).unwrap_or(HeaderValue::from_static("req_")),
        );
        journal(
            &app, started, rid, &method, &path, route, 431, None, false, None, None, None,
        );
        return resp;
    }
    // Faults fire before the request is handled (no lock taken until a fault was ever injected).
    let armed = app
        .0
        .faults_armed
        .load(std::sync::atomic::Ordering::Acquire);
    let fault = if !armed {
        None
    } else {
        app.lock().faults.take(method.as_str(), &path, route)
    };
    let mut fault_desc = None;
    let mut early: Option<Response> = None;
    if let Some(f) = &fault {
        fault_desc = Some(
            f.route.clone()
                + &f.action
                    .as_ref()
                    .map(|a| format!(" action={a}"))
                    .unwrap_or_default()
                + &f.status.map(|s| format!(" status={s}")).unwrap_or_default()
                + &f.latency_ms
                    .map(|l| format!(" latency_ms={l}"))
                    .unwrap_or_default(),
        );
        if let Some(ms) = f.latency_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if f.action.as_deref() == Some("reset") {
            journal(
                &app,
                started,
                rid.clone(),
                &method,
                &path,
                route,
                0,
                idem_key.clone(),
                false,
                fault_desc.clone(),
                None,
                None,
            );
            if let Some(ctl) = req.extensions().get::<ConnCtl>() {
                ctl.0.notify_one();
                std::future::pending::<()>().await;
            }
            // Without a connection handle (in-process router), answer 502 as the closest thing.
            early = Some(ApiError::from_status(StatusCode::BAD_GATEWAY).into_response());
        } else if f.action.as_deref() == Some("rate_limit") {
            early = Some(
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "Too many requests (injected).",
                )
                .retry_after(f.retry_after_seconds.unwrap_or(1))
                .into_response(),
            );
        } else if let Some(s) = f.status {
            let st = StatusCode::from_u16(s).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut e = ApiError::from_status(st);
            e.message = format!("{} (injected fault)", e.message);
            if s == 429 || s == 503 {
                e = e.retry_after(f.retry_after_seconds.unwrap_or(1));
            }
            early = Some(e.into_response());
        }
    }
    let (mut resp, pending) = match early {
        Some(r) => (r, None),
        None => run(&app, req, next).await,
    };
    // Every error answer is an envelope.
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/html"));
    if resp.status().as_u16() >= 400 && resp.extensions().get::<Enveloped>().is_none() && !is_html {
        let mut e = ApiError::from_status(resp.status());
        if resp.status() == StatusCode::NOT_FOUND && route.is_some() {
            e = ApiError::new(
                StatusCode::NOT_FOUND,
                "resource_not_found",
                "No such resource.",
            );
        }
        let retry = resp.headers().get(header::RETRY_AFTER).cloned();
        resp = e.into_response();
        if let Some(r) = retry {
            resp.headers_mut().insert(header::RETRY_AFTER, r);
        }
    }
    let replayed = resp.extensions().get::<Replayed>().is_some();
    let occurred_at = resp.extensions().get::<OccurredAt>().map(|o| o.0);
    resp.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_str(&rid).unwrap_or(HeaderValue::from_static("req_")),
    );
    let sends_due = journal(
        &app,
        started,
        rid,
        &method,
        &path,
        route,
        resp.status().as_u16(),
        idem_key,
        replayed,
        fault_desc,
        occurred_at,
        pending,
    );
    // Deliver webhooks that became due.
    if sends_due {
        let a = app.clone();
        tokio::spawn(async move { crate::delivery::flush(&a).await });
    }
    resp
}

/// Runs the handler behind the body limit and the idempotency layer. An answer to store under an
/// idempotency key comes back with the response, to be stored when the journal records it.
async fn run(app: &AppState, req: Request, next: Next) -> (Response, Option<PendingStore>) {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            let r = ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE).into_response();
            return (r, None);
        }
    };
    let mut req = Request::from_parts(parts, Body::from(bytes.clone()));
    if !idempotency::applies(req.method(), req.uri().path()) {
        return (next.run(req).await, None);
    }
    match idempotency::before(app, &mut req, &bytes) {
        Pre::Pass => (next.run(req).await, None),
        Pre::Answer(r) => (r, None),
        Pre::Store(ticket) => {
            // If the client goes away mid-request, forget the in-progress marker. The guard is
            // disarmed only once the answer is collected; from there to the store there is no
            // await point, so the store cannot be lost to a cancellation.
            struct Guard<'a>(&'a AppState, Option<Ticket>);
            impl Drop for Guard<'_> {
                fn drop(&mut self) {
                    if let Some(t) = self.1.take() {
                        idempotency::abandon(self.0, &t);
                    }
                }
            }
            let mut guard = Guard(app, Some(ticket));
            let resp = next.run(req).await;
            let (resp, pending) = idempotency::collect(ticket, resp).await;
            guard.1 = None;
            (resp, pending)
        }
    }
}

/// A trigger's `occurred_at`, left on its answer for the journal.
#[derive(Clone, Copy, Debug)]
pub struct OccurredAt(pub chrono::DateTime<chrono::Utc>);

/// The route template of `GET /_mock/health`, which skips faults and the journal.
const HEALTH_ROUTE: &str = "/_mock/health";

/// The log target of the one line per request (`--log moments_mock_server::request=info` shows those alone).
pub const REQUEST_LOG_TARGET: &str = "moments_mock_server::request";

/// Logs the request at `info`: method, route template (never the path, which may hold a reward link's
/// token; `-` when no route matched), status (0: the connection was reset by a fault), duration, request
/// id, idempotency key when sent, whether the answer was a replay, and the fault that fired, if one did.
#[allow(clippy::too_many_arguments)]
fn log_request(
    method: &Method,
    route: Option<&str>,
    status: u16,
    started: Instant,
    rid: &str,
    key: Option<&str>,
    replayed: bool,
    fault: Option<&str>,
) {
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    // An `Option` field is written only when it is `Some`.
    tracing::info!(
        target: REQUEST_LOG_TARGET,
        method = method.as_str(),
        route = route.unwrap_or("-"),
        status,
        duration_ms,
        request_id = rid,
        idempotency_key = key,
        replayed,
        fault,
        "request"
    );
}

/// Records the request in the journal (after storing its idempotent answer, if one waits), logs it
/// ([`log_request`]) and tells whether webhook sends wait to be delivered. The journal and the
/// idempotency store have their own locks.
#[allow(clippy::too_many_arguments)]
fn journal(
    app: &AppState,
    started: Instant,
    rid: String,
    method: &Method,
    path: &str,
    route: Option<&str>,
    status: u16,
    key: Option<String>,
    replayed: bool,
    fault: Option<String>,
    occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    pending: Option<PendingStore>,
) -> bool {
    if let Some(p) = pending {
        idempotency::store(app, p);
    }
    log_request(
        method,
        route,
        status,
        started,
        &rid,
        key.as_deref(),
        replayed,
        fault.as_deref(),
    );
    let entry = JournalEntry {
        request_id: rid,
        at: app.0.clock.now(),
        method: method_name(method),
        path: path.into(),
        route: route.map(str::to_string),
        status,
        idempotency_key: key,
        replayed,
        fault,
        occurred_at,
    };
    app.journal().record(entry);
    app.outbox_pending()
}

/// The method's name, without allocating for the standard ones.
fn method_name(m: &Method) -> Cow<'static, str> {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    match KNOWN.iter().find(|k| **k == m.as_str()) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(m.as_str().to_string()),
    }
}
