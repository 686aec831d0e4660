//! Faults injected through `/_mock/faults` fire here, before the request is handled: latency, a
//! status, a rate limit (`429` with `Retry-After`) or a connection reset. Until a fault is ever
//! injected, requests skip the lookup (and its lock).

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use tokio::sync::Notify;
use tower::{Layer, Service};

use crate::app::AppState;
use crate::domain::errors::ApiError;
use crate::domain::faults::Fault;
use crate::http::layers::journal::{self, Outcome, Started};
use crate::http::layers::{OrBoxed, RouteOf, is_health, run, take_ready};

/// Per-connection control: notifying it drops the connection without an answer.
#[derive(Clone)]
pub struct ConnCtl(pub std::sync::Arc<Notify>);

/// The fault that fired, described, on the answer (for the journal).
#[derive(Clone, Debug)]
pub struct FaultFired(pub String);

/// The layer.
#[derive(Clone)]
pub struct FaultsLayer(pub AppState);

impl<S> Layer<S> for FaultsLayer {
    type Service = Faults<S>;

    fn layer(&self, inner: S) -> Faults<S> {
        Faults {
            inner,
            app: self.0.clone(),
        }
    }
}

/// The service of [`FaultsLayer`].
#[derive(Clone)]
pub struct Faults<S> {
    inner: S,
    app: AppState,
}

impl<S> Service<Request> for Faults<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = OrBoxed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if !self.app.0.faults_armed.load(Ordering::Acquire) || is_health(&req) {
            return Either::Left(self.inner.call(req));
        }
        let (app, inner) = (self.app.clone(), take_ready(&mut self.inner));
        Either::Right(Box::pin(async move { Ok(fire(app, req, inner).await) }))
    }
}

/// Takes the request's fault, if one is injected for it, and fires it.
async fn fire<S>(app: AppState, req: Request, inner: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let route = RouteOf::of(&req);
    let fault = app.lock().faults.take(
        req.method().as_str(),
        req.uri().path(),
        route.as_ref().map(RouteOf::as_str),
    );
    let Some(f) = fault else {
        return run(inner, req).await;
    };
    let fired = FaultFired(describe(&f));
    if let Some(ms) = f.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut resp = match f.action.as_deref() {
        Some("reset") => {
            if let (Some(ctl), Some(started)) = (
                req.extensions().get::<ConnCtl>(),
                req.extensions().get::<std::sync::Arc<Started>>(),
            ) {
                let credential = req.headers().get(http::header::AUTHORIZATION);
                let outcome = Outcome {
                    status: 0,
                    fault: Some(fired.0.clone()),
                    by: crate::domain::journal::Attribution {
                        app_id: credential.and_then(|c| crate::http::auth::cached_app(&app, c)),
                        reward_id: None,
                    },
                    ..Outcome::default()
                };
                journal::record(&app, Started::clone(started), outcome);
                ctl.0.notify_one();
                std::future::pending::<()>().await;
            }
            // Without a connection handle (in-process router), answer 502 as the closest thing.
            ApiError::from_status(StatusCode::BAD_GATEWAY).into_response()
        }
        Some("rate_limit") => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests (injected).",
        )
        .retry_after(f.retry_after_seconds.unwrap_or(1))
        .into_response(),
        _ => match f.status {
            Some(s) => {
                let st = StatusCode::from_u16(s).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                let mut e = ApiError::from_status(st);
                e.message = format!("{} (injected fault)", e.message);
                if s == 429 || s == 503 {
                    e = e.retry_after(f.retry_after_seconds.unwrap_or(1));
                }
                e.into_response()
            }
            None => run(inner, req).await,
        },
    };
    resp.extensions_mut().insert(fired);
    resp
}

/// `ROUTE[ action=…][ status=…][ latency_ms=…]`, as the journal shows it.
fn describe(f: &Fault) -> String {
    let mut d = f.route.clone();
    if let Some(a) = &f.action {
        d += &format!(" action={a}");
    }
    if let Some(s) = f.status {
        d += &format!(" status={s}");
    }
    if let Some(l) = f.latency_ms {
        d += &format!(" latency_ms={l}");
    }
    d
}
