//! `ActionOutbox`: the durable offline outbox of `moments-outbox`, for Kotlin and Swift.
//!
//! An action enqueued here is written to a SQLite file with its idempotency key before any network attempt and
//! delivered in the background with that same key on every attempt, so it is rewarded exactly once even if the
//! app is killed or offline. Outcomes reach the app through an [`OutboxEventListener`]. See `docs/outbox.md`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use moments_outbox::{
    Action, ActionStatus, Customer, Deliverer, Device, DropReason, Outbox, OutboxConfig,
    OutboxError, OutboxEvent, OutboxListener, Outcome,
};

use crate::error::{ErrorCode, Kind, MomentsError};
use crate::runtime::run;
use crate::types::{DeviceInfo, DeviceType, signed};

/// Implemented by the app to learn what became of enqueued actions.
///
/// Called on the SDK thread that runs its I/O: hop to the UI thread yourself, return quickly (a listener that blocks
/// stalls the SDK's calls meanwhile) and do not call back into the outbox or the client synchronously. Exceptions thrown here are caught. An outcome may be reported again after an app restart if
/// the app died before the call returned (at least once).
#[uniffi::export(with_foreign)]
pub trait OutboxEventListener: Send + Sync {
    /// The server accepted the action: `reward_url` is set when a reward was issued (show it), `progress_current`
    /// and `progress_target` when a goal moment progressed.
    fn on_delivered(
        &self,
        idempotency_key: String,
        reward_url: Option<String>,
        progress_current: Option<i64>,
        progress_target: Option<i64>,
    );
    /// The server refused the action for good (`code` is the API's error code); it is never retried.
    fn on_failed(&self, idempotency_key: String, code: ErrorCode, reason: String);
    /// The action was removed undelivered: `reason` is `expired`, `evicted` or `purged`.
    fn on_dropped(&self, idempotency_key: String, reason: String);
    /// Delivery paused because the credentials were refused twice in a row (`code` is the 401 code); nothing
    /// is dropped. Call `ActionOutbox.resumeDelivery()` once the customer has a valid session.
    fn on_paused(&self, code: ErrorCode);
}

/// How many actions the outbox holds, by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct OutboxCounts {
    /// Waiting for delivery (including those waiting for a retry).
    pub queued: i64,
    /// An attempt is under way.
    pub inflight: i64,
    /// Answered by the server, the listener being told (transient).
    pub delivered: i64,
    /// Refused for good.
    pub failed: i64,
}

impl From<moments_outbox::Counts> for OutboxCounts {
    fn from(c: moments_outbox::Counts) -> Self {
        Self {
            queued: signed(c.queued),
            inflight: signed(c.inflight),
            delivered: signed(c.delivered),
            failed: signed(c.failed),
        }
    }
}

/// What the outbox knows of an idempotency key (`ActionOutbox.lookup`). New cases may be added.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum OutboxActionStatus {
    /// On disk, waiting for delivery: `attempts` made so far, `last_error` why the last one did not deliver.
    Queued {
        attempts: i32,
        last_error: Option<String>,
    },
    /// An attempt (number `attempt`, from 1) is under way.
    InFlight { attempt: i32 },
    /// The server accepted it: `reward_id` and `reward_url` when a reward was issued (show the URL),
    /// `progress_current` and `progress_target` when a goal moment progressed.
    Delivered {
        reward_id: Option<String>,
        reward_url: Option<String>,
        progress_current: Option<i64>,
        progress_target: Option<i64>,
    },
    /// The server refused it for good: the API's error `code` and its `reason`. It is never retried.
    Failed { code: ErrorCode, reason: String },
    /// Never enqueued in this outbox, dropped undelivered, or answered more than 48 hours ago.
    Unknown,
}

impl From<ActionStatus> for OutboxActionStatus {
    fn from(s: ActionStatus) -> Self {
        match s {
            ActionStatus::Queued {
                attempts,
                last_error,
            } => Self::Queued {
                attempts: i32::try_from(attempts).unwrap_or(i32::MAX),
                last_error,
            },
            ActionStatus::InFlight { attempt } => Self::InFlight {
                attempt: i32::try_from(attempt).unwrap_or(i32::MAX),
            },
            ActionStatus::Delivered(d) => {
                let (reward_id, reward_url, progress_current, progress_target) = match d.outcome {
                    Outcome::Reward { reward_id, url, .. } => {
                        (Some(reward_id), Some(url), None, None)
                    }
                    Outcome::Progress {
                        current, target, ..
                    } => (None, None, Some(signed(current)), Some(signed(target))),
                    Outcome::Other { .. } => (None, None, None, None),
                };
                Self::Delivered {
                    reward_id,
                    reward_url,
                    progress_current,
                    progress_target,
                }
            }
            ActionStatus::Failed(e) => Self::Failed {
                code: ErrorCode::from_wire(&e.code),
                reason: e.message,
            },
            _ => Self::Unknown,
        }
    }
}

