//! The compatibility endpoints' bodies (camelCase, as the original service).

use serde::{Deserialize, Serialize};

use super::DeviceType;

/// Body of `POST /prod/GetRewardInfo` and `POST /prod/GetReward`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyRewardRequest {
    /// `app_…`
    pub app_id: String,
    /// The moment.
    pub moment_id: String,
    /// The device type.
    pub device_type: DeviceType,
    /// The campaign.
    pub campaign_id: String,
    /// The reward group (e.g. `US`).
    pub reward_group_id: String,
}

/// Answer of the compatibility endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyRewardResponse {
    /// Announcement message (GetRewardInfo) or redemption message (GetReward).
    #[serde(default)]
    pub reward_notification_text: Option<String>,
    /// The reward URL (GetReward); `None` for GetRewardInfo.
    #[serde(default)]
    pub reward_notification_url: Option<String>,
    /// End of the campaign, RFC 3339 (kept as the server wrote it).
    #[serde(default)]
    pub campaign_end_date: Option<String>,
    /// Image.
    #[serde(default)]
    pub reward_image_url: Option<String>,
    /// Rewards that can still be issued.
    #[serde(default)]
    pub remaining_reward_count: Option<i64>,
}
