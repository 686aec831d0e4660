//! The one place that sends requests: credentials, request ids, idempotency keys, timeouts,
//! retries and the tracing span of each call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

use crate::auth::Auth;
use crate::client::Inner;
use crate::config::RequestOptions;
use crate::error::{ApiError, Error, ErrorCode, ErrorKind, describe_reqwest, is_retryable_status};
use crate::retry::RetryPolicy;

/// Header names of the API.
pub(crate) const REQUEST_ID: &str = "x-request-id";
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub(crate) const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
const LEGACY_KEY: &str = "x-api-key";

/// Which credential a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMode {
    /// `Authorization: Bearer` with the client's credentials.
    Bearer,
    /// No credential (redemption routes).
    None,
    /// `x-api-key` with the legacy key (compatibility endpoints).
    Legacy,
}

/// One logical call.
pub(crate) struct Call {
    pub method: Method,
    /// The route template, for tracing: `/v1/campaigns/{id}`.
    pub route: &'static str,
    /// The path segments, each percent-encoded when joined.
    pub segments: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Bytes>,
    pub auth: AuthMode,
    /// Send an `Idempotency-Key` (every `POST` under `/v1/`).
    pub idempotency_key: bool,
    /// The call may be repeated without an idempotency key (it changes nothing).
    pub naturally_idempotent: bool,
}

impl Call {
    pub(crate) fn new(method: Method, route: &'static str, segments: &[&str]) -> Self {
        let keyed = method == Method::POST && segments.first() == Some(&"v1");
        let naturally_idempotent = method == Method::GET;
        Self {
            method,
            route,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            auth: AuthMode::Bearer,
            idempotency_key: keyed,
            naturally_idempotent,
        }
    }

    pub(crate) fn query(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.query.push((name, v.to_string()));
        }
        self
    }

    pub(crate) fn json<B: serde::Serialize + ?Sized>(mut self, body: &B) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::config(format!("could not encode the request body: {e}")))?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    pub(crate) fn raw_body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    pub(crate) fn auth(mut self, auth: AuthMode) -> Self {
        self.auth = auth;
        self
    }

    pub(crate) fn naturally_idempotent(mut self, yes: bool) -> Self {
        self.naturally_idempotent = yes;
        self
    }
}

/// A 2xx answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Bytes,
    pub request_id: Option<String>,
    pub replayed: bool,
    pub idempotency_key: Option<String>,
}

impl Answer {
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(ErrorKind::Decode {
                status: self.status,
                request_id: self.request_id.clone(),
                message: e.to_string(),
            })
        })
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeBody,
}

#[derive(Deserialize)]
struct EnvelopeBody {
    code: Option<String>,
    message: Option<String>,
    param: Option<String>,
    request_id: Option<String>,
    retryable: Option<bool>,
}

/// The compatibility endpoints' failure body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyFailure {
    error_code: Option<String>,
    reward_notification_text: Option<String>,
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// `Retry-After` in seconds (the API's form). HTTP dates are not used by the API and are ignored.
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    header_str(h, "retry-after")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Builds the [`ApiError`] for a non-2xx answer.
pub(crate) fn api_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ApiError {
    let header_id = header_str(headers, REQUEST_ID);
    let retry_after = retry_after(headers);
    if let Ok(env) = serde_json::from_slice::<Envelope>(body) {
        let e = env.error;
        let code = ErrorCode::from(e.code.as_deref().unwrap_or(""));
        let retryable =
            e.retryable.unwrap_or(false) || code.is_retryable() || is_retryable_status(status);
        return ApiError {
            status,
            code,
            message: e.message.unwrap_or_default(),
            param: e.param,
            request_id: e.request_id.or(header_id),
            retryable,
            retry_after,
        };
    }
    if let Ok(l) = serde_json::from_slice::<LegacyFailure>(body)
        && let Some(c) = l.error_code
    {
        let code = ErrorCode::from(c.as_str());
        let retryable = code.is_retryable() || is_retryable_status(status);
        return ApiError {
            status,
            code,
            message: l.reward_notification_text.unwrap_or_default(),
            param: None,
            request_id: header_id,
            retryable,
            retry_after,
        };
    }
    // Not an envelope (a proxy's page, an empty body): keep the status, never the raw body.
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status");
    ApiError {
        status,
        code: ErrorCode::Unknown(String::new()),
        message: format!("HTTP {status} {reason}"),
        param: None,
        request_id: header_id,
        retryable: is_retryable_status(status),
        retry_after,
    }
}

