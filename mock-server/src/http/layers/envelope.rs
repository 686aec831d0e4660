//! Every error answer is the API's envelope: a bare status from the router or a library layer
//! (404, 405, 413, …) becomes [`ApiError`]'s envelope, keeping a `Retry-After` it carried. HTML
//! answers (the reward link's pages) are left alone.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::domain::errors::ApiError;
use crate::http::envelope::Enveloped;
use crate::http::layers::{After, RouteOf, Then};

/// The layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct EnvelopeLayer;

impl<S> Layer<S> for EnvelopeLayer {
    type Service = Envelope<S>;

    fn layer(&self, inner: S) -> Envelope<S> {
        Envelope(inner)
    }
}

/// The service of [`EnvelopeLayer`].
#[derive(Clone, Debug)]
pub struct Envelope<S>(S);

impl<S> Service<Request> for Envelope<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Then<S::Future, Wrap>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let served_route = RouteOf::of(&req).is_some();
        Then::new(self.0.call(req), Wrap { served_route })
    }
}

/// Turns an error answer that is not an envelope yet into one.
pub struct Wrap {
    /// The path is a served route (a `404` there is a missing resource, not a missing route).
    served_route: bool,
}

impl After for Wrap {
    fn after(self, resp: Response) -> Response {
        let is_html = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/html"));
        if resp.status().as_u16() < 400 || resp.extensions().get::<Enveloped>().is_some() || is_html
        {
            return resp;
        }
        let e = if resp.status() == StatusCode::NOT_FOUND && self.served_route {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "resource_not_found",
                "No such resource.",
            )
        } else {
            ApiError::from_status(resp.status())
        };
        let retry = resp.headers().get(header::RETRY_AFTER).cloned();
        let mut out = e.into_response();
        if let Some(r) = retry {
            out.headers_mut().insert(header::RETRY_AFTER, r);
        }
        out
    }
}
