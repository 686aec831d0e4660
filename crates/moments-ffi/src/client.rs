//! `MomentsClient`, the one object app code uses.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken as Token;

use crate::backend::{self, Backend, TriggerInput};
use crate::cancel::CancellationToken;
use crate::error::MomentsError;
use crate::listeners::{Hub, ListenerHandle, RewardListener, StatusListener};
use crate::runtime::run;
use crate::token::TokenProvider;
use crate::types::{ActionOutcome, ClientConfig, ClientStatus, DeviceInfo, Progress, Reward, RewardInfo};

/// The Moments client of a mobile app, acting for one customer (the one its `TokenProvider`'s tokens are for).
///
/// Create one per signed-in customer and keep it. Every call runs on the SDK's own threads; every call can be
/// cancelled by cancelling the coroutine / Swift task, by `cancelAll()`, or (for `reportAction`) by a
/// `CancellationToken`.
#[derive(uniffi::Object)]
pub struct MomentsClient {
    backend: Arc<dyn Backend>,
    hub: Arc<Hub>,
    cancel_root: Mutex<Token>,
    device: DeviceInfo,
    call_timeout: Duration,
}

#[uniffi::export(async_runtime = "tokio")]
impl MomentsClient {
    /// Creates the client. Does no I/O: the token provider is first called by the first call that needs it.
    #[uniffi::constructor]
    pub fn new(config: ClientConfig, token_provider: Arc<dyn TokenProvider>) -> Result<Arc<Self>, MomentsError> {
        let backend = backend::connect(&config, token_provider)?;
        Ok(Arc::new(Self::with_backend(config, backend)))
    }

    /// Describes the reward of a moment, to announce the challenge. Consumes nothing.
    pub async fn reward_info(&self, campaign_id: String, moment_id: String) -> Result<RewardInfo, MomentsError> {
        check_id("campaign_id", &campaign_id)?;
        check_id("moment_id", &moment_id)?;
        let backend = Arc::clone(&self.backend);
        self.call(None, async move { backend.reward_info(&campaign_id, &moment_id).await }).await
    }

    /// Reports that the customer completed an action of a client-reportable moment.
    ///
    /// Returns the issued reward (show its `url`) or, for a goal moment not met yet, the progress. `quantity`
    /// (1–1,000,000) is what this action adds to a goal. One idempotency key is made per call and reused on every
    /// retry, so a retried call never issues two rewards. Pass a `CancellationToken` to be able to cancel it.
    #[uniffi::method(default(quantity = 1, cancellation = None))]
    pub async fn report_action(
        &self,
        campaign_id: String,
        moment_id: String,
        quantity: u32,
        cancellation: Option<Arc<CancellationToken>>,
    ) -> Result<ActionOutcome, MomentsError> {
        check_id("campaign_id", &campaign_id)?;
        check_id("moment_id", &moment_id)?;
        if !(1..=1_000_000).contains(&quantity) {
            return Err(MomentsError::invalid_argument("quantity must be between 1 and 1000000"));
        }
        let input = TriggerInput {
            campaign_id,
            moment_id,
            quantity,
            device: self.device.clone(),
            idempotency_key: new_idempotency_key(),
        };
        let backend = Arc::clone(&self.backend);
        let hub = Arc::clone(&self.hub);
        let token = cancellation.map(|c| c.inner.clone());
        self.call(token, async move {
            let outcome = backend.trigger(input).await?;
            hub.action(&outcome);
            Ok(outcome)
        })
        .await
    }

    /// The customer's own rewards, newest first (all pages), optionally of one campaign.
    #[uniffi::method(default(campaign_id = None))]
    pub async fn my_rewards(&self, campaign_id: Option<String>) -> Result<Vec<Reward>, MomentsError> {
        let backend = Arc::clone(&self.backend);
        let hub = Arc::clone(&self.hub);
        self.call(None, async move {
            let rewards = backend.my_rewards(campaign_id.clone()).await?;
            if campaign_id.is_none() {
                hub.rewards(&rewards);
            }
            Ok(rewards)
        })
        .await
    }

