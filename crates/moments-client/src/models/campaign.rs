//! Campaigns, moments, reward groups.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Money, string_enum};

string_enum! {
    /// A campaign's lifecycle status.
    CampaignStatus {
        /// Being written.
        Draft = "draft",
        /// Submitted, waiting for review.
        PendingApproval = "pending_approval",
        /// Approved; not yet live (test mode).
        Approved = "approved",
        /// Running.
        Live = "live",
        /// Over.
        Finished = "finished",
        /// Refused by review.
        Rejected = "rejected",
        /// Paused.
        Suspended = "suspended",
    }
}

/// An A/B variant of a reward group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// Variant id.
    pub id: String,
    /// Weight, 1–10000.
    pub weight: u32,
    /// Items, in fallback order.
    pub items: Vec<String>,
    /// Overrides the group's cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_action: Option<Money>,
}

/// The rewards of one marketplace (optionally one segment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardGroup {
    /// Group id, chosen by the brand (e.g. `US`).
    pub id: String,
    /// The marketplace it serves.
    pub marketplace: String,
    /// Segments it serves (empty = the marketplace's default group).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    /// Items, in fallback order (unused when `variants` is set).
    #[serde(default)]
    pub items: Vec<String>,
    /// Overrides the campaign's cost per action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_action: Option<Money>,
    /// A/B variants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
}

impl RewardGroup {
    /// The default group of `marketplace` with `items`.
    pub fn new(id: impl Into<String>, marketplace: impl Into<String>, items: Vec<String>) -> Self {
        Self {
            id: id.into(),
            marketplace: marketplace.into(),
            segments: Vec::new(),
            items,
            cost_per_action: None,
            variants: Vec::new(),
        }
    }
}

/// A goal: `target` within a sliding window of `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// Sum of quantities to reach, 1–1,000,000.
    pub target: u64,
    /// The window.
    pub window_seconds: u64,
}

/// At most `max_rewards` per customer per moment within `period_seconds` (`None` = ever).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrequencyCap {
    /// 1–1000.
    pub max_rewards: u32,
    /// The period; `None` for the campaign's whole life.
    #[serde(default)]
    pub period_seconds: Option<u64>,
}

/// An action that earns a reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    /// Moment id, chosen by the brand.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether customer tokens may report it.
    #[serde(default)]
    pub client_reportable: bool,
    /// A goal to reach before the reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<Goal>,
    /// Frequency cap (server default: one per customer per campaign).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_cap: Option<FrequencyCap>,
}

impl Moment {
    /// A moment without goal, not client reportable.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            client_reportable: false,
            goal: None,
            frequency_cap: None,
        }
    }
}

/// Fraud controls of a campaign (server defaults when absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudSettings {
    /// Default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_actions_per_customer_per_hour: Option<u32>,
    /// Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_actions_per_device_per_hour: Option<u32>,
    /// Default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_actions_per_ip_per_hour: Option<u32>,
    /// Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_customers_per_device: Option<u32>,
}

/// Body of `POST /v1/campaigns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignCreate {
    /// 1–200 chars.
    pub name: String,
    /// Shown on the landing page.
    pub brand_name: String,
    /// Start.
    pub start_at: DateTime<Utc>,
    /// End (after start).
    pub end_at: DateTime<Utc>,
    /// Monthly budget in USD, $50–$5,000.
    pub budget: Money,
    /// Charged per reward unless a group or variant sets its own.
    pub cost_per_action: Money,
    /// Targeted marketplaces.
    pub marketplaces: Vec<String>,
    /// Reward groups.
    pub reward_groups: Vec<RewardGroup>,
    /// Moments.
    pub moments: Vec<Moment>,
    /// Shown when announcing the challenge.
    pub announcement_message: String,
    /// Shown on the landing page.
    pub redemption_message: String,
    /// Landing page image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_image_url: Option<String>,
    /// Reward lifetime (default 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_expiry_seconds: Option<u64>,
    /// Fraud controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraud: Option<FraudSettings>,
}

/// Body of `PATCH /v1/campaigns/{id}`: any subset of the create fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignUpdate {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New brand name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_name: Option<String>,
    /// New start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<DateTime<Utc>>,
    /// New end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_at: Option<DateTime<Utc>>,
    /// New monthly budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Money>,
    /// New cost per action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_action: Option<Money>,
    /// New marketplaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplaces: Option<Vec<String>>,
    /// New reward groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_groups: Option<Vec<RewardGroup>>,
    /// New moments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moments: Option<Vec<Moment>>,
    /// New announcement message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement_message: Option<String>,
    /// New redemption message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redemption_message: Option<String>,
    /// New landing image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_image_url: Option<String>,
    /// New reward lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_expiry_seconds: Option<u64>,
    /// New fraud controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraud: Option<FraudSettings>,
}

/// This month's spend of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSpend {
    /// `2026-11`
    pub month: String,
    /// Net charge (issued minus refunded).
    pub spent: Money,
    /// Refunds.
    pub refunded: Money,
    /// `budget - spent`.
    pub remaining: Money,
}

/// A campaign: the create fields with defaults filled in, plus its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// `cmp_…`
    pub id: String,
    /// `app_…`
    pub app_id: String,
    /// Lifecycle status.
    pub status: CampaignStatus,
    /// Name.
    pub name: String,
    /// Brand name.
    pub brand_name: String,
    /// Start.
    pub start_at: DateTime<Utc>,
    /// End.
    pub end_at: DateTime<Utc>,
    /// Monthly budget.
    pub budget: Money,
    /// Default cost per action.
    pub cost_per_action: Money,
    /// Targeted marketplaces.
    #[serde(default)]
    pub marketplaces: Vec<String>,
    /// Reward groups.
    #[serde(default)]
    pub reward_groups: Vec<RewardGroup>,
    /// Moments.
    #[serde(default)]
    pub moments: Vec<Moment>,
    /// Announcement message.
    pub announcement_message: String,
    /// Redemption message.
    pub redemption_message: String,
    /// Landing image.
    #[serde(default)]
    pub landing_image_url: Option<String>,
    /// Reward lifetime.
    #[serde(default)]
    pub reward_expiry_seconds: Option<u64>,
    /// Fraud controls, defaults filled in.
    #[serde(default)]
    pub fraud: Option<FraudSettings>,
    /// Why review refused it.
    #[serde(default)]
    pub rejection_reason: Option<String>,
    /// This month's spend.
    #[serde(default)]
    pub spend: Option<CampaignSpend>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Query of `GET /v1/campaigns`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignListParams {
    /// Only campaigns in this status.
    pub status: Option<CampaignStatus>,
    /// Page size, 1–100.
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}
