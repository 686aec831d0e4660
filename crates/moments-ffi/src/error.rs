//! The one error type of the mobile SDKs, and its typed code.
//!
//! Kotlin sees it as `MomentsException` (a sealed class), Swift as `MomentsError` (an enum). The kind (the
//! variant) says what failed; every variant carries the same fields, so app code reads them alike:
//!
//! - `code`: an [`ErrorCode`]. For errors answered by the API it is the API's code (`FrequencyCapReached`,
//!   `CampaignNotLive`, … see docs/api.md); for local failures `NetworkError`, `Timeout`, `InvalidResponse`,
//!   `TokenProviderFailed`, `Cancelled`, `InvalidArgument`, `BlockingCallOnSdkThread` (a
//!   `BlockingMomentsClient` call made on an SDK thread), the outbox's codes, or `InternalError`. A code this
//!   SDK version does not know is `Unknown` (its wire spelling is in `reason`).
//! - `reason`: a human-readable English sentence (never a token or key).
//! - `request_id`: the server's `req_…` id when the server answered.
//! - `retryable`: whether the same call may succeed later unchanged.
//! - `http_status`: the HTTP status of the answer, when there was one.
//!
//! (The field is `reason`, not `message`, because `message` clashes with Kotlin's `Throwable.message`.)

use uniffi::UnexpectedUniFFICallbackError;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $wire:literal, )*) => {
        /// What went wrong, as a stable, machine-readable code. New codes may be added: a code this SDK version
        /// does not know is `Unknown`.
        #[derive(uniffi::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code this SDK version does not know (the error's `reason` names it).
            Unknown,
        }

        impl ErrorCode {
            /// The wire spelling (`frequency_cap_reached`); `unknown` for [`ErrorCode::Unknown`].
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown => "unknown",
                }
            }

            /// The code of a wire spelling; `Unknown` for one this version does not know.
            pub fn from_wire(code: &str) -> Self {
                match code {
                    $( $wire => Self::$variant, )*
                    _ => Self::Unknown,
                }
            }
        }
    };
}