/// The result of `ActionOutbox.enqueueWithKey`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutboxEnqueued {
    /// `true` when the key was already known with the same action (queued, in flight, or answered in the last
    /// 48 hours): nothing was written, and `status` is that first action's.
    pub duplicate: bool,
    /// `Queued` for a new action; for a duplicate, the first action's status (its outcome once answered).
    pub status: OutboxActionStatus,
}

/// A durable queue of actions delivered to the Rewards API when the network allows.
///
/// Open one per database file with `MomentsClient.openOutbox`; it delivers with that client's token provider.
/// Releasing it stops delivery (queued actions stay on disk and are delivered after the next open).
#[derive(uniffi::Object)]
pub struct ActionOutbox {
    inner: Arc<Outbox>,
    device: DeviceInfo,
}

#[uniffi::export(async_runtime = "tokio")]
impl ActionOutbox {
    /// Writes an action to disk and returns its idempotency key; delivery happens in the background.
    ///
    /// `customer_id` and `marketplace` must be those of the client's customer token (the API refuses another
    /// customer with `forbidden`). `quantity` (1–1,000,000) is what the action adds to a goal.
    #[uniffi::method(default(quantity = 1))]
    pub async fn enqueue(
        &self,
        customer_id: String,
        marketplace: String,
        campaign_id: String,
        moment_id: String,
        quantity: i32,
    ) -> Result<String, MomentsError> {
        let action = self.action(customer_id, marketplace, campaign_id, moment_id, quantity)?;
        let outbox = Arc::clone(&self.inner);
        run(async move {
            let queued = outbox.enqueue(action).await.map_err(outbox_error)?;
            Ok(queued.idempotency_key)
        })
        .await
    }

    /// Like `enqueue`, under the app's own idempotency key (1–255 printable ASCII characters), which the app
    /// can keep before calling so that it can ask `lookup` after a restart.
    ///
    /// While the key is known (queued, in flight, or answered in the last 48 hours), the same key and action
    /// again is a no-op that returns the first action's status (`duplicate`), with its outcome once answered;
    /// the same key with another action fails with `InvalidArgument` code `IdempotencyConflict` and writes
    /// nothing. The device time of the action is the first enqueue's.
    #[uniffi::method(default(quantity = 1))]
    pub async fn enqueue_with_key(
        &self,
        idempotency_key: String,
        customer_id: String,
        marketplace: String,
        campaign_id: String,
        moment_id: String,
        quantity: i32,
    ) -> Result<OutboxEnqueued, MomentsError> {
        let action = self.action(customer_id, marketplace, campaign_id, moment_id, quantity)?;
        let outbox = Arc::clone(&self.inner);
        run(async move {
            let queued = outbox
                .enqueue_with_key(action, idempotency_key)
                .await
                .map_err(outbox_error)?;
            Ok(OutboxEnqueued {
                duplicate: queued.duplicate,
                status: queued.status.into(),
            })
        })
        .await
    }

    /// What the outbox knows of an idempotency key: queued, in flight, delivered (with the reward URL or the
    /// progress), failed (with the code), or unknown (never enqueued here, dropped undelivered, or answered
    /// more than 48 hours ago). For an app killed right after an enqueue that wants to know if it went through.
    pub async fn lookup(
        &self,
        idempotency_key: String,
    ) -> Result<OutboxActionStatus, MomentsError> {
        let outbox = Arc::clone(&self.inner);
        run(async move {
            Ok(outbox
                .lookup(&idempotency_key)
                .await
                .map_err(outbox_error)?
                .into())
        })
        .await
    }

    /// Makes every queued action due now and waits until none is due (each delivered, failed, or waiting for a
    /// retry the server asked for). Returns the counts after.
    pub async fn flush(&self) -> Result<OutboxCounts, MomentsError> {
        let outbox = Arc::clone(&self.inner);
        run(async move { Ok(outbox.flush().await.map_err(outbox_error)?.into()) }).await
    }

    /// The counts of actions by state.
    pub async fn counts(&self) -> Result<OutboxCounts, MomentsError> {
        let outbox = Arc::clone(&self.inner);
        run(async move { Ok(outbox.counts().await.map_err(outbox_error)?.into()) }).await
    }

