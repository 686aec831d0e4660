//! The one error type of the crate.
//!
//! Every fallible call returns [`Error`]. Inspect it with the predicates ([`Error::is_retryable`],
//! [`Error::is_timeout`], [`Error::may_have_reached_server`]) and accessors ([`Error::code`],
//! [`Error::request_id`], [`Error::status`]), or match on [`Error::kind`].
//!
//! No error ever contains a secret key, customer token or legacy API key: messages are built from
//! the server's answer and from static text only.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `Result` of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error from code outside this crate (for example a [`TokenProvider`](crate::TokenProvider)).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Any failure of a Moments API call, webhook verification or client configuration.
pub struct Error {
    kind: Box<ErrorKind>,
}

/// What went wrong. Matching is possible, but prefer the predicates on [`Error`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The API answered with an error envelope (or an unexpected status).
    Api(ApiError),
    /// A timeout: one attempt, or the whole call (retries included).
    Timeout {
        /// `true` when the whole-call deadline expired, `false` for one attempt's.
        total: bool,
        /// Whether the request may have been received by the server.
        may_have_reached_server: bool,
    },
    /// The connection could not be opened (DNS, TCP). The request was never sent.
    Connect {
        /// The underlying error, reduced to text (no URL credentials are ever in it).
        message: String,
    },
    /// The TLS handshake failed, most often because the server's certificate was refused: not
    /// trusted by the platform nor by an added root
    /// ([`ClientBuilder::add_trusted_certificate`](crate::ClientBuilder::add_trusted_certificate)),
    /// expired, or for another host name. The request was never sent, and sending it again does not
    /// help.
    Tls {
        /// What the TLS layer said, e.g. `invalid peer certificate: UnknownIssuer`.
        message: String,
    },
    /// The connection failed after the request may have been sent (reset, broken pipe, …).
    Transport {
        /// The underlying error, reduced to text.
        message: String,
    },
    /// The server answered 2xx but the body did not decode into the expected type.
    Decode {
        /// HTTP status of the answer.
        status: u16,
        /// `X-Request-Id` of the answer.
        request_id: Option<String>,
        /// What serde said.
        message: String,
    },
    /// The client was configured or called with invalid input; nothing was sent.
    InvalidConfig(String),
    /// The application's [`TokenProvider`](crate::TokenProvider) failed.
    TokenProvider {
        /// The provider's error.
        source: BoxError,
    },
    /// A webhook failed verification.
    WebhookSignature(WebhookSignatureError),
}

/// Why a webhook signature was refused by [`webhooks::verify`](crate::webhooks::verify).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookSignatureError {
    /// The `Moments-Signature` header is missing a `t=` or any `v1=` entry, or is not parseable.
    MalformedHeader,
    /// No `v1=` signature matches the payload and secret.
    NoMatchingSignature,
    /// The timestamp is outside the tolerance window (`age_seconds` may be negative: from the future).
    TimestampOutsideTolerance {
        /// `now - t`, in seconds.
        age_seconds: i64,
    },
    /// The signature is valid but the payload is not a Moments event.
    InvalidPayload(String),
}

impl fmt::Display for WebhookSignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedHeader => f.write_str("malformed Moments-Signature header"),
            Self::NoMatchingSignature => f.write_str("no signature matches the payload"),
            Self::TimestampOutsideTolerance { age_seconds } => {
                write!(
                    f,
                    "signature timestamp outside the tolerance window (age {age_seconds} s)"
                )
            }
            Self::InvalidPayload(m) => write!(f, "invalid event payload: {m}"),
        }
    }
}

/// An error answered by the API (the JSON error envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The stable error code; codes this version does not know are kept in [`ErrorCode::Unknown`].
    pub code: ErrorCode,
    /// Human-readable message from the server.
    pub message: String,
    /// The offending field, as a JSON path into the request or a query/header name.
    pub param: Option<String>,
    /// The request id (`req_…`), from the envelope or the `X-Request-Id` header.
    pub request_id: Option<String>,
    /// Whether the same request may succeed later unchanged.
    pub retryable: bool,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Builds an API error (mainly for tests and for layers that wrap this client).
    pub fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        let retryable = code.is_retryable() || is_retryable_status(status);
        Self {
            status,
            code,
            message: message.into(),
            param: None,
            request_id: None,
            retryable,
            retry_after: None,
        }
    }
}

