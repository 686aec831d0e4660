//! The domain's one error: a stable code, a message, the offending field, whether a retry can help
//! and the HTTP status it answers with ([`crate::http::envelope`] renders it as the error envelope).

use http::StatusCode;

/// An API error.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Message (never contains secrets).
    pub message: String,
    /// Offending field.
    pub param: Option<String>,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            param: None,
            retry_after: None,
        }
    }
    /// Sets `param`.
    pub fn param(mut self, p: impl Into<String>) -> Self {
        self.param = Some(p.into());
        self
    }
    /// Sets `Retry-After`.
    pub fn retry_after(mut self, s: u64) -> Self {
        self.retry_after = Some(s.max(1));
        self
    }
    /// Whether a client may retry unchanged.
    pub fn retryable(&self) -> bool {
        matches!(self.status.as_u16(), 429 | 500 | 502 | 503 | 504)
            || self.code == "idempotency_in_progress"
    }
    /// `400 validation_error` naming `param`.
    pub fn validation(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_error", message).param(param)
    }
    /// `404 resource_not_found`.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            format!("No {what} with id {id}."),
        )
    }
    /// `403 forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// `409 invalid_state_transition`.
    pub fn transition(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "invalid_state_transition", message).param("status")
    }
    /// `422` with a business code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    /// The generic error for a bare status (used to wrap framework answers).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, msg) = match status.as_u16() {
            400 => ("invalid_json", "The request could not be parsed."),
            401 => ("authentication_required", "Authentication required."),
            403 => ("forbidden", "Forbidden."),
            404 => ("route_not_found", "No such route."),
            405 => (
                "method_not_allowed",
                "This path does not accept this method.",
            ),
            413 => ("payload_too_large", "The request body is over 64 KiB."),
            415 => (
                "unsupported_media_type",
                "The body must be application/json.",
            ),
            429 => ("rate_limited", "Too many requests."),
            431 => (
                "headers_too_large",
                "Request headers are over 16 KiB in total.",
            ),
            503 => (
                "service_unavailable",
                "The service is temporarily unavailable.",
            ),
            s if s >= 500 => ("internal_error", "Internal error."),
            _ => ("invalid_request", "The request was not accepted."),
        };
        Self::new(status, code, msg)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}