    /// Tells the outbox the network is back: actions waiting for a retry are tried now.
    pub fn network_available(&self) {
        self.inner.network_available();
    }

    /// Resumes delivery after `OutboxEventListener.onPaused` (once the customer has a valid session).
    pub fn resume_delivery(&self) {
        self.inner.resume_delivery();
    }

    /// Stops delivering (e.g. the app goes to the background); enqueue still works.
    pub async fn suspend(&self) -> Result<(), MomentsError> {
        let outbox = Arc::clone(&self.inner);
        run(async move { outbox.suspend().await.map_err(outbox_error) }).await
    }

    /// Delivers again after `suspend`.
    pub async fn resume(&self) -> Result<(), MomentsError> {
        let outbox = Arc::clone(&self.inner);
        run(async move { outbox.resume().await.map_err(outbox_error) }).await
    }
}

impl ActionOutbox {
    /// The action as the outbox stores it: the arguments, this client's device, and `quantity`.
    fn action(
        &self,
        customer_id: String,
        marketplace: String,
        campaign_id: String,
        moment_id: String,
        quantity: i32,
    ) -> Result<Action, MomentsError> {
        if !(1..=1_000_000).contains(&quantity) {
            return Err(MomentsError::invalid_argument(
                "quantity must be between 1 and 1000000",
            ));
        }
        let mut device = Device::new(device_type(self.device.device_type));
        device.id = self.device.device_id.clone();
        let mut action = Action::new(
            campaign_id,
            moment_id,
            Customer::new(customer_id, marketplace),
            device,
        );
        action.quantity = Some(quantity.unsigned_abs());
        Ok(action)
    }

    /// Opens the outbox at `path` on the SDK runtime with any deliverer.
    pub(crate) async fn open(
        path: String,
        device: DeviceInfo,
        deliverer: Arc<dyn Deliverer>,
        listener: Option<Arc<dyn OutboxEventListener>>,
    ) -> Result<Arc<Self>, MomentsError> {
        if path.is_empty() {
            return Err(MomentsError::invalid_argument("path must not be empty"));
        }
        let listener = listener.map(|l| Arc::new(Forward(l)) as Arc<dyn OutboxListener>);
        let outbox = run(async move {
            Outbox::open(OutboxConfig::new(path), deliverer, listener)
                .await
                .map_err(outbox_error)
        })
        .await?;
        Ok(Arc::new(Self {
            inner: Arc::new(outbox),
            device,
        }))
    }
}

/// The app's listener seen as the outbox's; a foreign exception or panic is contained.
struct Forward(Arc<dyn OutboxEventListener>);

impl OutboxListener for Forward {
    fn on_event(&self, event: OutboxEvent) {
        let l = &self.0;
        let _ = catch_unwind(AssertUnwindSafe(|| match event {
            OutboxEvent::Delivered {
                idempotency_key,
                delivered,
                ..
            } => {
                let (url, current, target) = match delivered.outcome {
                    Outcome::Reward { url, .. } => (Some(url), None, None),
                    Outcome::Progress {
                        current, target, ..
                    } => (None, Some(signed(current)), Some(signed(target))),
                    Outcome::Other { .. } => (None, None, None),
                };
                l.on_delivered(idempotency_key, url, current, target);
            }
            OutboxEvent::Failed {
                idempotency_key,
                error,
                ..
            } => l.on_failed(
                idempotency_key,
                ErrorCode::from_wire(&error.code),
                error.message,
            ),
            OutboxEvent::Dropped {
                idempotency_key,
                reason,
                ..
            } => {
                let reason = match reason {
                    DropReason::Expired => "expired",
                    DropReason::Evicted => "evicted",
                    DropReason::Purged => "purged",
                };
                l.on_dropped(idempotency_key, reason.to_owned());
            }
            OutboxEvent::Paused { code } => l.on_paused(ErrorCode::from_wire(&code)),
            OutboxEvent::DatabaseRecovered { detail, .. } => {
                tracing::warn!(%detail, "the outbox database was unreadable and was recreated");
            }
            other => tracing::debug!(?other, "outbox event with no listener method"),
        }));
    }
}

fn device_type(t: DeviceType) -> moments_outbox::DeviceType {
    match t {
        DeviceType::Android => moments_outbox::DeviceType::Android,
        DeviceType::Ios => moments_outbox::DeviceType::Ios,
        DeviceType::FireOs => moments_outbox::DeviceType::FireOs,
        DeviceType::Web => moments_outbox::DeviceType::Web,
    }
}

