//! The seam between the FFI layer and `moments-client`.
//!
//! `MomentsClient` talks to a `Backend`; the real one wraps `moments_client`, the unit tests use a fake.

use std::sync::Arc;

use crate::error::MomentsError;
use crate::token::TokenProvider;
use crate::types::{ActionOutcome, ClientConfig, DeviceInfo, Progress, Reward, RewardInfo};

/// One reported action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TriggerInput {
    pub campaign_id: String,
    pub moment_id: String,
    pub quantity: u32,
    pub device: DeviceInfo,
    /// Made once per logical call, reused on every retry.
    pub idempotency_key: String,
}

/// The API calls the mobile SDK makes, with a customer token.
#[async_trait::async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    async fn reward_info(&self, campaign_id: &str, moment_id: &str) -> Result<RewardInfo, MomentsError>;
    async fn trigger(&self, input: TriggerInput) -> Result<ActionOutcome, MomentsError>;
    async fn my_rewards(&self, campaign_id: Option<String>) -> Result<Vec<Reward>, MomentsError>;
    async fn my_progress(&self, campaign_id: Option<String>) -> Result<Vec<Progress>, MomentsError>;
}

/// Builds the real backend over `moments-client`. Does no I/O.
pub(crate) fn connect(
    config: &ClientConfig,
    token_provider: Arc<dyn TokenProvider>,
) -> Result<Arc<dyn Backend>, MomentsError> {
    let _ = (config, token_provider);
    Err(MomentsError::internal("moments-client is not wired in yet"))
}