    /// The customer's progress on goal moments, optionally of one campaign.
    #[uniffi::method(default(campaign_id = None))]
    pub async fn my_progress(&self, campaign_id: Option<String>) -> Result<Vec<Progress>, MomentsError> {
        let backend = Arc::clone(&self.backend);
        let hub = Arc::clone(&self.hub);
        self.call(None, async move {
            let progress = backend.my_progress(campaign_id).await?;
            hub.progress(&progress);
            Ok(progress)
        })
        .await
    }

    /// Follows rewards and progress: the listener first gets a `Snapshot` of what the client knows, then every
    /// change. Keep the handle; dropping it or calling `cancel()` unsubscribes.
    pub fn add_reward_listener(&self, listener: Arc<dyn RewardListener>) -> Arc<ListenerHandle> {
        Arc::new(self.hub.subscribe_rewards(listener))
    }

    /// Follows the connection / authentication status, starting with the current one.
    pub fn add_status_listener(&self, listener: Arc<dyn StatusListener>) -> Arc<ListenerHandle> {
        Arc::new(self.hub.subscribe_status(listener))
    }

    /// The current connection / authentication status.
    pub fn status(&self) -> ClientStatus {
        self.hub.status()
    }

    /// Cancels every call in flight (they fail with code `cancelled`). Later calls work normally.
    pub fn cancel_all(&self) {
        let old = std::mem::replace(&mut *self.cancel_root.lock().unwrap_or_else(|e| e.into_inner()), Token::new());
        old.cancel();
    }
}

impl MomentsClient {
    pub(crate) fn with_backend(config: ClientConfig, backend: Arc<dyn Backend>) -> Self {
        Self {
            backend,
            hub: Arc::default(),
            cancel_root: Mutex::new(Token::new()),
            device: config.device,
            call_timeout: Duration::from_millis(config.call_timeout_ms.max(1)),
        }
    }

    /// Runs one call on the SDK runtime with cancellation, the whole-call timeout and status tracking.
    async fn call<T, F>(&self, extra: Option<Token>, fut: F) -> Result<T, MomentsError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, MomentsError>> + Send + 'static,
    {
        let root = self.cancel_root.lock().unwrap_or_else(|e| e.into_inner()).child_token();
        let extra = extra.unwrap_or_default();
        let hub = Arc::clone(&self.hub);
        let timeout = self.call_timeout;
        run(async move {
            let result = tokio::select! {
                biased;
                _ = root.cancelled() => Err(MomentsError::cancelled()),
                _ = extra.cancelled() => Err(MomentsError::cancelled()),
                r = tokio::time::timeout(timeout, fut) => r.unwrap_or_else(|_| Err(MomentsError::Network {
                    code: "timeout".into(),
                    reason: format!("the call did not complete within {} ms", timeout.as_millis()),
                    request_id: None,
                    retryable: true,
                })),
            };
            if let Some(status) = status_after(&result) {
                hub.set_status(status);
            }
            result
        })
        .await
    }
}

/// The status a call's result implies, if it says anything about connectivity or auth.
pub(crate) fn status_after<T>(result: &Result<T, MomentsError>) -> Option<ClientStatus> {
    match result {
        Ok(_) => Some(ClientStatus::Online),
        Err(MomentsError::Network { code, .. }) => Some(ClientStatus::Offline { code: code.clone() }),
        Err(MomentsError::TokenProvider { code, .. }) => Some(ClientStatus::Unauthenticated { code: code.clone() }),
        Err(MomentsError::Api { code, .. })
            if matches!(code.as_str(), "token_expired" | "invalid_api_key" | "authentication_required") =>
        {
            Some(ClientStatus::Unauthenticated { code: code.clone() })
        }
        Err(MomentsError::Api { .. }) => Some(ClientStatus::Online),
        Err(_) => None,
    }
}

fn check_id(name: &str, value: &str) -> Result<(), MomentsError> {
    let ok = (1..=64).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(MomentsError::invalid_argument(format!("{name} must match ^[A-Za-z0-9_-]{{1,64}}$"))) }
}

/// A fresh idempotency key: 128 random bits, hex.
fn new_idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source failed");
    format!("mob_{}", hex::encode(bytes))
}