/// Maps an outbox error onto the SDK's error: the caller's mistakes are `InvalidArgument`, the rest `Storage`,
/// each with its own code (`payload_too_large`, `invalid_action`, `invalid_idempotency_key`,
/// `idempotency_conflict`, `outbox_already_open`, `outbox_full`, `outbox_closed`, `outbox_storage`,
/// `outbox_unsupported_schema`).
fn outbox_error(err: OutboxError) -> MomentsError {
    let (code, caller, retryable) = match &err {
        OutboxError::PayloadTooLarge { .. } => (ErrorCode::PayloadTooLarge, true, false),
        OutboxError::InvalidAction(_) => (ErrorCode::InvalidAction, true, false),
        OutboxError::InvalidIdempotencyKey => (ErrorCode::InvalidIdempotencyKey, true, false),
        OutboxError::DuplicateKey => (ErrorCode::IdempotencyConflict, true, false),
        OutboxError::InvalidConfig(_) => (ErrorCode::InvalidArgument, true, false),
        OutboxError::AlreadyOpen(_) => (ErrorCode::OutboxAlreadyOpen, true, false),
        OutboxError::Full { .. } => (ErrorCode::OutboxFull, false, true),
        OutboxError::Closed => (ErrorCode::OutboxClosed, false, false),
        OutboxError::UnsupportedSchema { .. } => (ErrorCode::OutboxUnsupportedSchema, false, false),
        OutboxError::Storage(_) | OutboxError::Io(_) => (ErrorCode::OutboxStorage, false, true),
        _ => (ErrorCode::OutboxStorage, false, false),
    };
    let kind = if caller {
        Kind::InvalidArgument
    } else {
        Kind::Storage
    };
    MomentsError::local(kind, code, err.to_string(), retryable)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use moments_outbox::{Delivered, DeliveryResult, QueuedAction};

    use super::*;
    use crate::runtime::runtime;

    /// Fails every attempt while `down`, then answers with a reward; records the keys it saw.
    struct Flaky {
        down: AtomicBool,
        keys: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl Deliverer for Flaky {
        async fn deliver(&self, action: &QueuedAction) -> DeliveryResult {
            self.keys
                .lock()
                .unwrap()
                .push(action.idempotency_key.clone());
            if self.down.load(Ordering::SeqCst) {
                return DeliveryResult::Retry {
                    after: None,
                    error: "connection reset".into(),
                };
            }
            DeliveryResult::Delivered(Delivered {
                outcome: Outcome::Reward {
                    reward_id: "rwd_1".into(),
                    url: "https://rewards.example/r/rwd_1".into(),
                    status: "issued".into(),
                    test: true,
                },
                replayed: false,
                request_id: Some("req_1".into()),
            })
        }
    }

    /// Sends every delivery to a channel (the listener may be told just after `flush` returns).
    struct Recorder(Mutex<std::sync::mpsc::Sender<(String, Option<String>)>>);

    impl OutboxEventListener for Recorder {
        fn on_delivered(&self, key: String, url: Option<String>, _: Option<i64>, _: Option<i64>) {
            let _ = self.0.lock().unwrap().send((key, url));
        }
        fn on_failed(&self, _: String, _: ErrorCode, _: String) {}
        fn on_dropped(&self, _: String, _: String) {}
        fn on_paused(&self, _: ErrorCode) {}
    }

    #[test]
    fn a_failed_delivery_stays_queued_then_is_delivered_once_with_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("outbox.sqlite")
            .to_string_lossy()
            .into_owned();
        let deliverer = Arc::new(Flaky {
            down: AtomicBool::new(true),
            keys: Mutex::default(),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let recorder = Arc::new(Recorder(Mutex::new(tx)));
        let device = DeviceInfo {
            device_type: DeviceType::Android,
            device_id: Some("dev_1".into()),
        };
        runtime().block_on(async {
            let outbox = ActionOutbox::open(
                path.clone(),
                device,
                deliverer.clone(),
                Some(recorder.clone() as Arc<dyn OutboxEventListener>),
            )
            .await
            .unwrap();
            let key = outbox
                .enqueue(
                    "cust_1".into(),
                    "US".into(),
                    "cmp_1".into(),
                    "first_workout".into(),
                    1,
                )
                .await
                .unwrap();
            let after_failure = outbox.flush().await.unwrap();
            assert_eq!(
                after_failure.queued, 1,
                "a retryable failure keeps the action queued"
            );
            deliverer.down.store(false, Ordering::SeqCst);
            let after = outbox.flush().await.unwrap();
            assert_eq!(after.queued + after.inflight + after.failed, 0);
            let told = rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
            assert_eq!(
                told,
                (
                    key.clone(),
                    Some("https://rewards.example/r/rwd_1".to_owned())
                )
            );
            let keys = deliverer.keys.lock().unwrap().clone();
            assert!(
                keys.len() >= 2,
                "at least one failed attempt, then the delivery"
            );
            assert!(
                keys.iter().all(|k| *k == key),
                "every attempt uses the same key"
            );

            let err = ActionOutbox::open(path, device_info(), deliverer.clone(), None)
                .await
                .err()
                .unwrap();
            assert_eq!(err.code(), ErrorCode::OutboxAlreadyOpen);
            let bad = outbox
                .enqueue(
                    "cust_1".into(),
                    "US".into(),
                    "cmp_1".into(),
                    "first_workout".into(),
                    0,
                )
                .await
                .unwrap_err();
            assert_eq!(bad.code(), ErrorCode::InvalidArgument);
        });
    }

    #[test]
    fn an_app_key_is_looked_up_and_a_repeat_after_delivery_reports_the_first_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("outbox.sqlite")
            .to_string_lossy()
            .into_owned();
        let deliverer = Arc::new(Flaky {
            down: AtomicBool::new(true),
            keys: Mutex::default(),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let recorder = Arc::new(Recorder(Mutex::new(tx)));
        runtime().block_on(async {
            let outbox = ActionOutbox::open(
                path,
                device_info(),
                deliverer.clone(),
                Some(recorder as Arc<dyn OutboxEventListener>),
            )
            .await
            .unwrap();
            let enqueue = |key: &str, moment: &str| {
                outbox.enqueue_with_key(
                    key.into(),
                    "cust_1".into(),
                    "US".into(),
                    "cmp_1".into(),
                    moment.into(),
                    1,
                )
            };
            assert_eq!(
                outbox.lookup("app-key-1".into()).await.unwrap(),
                OutboxActionStatus::Unknown
            );
            let first = enqueue("app-key-1", "first_workout").await.unwrap();
            assert_eq!(
                first,
                OutboxEnqueued {
                    duplicate: false,
                    status: OutboxActionStatus::Queued {
                        attempts: 0,
                        last_error: None
                    }
                }
            );
            outbox.flush().await.unwrap();
            // Queued after its failed attempt (or, if the lookup came late, in its next attempt).
            let status = outbox.lookup("app-key-1".into()).await.unwrap();
            assert!(
                matches!(
                    &status,
                    OutboxActionStatus::Queued { attempts: 1.., last_error: Some(e) } if e == "connection reset"
                ) || matches!(status, OutboxActionStatus::InFlight { attempt: 2.. }),
                "{status:?}"
            );

            deliverer.down.store(false, Ordering::SeqCst);
            outbox.flush().await.unwrap();
            // Recorded before the listener is told.
            let (told, _) = rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
            assert_eq!(told, "app-key-1");
            let delivered = OutboxActionStatus::Delivered {
                reward_id: Some("rwd_1".into()),
                reward_url: Some("https://rewards.example/r/rwd_1".into()),
                progress_current: None,
                progress_target: None,
            };
            assert_eq!(
                outbox.lookup("app-key-1".into()).await.unwrap(),
                delivered
            );
            let attempts = deliverer.keys.lock().unwrap().len();
            // The app enqueues again after delivery: the first outcome, nothing sent.
            let again = enqueue("app-key-1", "first_workout").await.unwrap();
            assert_eq!(
                again,
                OutboxEnqueued {
                    duplicate: true,
                    status: delivered
                }
            );
            outbox.flush().await.unwrap();
            assert_eq!(deliverer.keys.lock().unwrap().len(), attempts);
            // Another action under the key, and a malformed key, are refused with their codes.
            let conflict = enqueue("app-key-1", "five_workouts").await.unwrap_err();
            assert_eq!(conflict.code(), ErrorCode::IdempotencyConflict);
            assert!(matches!(conflict, MomentsError::InvalidArgument { .. }));
            let bad = outbox.lookup("a tab\tis no printable character".into()).await.unwrap_err();
            assert_eq!(bad.code(), ErrorCode::InvalidIdempotencyKey);
            let bad = enqueue("", "first_workout").await.unwrap_err();
            assert_eq!(bad.code(), ErrorCode::InvalidIdempotencyKey);
        });
    }

    fn device_info() -> DeviceInfo {
        DeviceInfo {
            device_type: DeviceType::Ios,
            device_id: None,
        }
    }
}
