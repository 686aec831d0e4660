//! The seam between the outbox and the network.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::action::Action;

/// A queued action handed to a [`Deliverer`] for one attempt.
#[derive(Clone, Debug)]
pub struct QueuedAction {
    /// The idempotency key, fixed at enqueue and sent on every attempt.
    pub idempotency_key: String,
    /// The customer the action is for (the token to use is this customer's).
    pub customer_id: String,
    /// The action.
    pub action: Action,
    /// The exact JSON body stored at enqueue. Sending these bytes keeps the request identical on
    /// every attempt, even across SDK upgrades, so the server replays instead of answering
    /// `idempotency_conflict`.
    pub body: String,
    /// Which attempt this is (1 for the first).
    pub attempt: u32,
    /// When the action was enqueued (outbox clock).
    pub enqueued_at: SystemTime,
    /// When this attempt started (stamped at upload).
    pub sent_at: SystemTime,
}

/// What one delivery attempt came to.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryResult {
    /// The server answered `200` (possibly a replay of an earlier answer).
    Delivered(Delivered),
    /// Not delivered, try again later: network error, timeout, `429`, `5xx`,
    /// `409 idempotency_in_progress`. `after` is the server's `Retry-After`, if any.
    Retry {
        /// The server's `Retry-After`.
        after: Option<Duration>,
        /// A short description for `last_error` (never a credential).
        error: String,
    },
    /// The server refused the action for good (a non-retryable `4xx` other than `401`).
    Permanent(PermanentError),
    /// `401`: the credential is missing, unknown or expired. The outbox asks the deliverer to
    /// refresh credentials and tries once more, then pauses.
    Unauthorized {
        /// The error code (`token_expired`, `invalid_api_key`, …).
        code: String,
    },
}

/// A permanent refusal from the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermanentError {
    /// HTTP status, when there was one.
    pub status: Option<u16>,
    /// The API's error code (`budget_exhausted`, `frequency_cap_reached`, …).
    pub code: String,
    /// The server's message.
    pub message: String,
    /// The request id, to quote in a support request.
    pub request_id: Option<String>,
}

/// A successful trigger answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivered {
    /// What the action earned.
    pub outcome: Outcome,
    /// `true` when the server replayed an earlier answer for this key (`Idempotent-Replayed`).
    pub replayed: bool,
    /// The request id of the answer.
    pub request_id: Option<String>,
}

/// What a delivered action earned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// A reward was issued (or held for review when `status` is `flagged`).
    Reward {
        /// `rwd_…`
        reward_id: String,
        /// The reward link to show the customer.
        url: String,
        /// The reward's status (`issued`, `flagged`).
        status: String,
        /// A test-mode reward (consumes nothing).
        test: bool,
    },
    /// A goal moment not yet met: progress so far.
    Progress {
        /// Sum of quantities counted in the window.
        current: u64,
        /// The goal.
        target: u64,
        /// Whether the goal is met.
        completed: bool,
    },
    /// An outcome this SDK version does not know (the API adds values without a version bump).
    Other {
        /// The `outcome` string from the server.
        outcome: String,
    },
}

impl Outcome {
    /// Reads the outcome of a `TriggerResult` JSON document.
    pub fn from_trigger_result(v: &serde_json::Value) -> Option<Outcome> {
        let outcome = v.get("outcome")?.as_str()?;
        match outcome {
            "reward" => {
                let r = v.get("reward")?;
                Some(Outcome::Reward {
                    reward_id: r.get("id")?.as_str()?.to_owned(),
                    url: r.get("url")?.as_str()?.to_owned(),
                    status: r
                        .get("status")
                        .and_then(|s| s.as_str())
                        .unwrap_or("issued")
                        .to_owned(),
                    test: r.get("test").and_then(|t| t.as_bool()).unwrap_or(false),
                })
            }
            "progress" => {
                let p = v.get("progress")?;
                Some(Outcome::Progress {
                    current: p.get("current")?.as_u64()?,
                    target: p.get("target")?.as_u64()?,
                    completed: p
                        .get("completed")
                        .and_then(|c| c.as_bool())
                        .unwrap_or(false),
                })
            }
            other => Some(Outcome::Other {
                outcome: other.to_owned(),
            }),
        }
    }
}

/// Delivers one queued action. Implementations never store credentials in the outbox: they fetch
/// a token for `action.customer_id` on each attempt (from the app's token provider).
///
/// A deliverer must send `action.idempotency_key` as the `Idempotency-Key` header and should send
/// `action.body` verbatim, and must classify the answer honestly: [`DeliveryResult::Delivered`]
/// only for a `200`, [`DeliveryResult::Retry`] whenever the request may not have been processed.
#[async_trait]
pub trait Deliverer: Send + Sync + 'static {
    /// Makes one attempt.
    async fn deliver(&self, action: &QueuedAction) -> DeliveryResult;

    /// Called after a [`DeliveryResult::Unauthorized`], before the one retry: drop any cached
    /// token so the next attempt asks the token provider again. The default does nothing.
    async fn refresh_credentials(&self, _customer_id: &str) {}
}
