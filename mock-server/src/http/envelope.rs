//! The error envelope every route answers with on failure:
//! `{"error": {code, message, param, request_id, retryable}}`, and the request id it carries.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::errors::ApiError;

tokio::task_local! {
    /// The id of the request being handled (set by the request-id middleware).
    pub static REQUEST_ID: String;
}

/// The current request id, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(|s| s.clone()).unwrap_or_default()
}

/// The error body.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The offending field (JSON path, query or header name), if any.
    pub param: Option<String>,
    /// The request id (`req_…`).
    pub request_id: String,
    /// Whether the same request may succeed later unchanged.
    pub retryable: bool,
}

/// The error envelope every route answers with on failure.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// Marks a response whose body already is an error envelope.
#[derive(Clone, Copy, Debug)]
pub struct Enveloped;

/// The envelope of an error, carrying the current request's id.
pub fn envelope(e: &ApiError) -> ErrorEnvelope {
    ErrorEnvelope {
        error: ErrorBody {
            code: e.code.to_string(),
            message: e.message.clone(),
            param: e.param.clone(),
            request_id: current_request_id(),
            retryable: e.retryable(),
        },
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&envelope(&self)).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp.extensions_mut().insert(Enveloped);
        resp
    }
}
