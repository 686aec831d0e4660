//! `HttpDeliverer`: delivers with `reqwest` straight to `POST /v1/triggers`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::deliver::{Delivered, Deliverer, DeliveryResult, Outcome, PermanentError, QueuedAction};

/// Supplies the credential for a customer's deliveries. Called on every attempt; the outbox never
/// stores what it returns.
#[async_trait]
pub trait TokenProvider: Send + Sync + 'static {
    /// A bearer credential (`ct_…` customer token, or `sk_…` on a server) for `customer_id`.
    /// `Err` (a message without the credential) makes the attempt a retry.
    async fn token(&self, customer_id: &str) -> Result<String, String>;

    /// The server refused the last token for `customer_id`: drop any cached one.
    async fn invalidate(&self, _customer_id: &str) {}
}

/// A fixed credential (a server's secret key, or a test).
pub struct StaticToken(String);

impl StaticToken {
    /// Wraps a credential.
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken(token.into())
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(***)")
    }
}

#[async_trait]
impl TokenProvider for StaticToken {
    async fn token(&self, _customer_id: &str) -> Result<String, String> {
        Ok(self.0.clone())
    }
}

/// Sends each queued action's stored body, byte for byte, to `POST {base_url}/v1/triggers` with
/// its `Idempotency-Key`, and classifies the answer as the API contract says.
pub struct HttpDeliverer {
    http: reqwest::Client,
    url: String,
    tokens: Arc<dyn TokenProvider>,
}

impl std::fmt::Debug for HttpDeliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDeliverer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl HttpDeliverer {
    /// A deliverer for the API at `base_url` (e.g. `http://127.0.0.1:8080`), with a 10 s connect
    /// and 30 s per-attempt timeout.
    pub fn new(base_url: &str, tokens: Arc<dyn TokenProvider>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a reqwest client with rustls");
        Self::with_client(http, base_url, tokens)
    }

    /// Same, with the app's own `reqwest::Client`.
    pub fn with_client(
        http: reqwest::Client,
        base_url: &str,
        tokens: Arc<dyn TokenProvider>,
    ) -> Self {
        HttpDeliverer {
            http,
            url: format!("{}/v1/triggers", base_url.trim_end_matches('/')),
            tokens,
        }
    }
}

#[async_trait]
impl Deliverer for HttpDeliverer {
    async fn deliver(&self, action: &QueuedAction) -> DeliveryResult {
        let token = match self.tokens.token(&action.customer_id).await {
            Ok(t) => t,
            Err(e) => {
                return DeliveryResult::Retry {
                    after: None,
                    error: format!("token provider: {e}"),
                };
            }
        };
        let sent = self
            .http
            .post(&self.url)
            .bearer_auth(token)
            .header("Idempotency-Key", &action.idempotency_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(action.body.clone())
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            // Connection refused or reset, timeout: the request may or may not have been
            // processed; the key makes the resend safe.
            Err(e) => {
                return DeliveryResult::Retry {
                    after: None,
                    error: format!("network: {}", describe(&e)),
                };
            }
        };
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("x-request-id");
        let replayed = header("idempotent-replayed").as_deref() == Some("true");
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return DeliveryResult::Retry {
                    after: None,
                    error: format!("network: {}", describe(&e)),
                };
            }
        };
        classify(status, &body, request_id, replayed, retry_after)
    }

    async fn refresh_credentials(&self, customer_id: &str) {
        self.tokens.invalidate(customer_id).await;
    }
}

/// The error and its causes (the URL carries no secret; credentials are never in it).
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

/// Maps an HTTP answer of `POST /v1/triggers` to a [`DeliveryResult`], following the API's
/// retryability table: `200` delivered; `401` unauthorized; `429`, `5xx` and
/// `409 idempotency_in_progress` (or any error with `retryable: true`) retried; other `4xx`
/// permanent.
pub fn classify(
    status: u16,
    body: &[u8],
    request_id: Option<String>,
    replayed: bool,
    retry_after: Option<Duration>,
) -> DeliveryResult {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        let outcome = json.as_ref().and_then(Outcome::from_trigger_result);
        return match outcome {
            Some(outcome) => DeliveryResult::Delivered(Delivered {
                outcome,
                replayed,
                request_id,
            }),
            // A 2xx we cannot read: the action was processed; keep what we know.
            None => DeliveryResult::Delivered(Delivered {
                outcome: Outcome::Other {
                    outcome: "unreadable".into(),
                },
                replayed,
                request_id,
            }),
        };
    }
    let err = json.as_ref().and_then(|j| j.get("error"));
    let field = |k: &str| {
        err.and_then(|e| e.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let code = field("code").unwrap_or_else(|| format!("http_{status}"));
    let message = field("message").unwrap_or_default();
    let request_id = field("request_id").or(request_id);
    let retryable_flag = err
        .and_then(|e| e.get("retryable"))
        .and_then(|v| v.as_bool());
    if status == 401 {
        return DeliveryResult::Unauthorized { code };
    }
    let retryable = matches!(status, 429 | 500 | 502 | 503 | 504)
        || code == "idempotency_in_progress"
        || (retryable_flag == Some(true))
        || (status >= 500 && retryable_flag != Some(false));
    if retryable {
        DeliveryResult::Retry {
            after: retry_after,
            error: format!("{status} {code}"),
        }
    } else {
        DeliveryResult::Permanent(PermanentError {
            status: Some(status),
            code,
            message,
            request_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, retryable: bool) -> Vec<u8> {
        serde_json::json!({"error": {"code": code, "message": "m", "param": null,
            "request_id": "req_1", "retryable": retryable}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn answers_are_classified_as_the_contract_says() {
        let ok = br#"{"object":"trigger_result","outcome":"progress","progress":{"current":3,"target":5,"completed":false}}"#;
        assert_eq!(
            classify(200, ok, Some("req_9".into()), true, None),
            DeliveryResult::Delivered(Delivered {
                outcome: Outcome::Progress {
                    current: 3,
                    target: 5,
                    completed: false
                },
                replayed: true,
                request_id: Some("req_9".into()),
            })
        );
        assert_eq!(
            classify(401, &err("token_expired", false), None, false, None),
            DeliveryResult::Unauthorized {
                code: "token_expired".into()
            }
        );
        let after = Some(Duration::from_secs(7));
        assert_eq!(
            classify(429, &err("rate_limited", true), None, false, after),
            DeliveryResult::Retry {
                after,
                error: "429 rate_limited".into()
            }
        );
        assert!(matches!(
            classify(
                409,
                &err("idempotency_in_progress", true),
                None,
                false,
                None
            ),
            DeliveryResult::Retry { .. }
        ));
        assert!(matches!(
            classify(502, b"<html>bad gateway</html>", None, false, None),
            DeliveryResult::Retry { .. }
        ));
        assert_eq!(
            classify(422, &err("budget_exhausted", false), None, false, None),
            DeliveryResult::Permanent(PermanentError {
                status: Some(422),
                code: "budget_exhausted".into(),
                message: "m".into(),
                request_id: Some("req_1".into()),
            })
        );
        assert!(matches!(
            classify(409, &err("idempotency_conflict", false), None, false, None),
            DeliveryResult::Permanent(_)
        ));
    }
}