/// `true` for the statuses the contract calls retryable: 429, 500, 502, 503, 504.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $s:literal, retryable = $r:literal; )*) => {
        /// The API's stable error codes. Unknown codes decode into [`ErrorCode::Unknown`] with the
        /// original string, so nothing is lost when the server adds one.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code this version of the client does not know (kept verbatim).
            Unknown(String),
        }

        impl ErrorCode {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $s, )*
                    Self::Unknown(s) => s,
                }
            }

            /// Whether the contract marks this code retryable.
            pub fn is_retryable(&self) -> bool {
                match self {
                    $( Self::$variant => $r, )*
                    Self::Unknown(_) => false,
                }
            }
        }

        impl From<&str> for ErrorCode {
            fn from(s: &str) -> Self {
                match s {
                    $( $s => Self::$variant, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    /// Body is not JSON or not the expected shape.
    InvalidJson = "invalid_json", retryable = false;
    /// A field is missing, of the wrong type or out of range; `param` names it.
    ValidationError = "validation_error", retryable = false;
    /// `POST /v1/triggers` without `Idempotency-Key`.
    IdempotencyKeyRequired = "idempotency_key_required", retryable = false;
    /// No credential.
    AuthenticationRequired = "authentication_required", retryable = false;
    /// Unknown or revoked credential.
    InvalidApiKey = "invalid_api_key", retryable = false;
    /// The customer token expired.
    TokenExpired = "token_expired", retryable = false;
    /// The credential may not do this.
    Forbidden = "forbidden", retryable = false;
    /// Customer token on a moment that is not client reportable.
    MomentNotClientReportable = "moment_not_client_reportable", retryable = false;
    /// Unknown id, or another app's.
    ResourceNotFound = "resource_not_found", retryable = false;
    /// No such path.
    RouteNotFound = "route_not_found", retryable = false;
    /// Path exists, method does not.
    MethodNotAllowed = "method_not_allowed", retryable = false;
    /// Same `Idempotency-Key`, other request.
    IdempotencyConflict = "idempotency_conflict", retryable = false;
    /// Same key still being processed.
    IdempotencyInProgress = "idempotency_in_progress", retryable = true;
    /// Lifecycle call not allowed in the current status.
    InvalidStateTransition = "invalid_state_transition", retryable = false;
    /// The reward is not `issued` or `flagged`.
    RewardNotCancellable = "reward_not_cancellable", retryable = false;
    /// The reward link was used.
    RewardAlreadyRedeemed = "reward_already_redeemed", retryable = false;
    /// The reward expired.
    RewardExpired = "reward_expired", retryable = false;
    /// The reward is cancelled, blocked or flagged.
    RewardNotRedeemable = "reward_not_redeemable", retryable = false;
    /// Body over 64 KiB.
    PayloadTooLarge = "payload_too_large", retryable = false;
    /// A body that is not JSON.
    UnsupportedMediaType = "unsupported_media_type", retryable = false;
    /// The campaign is not live (nor approved, for test mode).
    CampaignNotLive = "campaign_not_live", retryable = false;
    /// The campaign's monthly budget would be exceeded.
    BudgetExhausted = "budget_exhausted", retryable = false;
    /// The account's monthly cap would be exceeded.
    AccountBudgetExhausted = "account_budget_exhausted", retryable = false;
    /// No item of the reward group has stock.
    InventoryExhausted = "inventory_exhausted", retryable = false;
    /// The marketplace is not targeted.
    MarketplaceNotAllowed = "marketplace_not_allowed", retryable = false;
    /// No reward group serves the segment.
    SegmentNotTargeted = "segment_not_targeted", retryable = false;
    /// The customer already got the maximum rewards for this moment.
    FrequencyCapReached = "frequency_cap_reached", retryable = false;
    /// The reward is held for fraud review.
    FlaggedForReview = "flagged_for_review", retryable = false;
    /// Too many actions for this customer / device / IP.
    VelocityLimitExceeded = "velocity_limit_exceeded", retryable = true;
    /// Too many requests.
    RateLimited = "rate_limited", retryable = true;
    /// A server bug.
    InternalError = "internal_error", retryable = true;
    /// Temporarily unavailable.
    ServiceUnavailable = "service_unavailable", retryable = true;
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ErrorCode::from(s.as_str()))
    }
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            kind: Box::new(kind),
        }
    }

    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidConfig(msg.into()))
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The API error, when the server answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match &*self.kind {
            ErrorKind::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The API error code, when the server answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.api_error().map(|e| &e.code)
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match &*self.kind {
            ErrorKind::Api(e) => Some(e.status),
            ErrorKind::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The request id (`req_…`) of the answer, to quote in a support request.
    pub fn request_id(&self) -> Option<&str> {
        match &*self.kind {
            ErrorKind::Api(e) => e.request_id.as_deref(),
            ErrorKind::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api_error().and_then(|e| e.retry_after)
    }

    /// Whether the same request may succeed if sent again unchanged (with the same idempotency key):
    /// 429, 500, 502, 503, 504, retryable codes, connection failures and timeouts.
    pub fn is_retryable(&self) -> bool {
        match &*self.kind {
            ErrorKind::Api(e) => {
                e.retryable || e.code.is_retryable() || is_retryable_status(e.status)
            }
            ErrorKind::Timeout { .. } | ErrorKind::Connect { .. } | ErrorKind::Transport { .. } => {
                true
            }
            ErrorKind::TokenProvider { .. } => false,
            _ => false,
        }
    }

    /// Whether this is a timeout (of one attempt or of the whole call).
    pub fn is_timeout(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Timeout { .. })
    }

    /// Whether the connection could not be opened (DNS, TCP; not TLS, see [`Error::is_tls`]).
    pub fn is_connect(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Connect { .. })
    }

    /// Whether the TLS handshake failed, for example on a server certificate that is not trusted
    /// ([`ErrorKind::Tls`]).
    pub fn is_tls(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Tls { .. })
    }

    /// Whether the request may have been received (and acted on) by the server. `false` only when it
    /// certainly was not: invalid configuration, connection and TLS failures, token provider failures.
    pub fn may_have_reached_server(&self) -> bool {
        match &*self.kind {
            ErrorKind::Api(_) | ErrorKind::Decode { .. } | ErrorKind::Transport { .. } => true,
            ErrorKind::Timeout {
                may_have_reached_server,
                ..
            } => *may_have_reached_server,
            _ => false,
        }
    }

    /// Whether the credential was refused (401).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::Api(e) => {
                write!(
                    f,
                    "Moments API error {} {}: {}",
                    e.status, e.code, e.message
                )?;
                if let Some(p) = &e.param {
                    write!(f, " (param: {p})")?;
                }
                if let Some(r) = &e.request_id {
                    write!(f, " [request id {r}]")?;
                }
                Ok(())
            }
            ErrorKind::Timeout { total: true, .. } => f.write_str("the call timed out"),
            ErrorKind::Timeout { total: false, .. } => f.write_str("the request attempt timed out"),
            ErrorKind::Connect { message } => write!(f, "could not connect: {message}"),
            ErrorKind::Tls { message } => write!(f, "TLS handshake failed: {message}"),
            ErrorKind::Transport { message } => write!(f, "connection failed: {message}"),
            ErrorKind::Decode {
                status,
                request_id,
                message,
            } => {
                write!(f, "could not decode the {status} answer: {message}")?;
                if let Some(r) = request_id {
                    write!(f, " [request id {r}]")?;
                }
                Ok(())
            }
            ErrorKind::InvalidConfig(m) => write!(f, "invalid configuration: {m}"),
            ErrorKind::TokenProvider { source } => write!(f, "the token provider failed: {source}"),
            ErrorKind::WebhookSignature(e) => write!(f, "webhook rejected: {e}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error").field("kind", &self.kind).finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::TokenProvider { source } => Some(&**source),
            _ => None,
        }
    }
}

impl From<WebhookSignatureError> for Error {
    fn from(e: WebhookSignatureError) -> Self {
        Error::new(ErrorKind::WebhookSignature(e))
    }
}

/// Reduces a reqwest error to text without its URL (which never carries secrets, but keep it short).
pub(crate) fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut msg = e.without_url_ref_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

trait WithoutUrl {
    fn without_url_ref_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref_string(&self) -> String {
        if self.is_connect() {
            "connection error".into()
        } else if self.is_timeout() {
            "timeout".into()
        } else if self.is_body() {
            "body error".into()
        } else if self.is_request() {
            "request error".into()
        } else {
            "transport error".into()
        }
    }
}
