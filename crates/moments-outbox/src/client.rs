//! `ClientDeliverer`: delivers queued actions with `moments-client`.

use async_trait::async_trait;
use moments_client::models::{Outcome as WireOutcome, TriggerOutcome};
use moments_client::{Error, ErrorKind, MomentsClient, RequestOptions, RetryPolicy};

use crate::deliver::{Delivered, Deliverer, DeliveryResult, Outcome, PermanentError, QueuedAction};

/// Delivers with a [`MomentsClient`]: one attempt per call (the outbox owns retries and persists
/// their state), the stored body sent byte for byte with the action's `Idempotency-Key`, and the
/// credential from the client (its secret key, or its token provider, asked on every attempt as
/// the client's cache requires; nothing is stored in the outbox).
///
/// With a customer-token client, the token is the current customer's: an action queued for
/// another customer (one who logged out) would be refused with `403 forbidden` and moved to
/// `failed`. Call [`Outbox::flush_customer`](crate::Outbox::flush_customer) or
/// [`Outbox::purge_customer`](crate::Outbox::purge_customer) at logout, before switching customer.
#[derive(Clone, Debug)]
pub struct ClientDeliverer {
    client: MomentsClient,
}

impl ClientDeliverer {
    /// Wraps a client.
    pub fn new(client: MomentsClient) -> Self {
        ClientDeliverer { client }
    }
}

#[async_trait]
impl Deliverer for ClientDeliverer {
    async fn deliver(&self, action: &QueuedAction) -> DeliveryResult {
        let opts = RequestOptions::new()
            .idempotency_key(action.idempotency_key.clone())
            .retry_policy(RetryPolicy::disabled());
        let sent = self
            .client
            .moments()
            .with_options(opts)
            .trigger_raw(action.body.clone().into_bytes())
            .await;
        match sent {
            Ok(outcome) => DeliveryResult::Delivered(delivered(outcome)),
            Err(e) => classify_error(&e),
        }
    }
}

fn delivered(t: TriggerOutcome) -> Delivered {
    let outcome = match (&t.result.outcome, &t.result.reward, &t.result.progress) {
        (WireOutcome::Reward, Some(r), _) => Outcome::Reward {
            reward_id: r.id.clone(),
            url: r.url.clone(),
            status: r.status.as_str().to_owned(),
            test: r.test,
        },
        (WireOutcome::Progress, _, Some(p)) => Outcome::Progress {
            current: p.current,
            target: p.target,
            completed: p.completed,
        },
        (other, _, _) => Outcome::Other {
            outcome: other.as_str().to_owned(),
        },
    };
    Delivered {
        outcome,
        replayed: t.replayed,
        request_id: t.request_id,
    }
}

/// Maps a client error to what the outbox does with the row.
fn classify_error(e: &Error) -> DeliveryResult {
    if e.is_unauthorized() {
        return DeliveryResult::Unauthorized {
            code: e
                .code()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| "unauthorized".into()),
        };
    }
    match e.kind() {
        // The server processed the action (2xx) but the body did not decode: it is delivered;
        // never send it again.
        ErrorKind::Decode {
            status, request_id, ..
        } if (200..300).contains(status) => {
            return DeliveryResult::Delivered(Delivered {
                outcome: Outcome::Other {
                    outcome: "unreadable".into(),
                },
                replayed: false,
                request_id: request_id.clone(),
            });
        }
        // The app's token provider failed (often: offline, its backend unreachable).
        ErrorKind::TokenProvider { .. } => {
            return DeliveryResult::Retry {
                after: None,
                error: e.to_string(),
            };
        }
        _ => {}
    }
    if e.is_retryable() {
        return DeliveryResult::Retry {
            after: e.retry_after(),
            error: e.to_string(),
        };
    }
    DeliveryResult::Permanent(PermanentError {
        status: e.status(),
        code: e
            .code()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_else(|| "client_error".into()),
        message: e
            .api_error()
            .map(|a| a.message.clone())
            .unwrap_or_else(|| e.to_string()),
        request_id: e.request_id().map(str::to_owned),
    })
}
