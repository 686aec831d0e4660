//! Size limits: the request headers' total ([`HEADER_LIMIT`], `431`) and the body's
//! ([`BODY_LIMIT`], `413`).

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::{Either, Ready, ready};
use http_body_util::Limited;
use tower::{Layer, Service};

use crate::domain::errors::ApiError;
use crate::http::layers::is_health;

/// Maximum request body.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Maximum total size of request headers.
pub const HEADER_LIMIT: usize = 16 * 1024;

/// The limits: `431` when the headers' total (names, values and separators) is over [`HEADER_LIMIT`]
/// bytes (the health check is exempt); `413` at once for a declared `Content-Length` over [`BODY_LIMIT`].
/// A body without a declared length is read through a limit, and one that turns out longer fails when
/// read, which the idempotency layer and the JSON extractor answer with `413`. (With a declared length,
/// hyper itself refuses a body longer than declared.)
#[derive(Clone, Copy, Debug, Default)]
pub struct LimitsLayer;

impl<S> Layer<S> for LimitsLayer {
    type Service = Limits<S>;

    fn layer(&self, inner: S) -> Limits<S> {
        Limits(inner)
    }
}

/// The service of [`LimitsLayer`].
#[derive(Clone, Debug)]
pub struct Limits<S>(S);

impl<S> Service<Request> for Limits<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Ready<Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let refuse =
            |status| Either::Right(ready(Ok(ApiError::from_status(status).into_response())));
        let header_bytes: usize = req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum();
        if header_bytes > HEADER_LIMIT && !is_health(&req) {
            return refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(n) if n > BODY_LIMIT as u64 => refuse(StatusCode::PAYLOAD_TOO_LARGE),
            Some(_) => Either::Left(self.0.call(req)),
            None => Either::Left(
                self.0
                    .call(req.map(|b| Body::new(Limited::new(b, BODY_LIMIT)))),
            ),
        }
    }
}
