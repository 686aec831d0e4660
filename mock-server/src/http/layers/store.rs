//! The persistent store's layer, innermost: with a store ([`crate::sync`]) a request that may
//! change the sandbox (any method but `GET`, `HEAD` and `OPTIONS`) is one entry of its log,
//! handled inside the store's write transaction; any other request first applies what other
//! instances committed. With the in-memory store it hands every request on untouched.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::{Layer, Service};

use crate::app::AppState;
use crate::http::layers::{OrBoxed, take_ready};

/// See the module.
#[derive(Clone)]
pub struct StoreLayer(pub AppState);

impl<S> Layer<S> for StoreLayer {
    type Service = StoreService<S>;

    fn layer(&self, inner: S) -> StoreService<S> {
        StoreService {
            app: self.0.clone(),
            inner,
        }
    }
}

/// The service of [`StoreLayer`].
#[derive(Clone)]
pub struct StoreService<S> {
    app: AppState,
    inner: S,
}

/// Whether a request may change the sandbox. The console's sign-in and sign-out change only its
/// sessions, which each instance keeps.
pub fn is_write(req: &Request) -> bool {
    !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !matches!(req.uri().path(), "/console/sign-in" | "/console/sign-out")
}

impl<S> Service<Request> for StoreService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = OrBoxed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The health check reports the store itself, reachable or not.
        if self.app.sync().is_none()
            || crate::domain::applying::active()
            || crate::http::layers::is_health(&req)
        {
            return futures_util::future::Either::Left(self.inner.call(req));
        }
        let app = self.app.clone();
        let inner = take_ready(&mut self.inner);
        let fut: BoxFuture<'static, Result<Response, Infallible>> = Box::pin(async move {
            if is_write(&req) {
                return Ok(crate::sync::write_request(&app, inner, req).await);
            }
            if let Err(e) = crate::sync::catch_up(&app).await {
                return Ok(crate::sync::unavailable(&e).into_response());
            }
            let mut inner = inner;
            inner.call(req).await
        });
        futures_util::future::Either::Right(fut)
    }
}
