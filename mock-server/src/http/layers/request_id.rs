//! The request id: a fresh `req_…` for every request, in scope while it is handled (error envelopes and
//! the journal read it: [`current_request_id`](crate::http::envelope::current_request_id)) and on the
//! response's `X-Request-Id`.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::domain::ids;
use crate::http::envelope::REQUEST_ID;

/// The layer.
pub async fn layer(req: Request, next: Next) -> Response {
    let rid = ids::new_id("req_");
    let header = HeaderValue::from_str(&rid).unwrap_or(HeaderValue::from_static("req_"));
    let mut resp = REQUEST_ID.scope(rid, next.run(req)).await;
    resp.headers_mut().insert("x-request-id", header);
    resp
}