error_codes! {
    // Answered by the API (moments_client::ErrorCode, docs/api.md).
    /// The request body is not JSON or not the expected shape.
    InvalidJson = "invalid_json",
    /// A field is missing, of the wrong type or out of range; the error's `param` names it.
    ValidationError = "validation_error",
    /// A reported action without an idempotency key.
    IdempotencyKeyRequired = "idempotency_key_required",
    /// No credential was sent.
    AuthenticationRequired = "authentication_required",
    /// The credential is unknown or revoked.
    InvalidApiKey = "invalid_api_key",
    /// The customer token expired.
    TokenExpired = "token_expired",
    /// The credential may not do this.
    Forbidden = "forbidden",
    /// The moment may only be reported by the brand's server, not by the app.
    MomentNotClientReportable = "moment_not_client_reportable",
    /// Unknown id, or another app's.
    ResourceNotFound = "resource_not_found",
    /// No such API path.
    RouteNotFound = "route_not_found",
    /// The path exists, the method does not.
    MethodNotAllowed = "method_not_allowed",
    /// The same idempotency key was used for another request (or another action, in the outbox).
    IdempotencyConflict = "idempotency_conflict",
    /// The same idempotency key is still being processed.
    IdempotencyInProgress = "idempotency_in_progress",
    /// The call is not allowed in the current status.
    InvalidStateTransition = "invalid_state_transition",
    /// The reward is not `issued` or `flagged`.
    RewardNotCancellable = "reward_not_cancellable",
    /// The reward link was used.
    RewardAlreadyRedeemed = "reward_already_redeemed",
    /// The reward expired.
    RewardExpired = "reward_expired",
    /// The reward is cancelled, blocked or flagged.
    RewardNotRedeemable = "reward_not_redeemable",
    /// The request body (or an outbox action) is too large.
    PayloadTooLarge = "payload_too_large",
    /// The request body is not JSON.
    UnsupportedMediaType = "unsupported_media_type",
    /// The campaign is not live (nor approved, for test mode).
    CampaignNotLive = "campaign_not_live",
    /// The campaign's monthly budget would be exceeded.
    BudgetExhausted = "budget_exhausted",
    /// The account's monthly cap would be exceeded.
    AccountBudgetExhausted = "account_budget_exhausted",
    /// No item of the reward group has stock.
    InventoryExhausted = "inventory_exhausted",
    /// The customer's marketplace is not targeted.
    MarketplaceNotAllowed = "marketplace_not_allowed",
    /// No reward group serves the customer's segment.
    SegmentNotTargeted = "segment_not_targeted",
    /// The customer already got the maximum rewards for this moment.
    FrequencyCapReached = "frequency_cap_reached",
    /// The reward is held for fraud review.
    FlaggedForReview = "flagged_for_review",
    /// Too many actions for this customer, device or IP address.
    VelocityLimitExceeded = "velocity_limit_exceeded",
    /// Too many requests.
    RateLimited = "rate_limited",
    /// A bug, in the server or in the SDK (caught before it could crash the app).
    InternalError = "internal_error",
    /// The API is temporarily unavailable.
    ServiceUnavailable = "service_unavailable",
    // Local failures.
    /// No connection to the API, or the connection failed.
    NetworkError = "network_error",
    /// The request or the whole call took longer than its timeout.
    Timeout = "timeout",
    /// The API's answer could not be read.
    InvalidResponse = "invalid_response",
    /// The app's token provider failed or returned an unusable token.
    TokenProviderFailed = "token_provider_failed",
    /// The call was cancelled.
    Cancelled = "cancelled",
    /// An argument or the configuration is invalid.
    InvalidArgument = "invalid_argument",
    /// A blocking call was made on one of the SDK's own threads (inside a listener, token provider or log sink).
    BlockingCallOnSdkThread = "blocking_call_on_sdk_thread",
    // The on-device outbox.
    /// The outbox refused the action as invalid.
    InvalidAction = "invalid_action",
    /// The idempotency key is not 1–255 printable ASCII characters.
    InvalidIdempotencyKey = "invalid_idempotency_key",
    /// The outbox file is already open (one outbox per file at a time).
    OutboxAlreadyOpen = "outbox_already_open",
    /// The outbox holds as many actions as it may.
    OutboxFull = "outbox_full",
    /// The outbox was closed.
    OutboxClosed = "outbox_closed",
    /// The outbox file could not be read or written.
    OutboxStorage = "outbox_storage",
    /// The outbox file was written by a newer SDK.
    OutboxUnsupportedSchema = "outbox_unsupported_schema",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&moments_client::ErrorCode> for ErrorCode {
    fn from(code: &moments_client::ErrorCode) -> Self {
        Self::from_wire(code.as_str())
    }
}

/// The error of every fallible call of the Moments SDK. The variant is the kind of failure; every variant
/// carries the same fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum MomentsError {
    /// The Rewards API refused the request; `code` is the API's error code.
    #[error("{code}: {reason}")]
    Api {
        code: ErrorCode,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
        /// The HTTP status of the answer.
        http_status: Option<i32>,
        /// The offending field for validation errors.
        param: Option<String>,
    },
    /// The request got no usable answer: connection failure, timeout, unreadable answer.
    #[error("{code}: {reason}")]
    Network {
        code: ErrorCode,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
        http_status: Option<i32>,
    },
    /// The app's `TokenProvider` threw or returned an unusable token (code `TokenProviderFailed`).
    #[error("{code}: {reason}")]
    TokenProvider {
        code: ErrorCode,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
        http_status: Option<i32>,
    },
    /// The call was cancelled through a `CancellationToken` or `MomentsClient.cancelAll()` (code `Cancelled`).
    #[error("{code}: {reason}")]
    Cancelled {
        code: ErrorCode,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
        http_status: Option<i32>,
    },
    /// An argument or the configuration is invalid (code `InvalidArgument`, or the outbox's codes for an
    /// action or key it refuses), or a blocking call was made on one of the SDK's own threads (code
    /// `BlockingCallOnSdkThread`).
    #[error("{code}: {reason}")]
    InvalidArgument {
        code: ErrorCode,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
        http_status: Option<i32>,
    },
    /// The on-device outbox could not store or read an action: full, closed, unreadable, or from a newer
    /// SDK (codes `OutboxFull`, `OutboxClosed`, `OutboxStorage`, `OutboxUnsupportedSchema`).
    #[error("{code}: {reason}")]
    Storage {
        code: ErrorCode,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
        http_status: Option<i32>,
    },
    /// A bug in the SDK, caught before it could crash the app (code `InternalError`).
    #[error("{code}: {reason}")]
    Internal {
        code: ErrorCode,
        reason: String,
        request_id: Option<String>,
        retryable: bool,
        http_status: Option<i32>,
    },
}

/// The kinds of [`MomentsError`] without an HTTP answer of their own, for the constructors below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Network,
    TokenProvider,
    Cancelled,
    InvalidArgument,
    Storage,
    Internal,
}

