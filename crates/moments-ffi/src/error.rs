//! The one error type of the mobile SDKs.
//!
//! Kotlin sees it as `MomentsException` (a sealed class), Swift as `MomentsError` (an enum). Every variant
//! carries the same four fields so app code can treat them alike:
//!
//! - `code`: a stable, machine-readable string. For errors answered by the API it is the API's code
//!   (`frequency_cap_reached`, `campaign_not_live`, … see docs/api.md); for local failures one of
//!   `network_error`, `timeout`, `invalid_response`, `token_provider_failed`, `cancelled`, `invalid_argument`,
//!   `blocking_call_on_sdk_thread` (a `BlockingMomentsClient` call made on an SDK thread), `internal_error`.
//! - `reason`: a human-readable English sentence (never a token or key).
//! - `request_id`: the server's `req_…` id when the server answered.
//! - `retryable`: whether the same call may succeed later unchanged.
//!
//! (The field is `reason`, not `message`, because `message` clashes with Kotlin's `Throwable.message`.)

use uniffi::UnexpectedUniFFICallbackError;

/// The error of every fallible call of the Moments SDK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum MomentsError {
    /// The Rewards API refused the request; `code` is the API's error code.
    #[error("{code}: {reason}")]
    Api {
        code: String,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
        /// The HTTP status of the answer.
        http_status: u16,
        /// The offending field for validation errors.
        param: Option<String>,
    },
    /// The request got no usable answer: connection failure, timeout, unreadable answer.
    #[error("{code}: {reason}")]
    Network {
        code: String,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
    },
    /// The app's `TokenProvider` threw or returned an unusable token (code `token_provider_failed`).
    #[error("{code}: {reason}")]
    TokenProvider {
        code: String,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
    },
    /// The call was cancelled through a `CancellationToken` or `MomentsClient.cancelAll()` (code `cancelled`).
    #[error("{code}: {reason}")]
    Cancelled {
        code: String,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
    },
    /// An argument or the configuration is invalid (code `invalid_argument`), or a blocking call was made on one
    /// of the SDK's own threads (code `blocking_call_on_sdk_thread`).
    #[error("{code}: {reason}")]
    InvalidArgument {
        code: String,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
    },
    /// The on-device outbox could not store or read an action: full, closed, unreadable, or from a newer
    /// SDK (codes `outbox_full`, `outbox_closed`, `outbox_storage`, `outbox_unsupported_schema`).
    #[error("{code}: {reason}")]
    Storage {
        code: String,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
    },
    /// A bug in the SDK, caught before it could crash the app (code `internal_error`).
    #[error("{code}: {reason}")]
    Internal {
        code: String,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
    },
}

impl MomentsError {
    /// The stable error code.
    pub fn code(&self) -> &str {
        match self {
            Self::Api { code, .. }
            | Self::Network { code, .. }
            | Self::TokenProvider { code, .. }
            | Self::Cancelled { code, .. }
            | Self::InvalidArgument { code, .. }
            | Self::Storage { code, .. }
            | Self::Internal { code, .. } => code,
        }
    }

    /// The human-readable reason.
    pub fn reason(&self) -> &str {
        match self {
            Self::Api { reason, .. }
            | Self::Network { reason, .. }
            | Self::TokenProvider { reason, .. }
            | Self::Cancelled { reason, .. }
            | Self::InvalidArgument { reason, .. }
            | Self::Storage { reason, .. }
            | Self::Internal { reason, .. } => reason,
        }
    }

    /// The server's request id, when the server answered.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api { request_id, .. }
            | Self::Network { request_id, .. }
            | Self::TokenProvider { request_id, .. }
            | Self::Cancelled { request_id, .. }
            | Self::InvalidArgument { request_id, .. }
            | Self::Storage { request_id, .. }
            | Self::Internal { request_id, .. } => request_id.as_deref(),
        }
    }

    /// Whether the same call may succeed later unchanged.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Api { retryable, .. }
            | Self::Network { retryable, .. }
            | Self::TokenProvider { retryable, .. }
            | Self::Cancelled { retryable, .. }
            | Self::InvalidArgument { retryable, .. }
            | Self::Storage { retryable, .. }
            | Self::Internal { retryable, .. } => *retryable,
        }
    }

    pub(crate) fn cancelled() -> Self {
        Self::Cancelled {
            code: "cancelled".into(),
            reason: "the call was cancelled".into(),
            request_id: None,
            retryable: false,
        }
    }

    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        Self::Internal {
            code: "internal_error".into(),
            reason: reason.into(),
            request_id: None,
            retryable: false,
        }
    }

    pub(crate) fn invalid_argument(reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            code: "invalid_argument".into(),
            reason: reason.into(),
            request_id: None,
            retryable: false,
        }
    }

    pub(crate) fn token_provider(reason: impl Into<String>, retryable: bool) -> Self {
        Self::TokenProvider {
            code: "token_provider_failed".into(),
            reason: reason.into(),
            request_id: None,
            retryable,
        }
    }
}

/// An exception of an unexpected type thrown by app code inside a callback (for example a `RuntimeException`
/// in a Kotlin `TokenProvider`). It surfaces as `TokenProvider` / `token_provider_failed`, never as a crash.
impl From<UnexpectedUniFFICallbackError> for MomentsError {
    fn from(err: UnexpectedUniFFICallbackError) -> Self {
        Self::token_provider(format!("the app's callback failed: {}", err.reason), true)
    }
}