enum AttemptError {
    /// Failed before the request could have been sent.
    NotSent(Error),
    /// Failed after it may have been sent.
    Sent(Error),
}

impl Inner {
    /// Sends `call` with retries, returning the first 2xx answer or the final error.
    pub(crate) async fn execute(&self, call: Call, opts: &RequestOptions) -> Result<Answer, Error> {
        opts.check()?;
        let key = call.idempotency_key.then(|| {
            opts.idempotency_key
                .clone()
                .unwrap_or_else(|| self.keys.next_key())
        });
        let policy = opts.retry.as_ref().unwrap_or(&self.retry);
        let total = opts.total_timeout.or(self.timeouts.total);
        let attempt_timeout = opts.attempt_timeout.or(self.timeouts.attempt);
        let deadline = total.map(|t| Instant::now() + t);
        let sent = Arc::new(AtomicBool::new(false));
        let span = tracing::info_span!(
            "moments.request",
            method = %call.method,
            route = call.route,
            attempt = Empty,
            status = Empty,
            request_id = Empty,
            replayed = Empty,
        );
        // One timer per attempt: the whole-call deadline is folded into each attempt's timeout
        // (and into the token provider's fetch) instead of wrapping the call in a second timer.
        let result = self
            .run(
                &call,
                key.as_deref(),
                policy,
                deadline,
                attempt_timeout,
                &sent,
            )
            .instrument(span.clone())
            .await;
        if let Err(e) = &result {
            span.in_scope(|| tracing::debug!(error = %e, "call failed"));
        }
        result
    }

