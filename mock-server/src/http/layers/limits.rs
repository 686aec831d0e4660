//! Size limits: the request headers' total ([`HEADER_LIMIT`], `431`) and the body's
//! ([`BODY_LIMIT`], `413`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::Limited;

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
pub async fn layer(req: Request, next: Next) -> Response {
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > HEADER_LIMIT && !is_health(&req) {
        return ApiError::from_status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).into_response();
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > BODY_LIMIT as u64 => {
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE).into_response()
        }
        Some(_) => next.run(req).await,
        None => {
            next.run(req.map(|b| Body::new(Limited::new(b, BODY_LIMIT))))
                .await
        }
    }
}
