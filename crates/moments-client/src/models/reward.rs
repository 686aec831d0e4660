//! Triggers, rewards, progress, reward info, redemptions, fraud reviews.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CampaignStatus, DeviceType, Goal, ItemKind, Money, string_enum};

string_enum! {
    /// A reward's status.
    RewardStatus {
        /// Issued; the link works.
        Issued = "issued",
        /// The customer redeemed it.
        Redeemed = "redeemed",
        /// A physical item shipped.
        Shipped = "shipped",
        /// A physical item arrived.
        Delivered = "delivered",
        /// Expired unredeemed (refunded).
        Expired = "expired",
        /// Cancelled by the brand (refunded).
        Cancelled = "cancelled",
        /// Held for fraud review.
        Flagged = "flagged",
        /// Blocked after review (refunded).
        Blocked = "blocked",
    }
}

string_enum! {
    /// What a trigger came to.
    Outcome {
        /// A reward was issued.
        Reward = "reward",
        /// A goal moment is not met yet.
        Progress = "progress",
    }
}

string_enum! {
    /// A fraud review's decision.
    ReviewDecision {
        /// Waiting for review.
        Held = "held",
        /// Released: the reward is issued.
        Released = "released",
        /// Blocked: the reward is refunded.
        Blocked = "blocked",
    }
}

string_enum! {
    /// Why a reward was flagged or a trigger refused.
    FraudReason {
        /// Too many customers on one device.
        DeviceShared = "device_shared",
        /// Too many actions by the customer.
        VelocityCustomer = "velocity_customer",
        /// Too many actions from the device.
        VelocityDevice = "velocity_device",
        /// Too many actions from the IP.
        VelocityIp = "velocity_ip",
    }
}

/// The customer of a trigger (required with a secret key, omitted with a customer token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerCustomer {
    /// The brand's customer id.
    pub id: String,
    /// The customer's marketplace.
    pub marketplace: String,
    /// The customer's segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
}

/// The device that reported the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerDevice {
    /// Platform.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// A stable device identifier (fraud controls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The customer's IP as seen by the brand's server (secret key only: a customer token's IP is
    /// its connection's address, and naming one is `403 forbidden`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// Body of `POST /v1/triggers`.
///
/// ```
/// use moments_client::models::{DeviceType, TriggerRequest};
/// let req = TriggerRequest::new("cmp_123", "first_workout", DeviceType::Android)
///     .customer("cust_42", "US")
///     .device_id("install-8f2c");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRequest {
    /// The campaign.
    pub campaign_id: String,
    /// A moment of the campaign.
    pub moment_id: String,
    /// The customer (omit with a customer token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<TriggerCustomer>,
    /// The device.
    pub device: TriggerDevice,
    /// Force a reward group (secret key only; with a customer token it is `403 forbidden`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_group_id: Option<String>,
    /// What this action adds to a goal (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// When it happened on the device (kept on the issued reward as `occurred_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
}

impl TriggerRequest {
    /// A trigger of `moment_id` of `campaign_id` from a device of `device_type`.
    pub fn new(
        campaign_id: impl Into<String>,
        moment_id: impl Into<String>,
        device_type: DeviceType,
    ) -> Self {
        Self {
            campaign_id: campaign_id.into(),
            moment_id: moment_id.into(),
            customer: None,
            device: TriggerDevice {
                device_type,
                id: None,
                ip: None,
            },
            reward_group_id: None,
            quantity: None,
            occurred_at: None,
        }
    }

    /// Sets the customer (secret-key calls).
    pub fn customer(mut self, id: impl Into<String>, marketplace: impl Into<String>) -> Self {
        self.customer = Some(TriggerCustomer {
            id: id.into(),
            marketplace: marketplace.into(),
            segment: None,
        });
        self
    }

    /// Sets the customer's segment (after [`customer`](Self::customer)).
    pub fn segment(mut self, segment: impl Into<String>) -> Self {
        if let Some(c) = &mut self.customer {
            c.segment = Some(segment.into());
        }
        self
    }

    /// Sets the device id.
    pub fn device_id(mut self, id: impl Into<String>) -> Self {
        self.device.id = Some(id.into());
        self
    }

    /// Sets the customer's IP (secret-key calls; a customer token's call is refused with it).
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.device.ip = Some(ip.into());
        self
    }

    /// Forces a reward group (secret-key calls; a customer token's call is refused with it).
    pub fn reward_group(mut self, id: impl Into<String>) -> Self {
        self.reward_group_id = Some(id.into());
        self
    }

    /// Sets the quantity.
    pub fn quantity(mut self, q: u32) -> Self {
        self.quantity = Some(q);
        self
    }

    /// Sets when it happened.
    pub fn occurred_at(mut self, t: DateTime<Utc>) -> Self {
        self.occurred_at = Some(t);
        self
    }
}

/// An item offered by a reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferItem {
    /// `itm_…`
    pub item_id: String,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: ItemKind,
    /// Value in the marketplace's currency.
    pub value: Money,
    /// Image.
    #[serde(default)]
    pub image_url: Option<String>,
}

/// The items a reward offers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The choices, in order.
    #[serde(default)]
    pub items: Vec<OfferItem>,
}

/// A fraud flag on a reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardFlag {
    /// Why.
    pub reason_code: FraudReason,
    /// The decision.
    pub decision: ReviewDecision,
    /// When decided.
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