    async fn run(
        &self,
        call: &Call,
        key: Option<&str>,
        policy: &RetryPolicy,
        deadline: Option<Instant>,
        attempt_timeout: Option<Duration>,
        sent: &AtomicBool,
    ) -> Result<Answer, Error> {
        let safe = call.naturally_idempotent || key.is_some();
        let mut attempt: u32 = 0;
        let mut refreshed_credentials = false;
        loop {
            attempt += 1;
            let span = tracing::Span::current();
            span.record("attempt", attempt);
            let bearer = match (call.auth, deadline) {
                // A fixed credential's header is ready: no fetch, no timer.
                (AuthMode::Bearer, _) if matches!(self.auth, Auth::Static(..)) => None,
                (AuthMode::Bearer, Some(d)) => tokio::time::timeout_at(d, self.auth.bearer())
                    .await
                    .map_err(|_| {
                        Error::new(ErrorKind::Timeout {
                            total: true,
                            may_have_reached_server: sent.load(Ordering::Relaxed),
                        })
                    })??,
                (AuthMode::Bearer, None) => self.auth.bearer().await?,
                _ => None,
            };
            let outcome = self
                .attempt(
                    call,
                    key,
                    bearer.as_deref(),
                    attempt_timeout,
                    deadline,
                    sent,
                )
                .await;
            let err = match outcome {
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            let (err, may_retry) = match err {
                AttemptError::NotSent(e) => {
                    let retry = e.is_connect() || (safe && e.is_retryable());
                    (e, retry)
                }
                AttemptError::Sent(e) => {
                    // A 401 on a provider token: fetch a new token once and repeat the call once.
                    if let (Auth::Provider(cache), Some(code), Some(token)) =
                        (&self.auth, e.code(), bearer.as_deref())
                        && !refreshed_credentials
                        && e.status() == Some(401)
                        && matches!(code, ErrorCode::TokenExpired | ErrorCode::InvalidApiKey)
                    {
                        refreshed_credentials = true;
                        tracing::debug!(code = %code, "credential refused; fetching a new customer token");
                        cache.invalidate(token).await;
                        attempt -= 1;
                        continue;
                    }
                    let rate_limited = e.status() == Some(429);
                    let retry = e.is_retryable() && (safe || rate_limited);
                    (e, retry)
                }
            };
            if !may_retry || attempt >= policy.max_attempts.max(1) {
                return Err(err);
            }
            let Some(delay) = policy.delay(attempt, err.retry_after()) else {
                return Err(err);
            };
            if let Some(d) = deadline
                && Instant::now() + delay >= d
            {
                // Sleeping would outlive the call's deadline: report the real failure instead.
                return Err(err);
            }
            tracing::info!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        call: &Call,
        key: Option<&str>,
        bearer: Option<&str>,
        attempt_timeout: Option<Duration>,
        deadline: Option<Instant>,
        sent: &AtomicBool,
    ) -> Result<Answer, AttemptError> {
        let mut url = self.base.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| AttemptError::NotSent(Error::config("base URL cannot be a base")))?;
            segs.pop_if_empty();
            segs.extend(call.segments.iter());
        }
        if !call.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &call.query {
                q.append_pair(k, v);
            }
        }
        let mut rb = self
            .http
            .request(call.method.clone(), url)
            .header(header::USER_AGENT, &self.user_agent)
            .header(header::ACCEPT, "application/json");
        if let Some(body) = &call.body {
            rb = rb
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(k) = key {
            rb = rb.header(IDEMPOTENCY_KEY, k);
        }
        match call.auth {
            AuthMode::Bearer => {
                let v = match (&self.auth, bearer) {
                    (Auth::Static(_, v), _) => Some(v.clone()),
                    (_, Some(t)) => Some(crate::auth::bearer_header(t)),
                    (_, None) => None,
                };
                if let Some(v) = v {
                    let v = v.ok_or_else(|| {
                        AttemptError::NotSent(Error::config(
                            "the credential has characters not allowed in a header",
                        ))
                    })?;
                    rb = rb.header(header::AUTHORIZATION, v);
                }
            }
            AuthMode::Legacy => {
                let Some(k) = &self.legacy_api_key else {
                    return Err(AttemptError::NotSent(Error::config(
                        "the compatibility endpoints need a legacy API key (ClientBuilder::legacy_api_key)",
                    )));
                };
                let mut v = HeaderValue::from_str(k.expose()).map_err(|_| {
                    AttemptError::NotSent(Error::config(
                        "the legacy API key has characters not allowed in a header",
                    ))
                })?;
                v.set_sensitive(true);
                rb = rb.header(LEGACY_KEY, v);
            }
            AuthMode::None => {}
        }
        let exchange = async {
            sent.store(true, Ordering::Relaxed);
            let mut resp = rb.send().await.map_err(classify)?;
            let status = resp.status().as_u16();
            // Moved out, not cloned: the body is read without them.
            let headers = std::mem::take(resp.headers_mut());
            let body = resp.bytes().await.map_err(|e| {
                AttemptError::Sent(Error::new(ErrorKind::Transport {
                    message: describe_reqwest(&e),
                }))
            })?;
            Ok::<_, AttemptError>((status, headers, body))
        };
        // This attempt ends at its own timeout or at the call's deadline, whichever comes first.
        let attempt_end = attempt_timeout.map(|t| Instant::now() + t);
        let end = match (attempt_end, deadline) {
            (Some(a), Some(d)) => Some((a.min(d), d <= a)),
            (Some(a), None) => Some((a, false)),
            (None, Some(d)) => Some((d, true)),
            (None, None) => None,
        };
        let (status, headers, body) = match end {
            Some((at, total)) => tokio::time::timeout_at(at, exchange).await.map_err(|_| {
                AttemptError::Sent(Error::new(ErrorKind::Timeout {
                    total,
                    may_have_reached_server: true,
                }))
            })??,
            None => exchange.await?,
        };
        let request_id = header_str(&headers, REQUEST_ID);
        let span = tracing::Span::current();
        span.record("status", status);
        if let Some(id) = &request_id {
            span.record("request_id", id.as_str());
        }
        if (200..300).contains(&status) {
            let replayed = header_str(&headers, IDEMPOTENT_REPLAYED)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            span.record("replayed", replayed);
            tracing::debug!(status, "answer");
            return Ok(Answer {
                status,
                body,
                request_id,
                replayed,
                idempotency_key: key.map(str::to_owned),
            });
        }
        let e = api_error(status, &headers, &body);
        tracing::debug!(status, code = %e.code, "error answer");
        Err(AttemptError::Sent(Error::new(ErrorKind::Api(e))))
    }
}

fn classify(e: reqwest::Error) -> AttemptError {
    if let Some(tls) = crate::tls::rustls_cause(&e) {
        // Before `is_connect`: the handshake is part of connecting, but retrying it does not help.
        return AttemptError::NotSent(Error::new(ErrorKind::Tls {
            message: tls.to_string(),
        }));
    }
    let message = describe_reqwest(&e);
    if e.is_connect() {
        AttemptError::NotSent(Error::new(ErrorKind::Connect { message }))
    } else if e.is_timeout() {
        AttemptError::Sent(Error::new(ErrorKind::Timeout {
            total: false,
            may_have_reached_server: true,
        }))
    } else if e.is_builder() {
        AttemptError::NotSent(Error::config(message))
    } else {
        AttemptError::Sent(Error::new(ErrorKind::Transport { message }))
    }
}
