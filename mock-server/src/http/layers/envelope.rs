//! Every error answer is the API's envelope: a bare status from the router or a library layer
//! (404, 405, 413, …) becomes [`ApiError`]'s envelope, keeping a `Retry-After` it carried. HTML
//! answers (the reward link's pages) are left alone.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::domain::errors::ApiError;
use crate::http::envelope::Enveloped;
use crate::http::layers::RouteOf;

/// The layer.
pub async fn layer(req: Request, next: Next) -> Response {
    let served_route = RouteOf::of(&req).is_some();
    let resp = next.run(req).await;
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/html"));
    if resp.status().as_u16() < 400 || resp.extensions().get::<Enveloped>().is_some() || is_html {
        return resp;
    }
    let e = if resp.status() == StatusCode::NOT_FOUND && served_route {
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