/// An issued reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reward {
    /// `rwd_…`
    pub id: String,
    /// Campaign.
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// Reward group.
    pub reward_group_id: String,
    /// A/B variant.
    #[serde(default)]
    pub variant_id: Option<String>,
    /// Customer (`None` for compatibility-endpoint rewards).
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Marketplace.
    pub marketplace: String,
    /// Segment.
    #[serde(default)]
    pub segment: Option<String>,
    /// Device type of the trigger.
    pub device_type: DeviceType,
    /// Status.
    pub status: RewardStatus,
    /// A test-mode reward (consumes nothing).
    #[serde(default)]
    pub test: bool,
    /// The reward link.
    pub url: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// What it cost the campaign.
    pub cost: Money,
    /// What the customer may pick.
    #[serde(default)]
    pub offer: Offer,
    /// Fraud flag.
    #[serde(default)]
    pub flag: Option<RewardFlag>,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// When the action happened on the device, as the trigger's `occurred_at` said.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
    /// Redemption time.
    #[serde(default)]
    pub redeemed_at: Option<DateTime<Utc>>,
    /// Shipping time.
    #[serde(default)]
    pub shipped_at: Option<DateTime<Utc>>,
    /// Delivery time.
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Expiry time (when it expired).
    #[serde(default)]
    pub expired_at: Option<DateTime<Utc>>,
    /// Cancellation time.
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// Query of `GET /v1/rewards`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewardListParams {
    /// Only this campaign's.
    pub campaign_id: Option<String>,
    /// Only this moment's.
    pub moment_id: Option<String>,
    /// Only this customer's.
    pub customer_id: Option<String>,
    /// Only in this status.
    pub status: Option<RewardStatus>,
    /// Page size, 1–100.
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// A customer's progress toward a goal moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Campaign.
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// Customer.
    pub customer_id: String,
    /// Sum of quantities in the window.
    pub current: u64,
    /// The goal.
    pub target: u64,
    /// The window.
    pub window_seconds: u64,
    /// Time of the oldest action still counted.
    #[serde(default)]
    pub window_started_at: Option<DateTime<Utc>>,
    /// Whether the goal is met.
    #[serde(default)]
    pub completed: bool,
}

/// The answer of `POST /v1/triggers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerResult {
    /// `reward` or `progress`.
    pub outcome: Outcome,
    /// Campaign.
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// Customer.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// The reward, when `outcome` is `reward`.
    #[serde(default)]
    pub reward: Option<Reward>,
    /// The progress, when `outcome` is `progress`.
    #[serde(default)]
    pub progress: Option<Progress>,
}

/// A trigger's result with what the transport saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerOutcome {
    /// The answer.
    pub result: TriggerResult,
    /// `true` when the server replayed an earlier answer for the idempotency key.
    pub replayed: bool,
    /// The idempotency key the call used.
    pub idempotency_key: String,
    /// `X-Request-Id` of the answer.
    pub request_id: Option<String>,
}

impl TriggerOutcome {
    /// The reward, if one was issued.
    pub fn reward(&self) -> Option<&Reward> {
        self.result.reward.as_ref()
    }

    /// The progress, if a goal is not met yet.
    pub fn progress(&self) -> Option<&Progress> {
        self.result.progress.as_ref()
    }
}

/// Describes the reward of a moment (consumes nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardInfo {
    /// Campaign.
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// The campaign's status.
    pub campaign_status: CampaignStatus,
    /// The group that would serve the customer.
    pub reward_group_id: String,
    /// The customer's variant.
    #[serde(default)]
    pub variant_id: Option<String>,
    /// The announcement message.
    pub announcement_message: String,
    /// Image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// When the campaign ends.
    pub campaign_end_at: DateTime<Utc>,
    /// Rewards that can still be issued for that group now.
    pub remaining_reward_count: i64,
    /// The offer.
    #[serde(default)]
    pub offer: Offer,
    /// Cost per reward.
    pub cost_per_action: Money,
    /// The moment's goal.
    #[serde(default)]
    pub goal: Option<Goal>,
}

/// Query of `GET /v1/campaigns/{id}/moments/{moment_id}/reward_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewardInfoParams {
    /// Marketplace (secret key only; taken from the token otherwise).
    pub marketplace: Option<String>,
    /// Segment.
    pub segment: Option<String>,
}

/// A shipping address, for physical items.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingAddress {
    /// Recipient.
    pub name: String,
    /// Line 1.
    pub line1: String,
    /// Line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// Country.
    pub country: String,
}

impl std::fmt::Debug for ShippingAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A customer's address is private data: keep it out of logs.
        f.write_str("ShippingAddress(<redacted>)")
    }
}

/// Body of `POST /v1/redemptions/{token}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemRequest {
    /// The chosen item.
    pub item_id: String,
    /// Required for physical items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<ShippingAddress>,
}

/// The JSON twin of a reward landing page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    /// The reward.
    pub reward_id: String,
    /// Its status.
    pub status: RewardStatus,
    /// Brand.
    pub brand_name: String,
    /// Message.
    pub redemption_message: String,
    /// Image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Items to choose from.
    #[serde(default)]
    pub choices: Vec<OfferItem>,
    /// Whether a shipping address is needed.
    #[serde(default)]
    pub requires_shipping: bool,
    /// The redeemed item.
    #[serde(default)]
    pub redeemed_item: Option<OfferItem>,
    /// The code of a digital item.
    #[serde(default)]
    pub digital_code: Option<String>,
}

/// A reward held for fraud review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudReview {
    /// The reward.
    pub reward_id: String,
    /// Its campaign.
    pub campaign_id: String,
    /// Why.
    pub reason_code: FraudReason,
    /// The decision.
    pub decision: ReviewDecision,
    /// When held.
    pub created_at: DateTime<Utc>,
    /// When decided.
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

/// Query of `GET /v1/fraud_reviews`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FraudReviewListParams {
    /// Only with this decision.
    pub status: Option<ReviewDecision>,
    /// Only this campaign's.
    pub campaign_id: Option<String>,
    /// Page size, 1–100.
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}
