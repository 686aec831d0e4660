//! Listeners the app implements, the shared state they observe, and the handle that unsubscribes them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::runtime::runtime;
use crate::types::{ActionOutcome, ClientStatus, Progress, Reward, RewardEvent};

/// Implemented by the app to follow the customer's rewards and goal progress.
///
/// Called on an SDK thread (not the one running the SDK's I/O), one event at a time and in order: hop to the UI
/// thread yourself. A listener that blocks delays its own next events only. Exceptions thrown here are caught and
/// logged.
#[uniffi::export(with_foreign)]
pub trait RewardListener: Send + Sync {
    /// One event; the first is always a `Snapshot` of the current state.
    fn on_event(&self, event: RewardEvent);
}

/// Implemented by the app to follow the client's connection / authentication status. Called like `RewardListener`: on
/// an SDK thread, one status at a time, in order.
#[uniffi::export(with_foreign)]
pub trait StatusListener: Send + Sync {
    /// The new status; the first call carries the current one.
    fn on_status(&self, status: ClientStatus);
}

/// Keeps a listener subscribed. Dropping it (or calling `cancel()`) unsubscribes.
///
/// Kotlin: keep a reference, call `cancel()` (or `close()` / `use {}`) when done. Swift: keep it in a property;
/// releasing it unsubscribes.
#[derive(uniffi::Object)]
pub struct ListenerHandle {
    task: Mutex<Option<JoinHandle<()>>>,
}

#[uniffi::export]
impl ListenerHandle {
    /// Unsubscribes now; the listener receives no further events. Idempotent.
    pub fn cancel(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }

    /// Whether the listener is still subscribed.
    pub fn is_active(&self) -> bool {
        self.task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[derive(Default)]
struct Snapshot {
    rewards: Vec<Reward>,
    progress: Vec<Progress>,
}

/// What the client knows about the customer, and the channels listeners read.
pub(crate) struct Hub {
    snapshot: Mutex<Snapshot>,
    events: broadcast::Sender<RewardEvent>,
    status: watch::Sender<ClientStatus>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            snapshot: Mutex::default(),
            events: broadcast::channel(256).0,
            status: watch::Sender::new(ClientStatus::Idle),
        }
    }
}

impl Hub {
    fn with_snapshot<R>(&self, f: impl FnOnce(&mut Snapshot) -> R) -> R {
        f(&mut self.snapshot.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records the outcome of a reported action and tells listeners.
    pub(crate) fn action(&self, outcome: &ActionOutcome) {
        self.with_snapshot(|s| {
            let event = match outcome {
                ActionOutcome::Rewarded { reward } => {
                    s.rewards.retain(|r| r.id != reward.id);
                    s.rewards.insert(0, reward.clone());
                    RewardEvent::RewardIssued {
                        reward: reward.clone(),
                    }
                }
                ActionOutcome::InProgress { progress } => {
                    upsert_progress(&mut s.progress, progress);
                    RewardEvent::ProgressUpdated {
                        progress: progress.clone(),
                    }
                }
            };
            // Sent under the snapshot lock so a new listener sees each change exactly once.
            let _ = self.events.send(event);
        });
    }

    /// Replaces the known rewards with a fresh list from the API.
    pub(crate) fn rewards(&self, rewards: &[Reward]) {
        self.with_snapshot(|s| {
            s.rewards = rewards.to_vec();
            let _ = self.events.send(RewardEvent::RewardsRefreshed {
                rewards: rewards.to_vec(),
            });
        });
    }

    /// Merges fresh progress from the API.
    pub(crate) fn progress(&self, progress: &[Progress]) {
        self.with_snapshot(|s| {
            for p in progress {
                upsert_progress(&mut s.progress, p);
                let _ = self.events.send(RewardEvent::ProgressUpdated {
                    progress: p.clone(),
                });
            }
        });
    }

    pub(crate) fn set_status(&self, status: ClientStatus) {
        self.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }

    pub(crate) fn status(&self) -> ClientStatus {
        self.status.borrow().clone()
    }

    /// The current state and a receiver of every later event, taken atomically (no gap, no duplicate).
    fn snapshot_and_subscribe(&self) -> (RewardEvent, broadcast::Receiver<RewardEvent>) {
        self.with_snapshot(|s| {
            (
                RewardEvent::Snapshot {
                    rewards: s.rewards.clone(),
                    progress: s.progress.clone(),
                },
                self.events.subscribe(),
            )
        })
    }

    /// Subscribes a reward listener: a snapshot first, then every event, on the SDK runtime.
    pub(crate) fn subscribe_rewards(
        self: &Arc<Self>,
        listener: Arc<dyn RewardListener>,
    ) -> ListenerHandle {
        let (first, mut rx) = self.snapshot_and_subscribe();
        let hub = Arc::downgrade(self);
        let task = runtime().spawn(async move {
            deliver(&listener, first).await;
            loop {
                match rx.recv().await {
                    Ok(event) => deliver(&listener, event).await,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "a reward listener fell behind; sending a fresh snapshot"
                        );
                        let Some(hub) = hub.upgrade() else { break };
                        let (snapshot, fresh) = hub.snapshot_and_subscribe();
                        rx = fresh;
                        deliver(&listener, snapshot).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        ListenerHandle {
            task: Mutex::new(Some(task)),
        }
    }

    /// Subscribes a status listener: the current status first, then every change.
    pub(crate) fn subscribe_status(&self, listener: Arc<dyn StatusListener>) -> ListenerHandle {
        let mut rx = self.status.subscribe();
        let task = runtime().spawn(async move {
            loop {
                let status = rx.borrow_and_update().clone();
                let listener = Arc::clone(&listener);
                off_the_worker("status", move || listener.on_status(status)).await;
                if rx.changed().await.is_err() {
                    break;
                }
            }
        });
        ListenerHandle {
            task: Mutex::new(Some(task)),
        }
    }
}

async fn deliver(listener: &Arc<dyn RewardListener>, event: RewardEvent) {
    let listener = Arc::clone(listener);
    off_the_worker("reward", move || listener.on_event(event)).await;
}

/// Runs the app's listener `call` on tokio's blocking pool and waits for it, so a listener's events stay in order.
///
/// A listener is the app's code: one that blocks, or waits for an SDK call (`runBlocking { client.myRewards() }`),
/// must not stall the runtime's only worker, which runs every call's I/O. A listener that throws is logged.
async fn off_the_worker(kind: &'static str, call: impl FnOnce() + Send + 'static) {
    let returned =
        tokio::task::spawn_blocking(move || catch_unwind(AssertUnwindSafe(call)).is_ok()).await;
    if !matches!(returned, Ok(true)) {
        tracing::warn!(kind, "a listener threw; the SDK continues");
    }
}

fn upsert_progress(list: &mut Vec<Progress>, progress: &Progress) {
    match list
        .iter_mut()
        .find(|p| p.campaign_id == progress.campaign_id && p.moment_id == progress.moment_id)
    {
        Some(existing) => *existing = progress.clone(),
        None => list.push(progress.clone()),
    }
}