impl MomentsError {
    /// An error of `kind` without a request id or HTTP status.
    pub(crate) fn local(
        kind: Kind,
        code: ErrorCode,
        reason: impl Into<String>,
        retryable: bool,
    ) -> Self {
        let reason = reason.into();
        let (request_id, http_status) = (None, None);
        match kind {
            Kind::Network => Self::Network {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            },
            Kind::TokenProvider => Self::TokenProvider {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            },
            Kind::Cancelled => Self::Cancelled {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            },
            Kind::InvalidArgument => Self::InvalidArgument {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            },
            Kind::Storage => Self::Storage {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            },
            Kind::Internal => Self::Internal {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            },
        }
    }

    /// The fields every kind carries: code, reason, request id, retryable, HTTP status.
    fn common(&self) -> (ErrorCode, &str, Option<&str>, bool, Option<i32>) {
        match self {
            Self::Api {
                code,
                reason,
                request_id,
                retryable,
                http_status,
                ..
            }
            | Self::Network {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            }
            | Self::TokenProvider {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            }
            | Self::Cancelled {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            }
            | Self::InvalidArgument {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            }
            | Self::Storage {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            }
            | Self::Internal {
                code,
                reason,
                request_id,
                retryable,
                http_status,
            } => (
                *code,
                reason,
                request_id.as_deref(),
                *retryable,
                *http_status,
            ),
        }
    }

    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        self.common().0
    }

    /// The human-readable reason.
    pub fn reason(&self) -> &str {
        self.common().1
    }

    /// The server's request id, when the server answered.
    pub fn request_id(&self) -> Option<&str> {
        self.common().2
    }

    /// Whether the same call may succeed later unchanged.
    pub fn retryable(&self) -> bool {
        self.common().3
    }

    /// The HTTP status of the answer, when there was one.
    pub fn http_status(&self) -> Option<i32> {
        self.common().4
    }

    pub(crate) fn cancelled() -> Self {
        Self::local(
            Kind::Cancelled,
            ErrorCode::Cancelled,
            "the call was cancelled",
            false,
        )
    }

    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        Self::local(Kind::Internal, ErrorCode::InternalError, reason, false)
    }

    pub(crate) fn invalid_argument(reason: impl Into<String>) -> Self {
        Self::local(
            Kind::InvalidArgument,
            ErrorCode::InvalidArgument,
            reason,
            false,
        )
    }

    pub(crate) fn token_provider(reason: impl Into<String>, retryable: bool) -> Self {
        Self::local(
            Kind::TokenProvider,
            ErrorCode::TokenProviderFailed,
            reason,
            retryable,
        )
    }
}

/// An exception of an unexpected type thrown by app code inside a callback (for example a `RuntimeException`
/// in a Kotlin `TokenProvider`). It surfaces as `TokenProvider` / `TokenProviderFailed`, never as a crash.
impl From<UnexpectedUniFFICallbackError> for MomentsError {
    fn from(err: UnexpectedUniFFICallbackError) -> Self {
        Self::token_provider(format!("the app's callback failed: {}", err.reason), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_code_of_the_client_has_its_own_sdk_code() {
        for wire in [
            "invalid_json",
            "frequency_cap_reached",
            "campaign_not_live",
            "token_expired",
            "service_unavailable",
        ] {
            let client = moments_client::ErrorCode::from(wire);
            let code = ErrorCode::from(&client);
            assert_ne!(code, ErrorCode::Unknown, "{wire}");
            assert_eq!(code.as_str(), wire);
        }
        assert_eq!(
            ErrorCode::from_wire("a_code_from_the_future"),
            ErrorCode::Unknown
        );
    }

    #[test]
    fn every_kind_exposes_the_common_fields() {
        let api = MomentsError::Api {
            code: ErrorCode::RateLimited,
            reason: "slow down".into(),
            request_id: Some("req_1".into()),
            retryable: true,
            http_status: Some(429),
            param: None,
        };
        assert_eq!(
            (
                api.code(),
                api.reason(),
                api.request_id(),
                api.retryable(),
                api.http_status()
            ),
            (
                ErrorCode::RateLimited,
                "slow down",
                Some("req_1"),
                true,
                Some(429)
            )
        );
        assert_eq!(api.to_string(), "rate_limited: slow down");
        let local = MomentsError::cancelled();
        assert_eq!(
            (local.code(), local.request_id(), local.http_status()),
            (ErrorCode::Cancelled, None, None)
        );
    }
}
