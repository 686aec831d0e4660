//! Wire types of the v1 API (request and response bodies), with their OpenAPI schemas.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::money::Money;
use crate::list_schema;

/// The app.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct App {
    /// `app`.
    pub object: String,
    /// `app_…`.
    pub id: String,
    /// `acct_…`.
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// Masked legacy key.
    pub legacy_api_key_hint: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A secret API key (masked except on create).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    /// `api_key`.
    pub object: String,
    /// `key_…`.
    pub id: String,
    /// Optional label.
    pub name: Option<String>,
    /// The secret, only in the create answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Masked secret.
    pub hint: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}
list_schema!(ApiKeyList, ApiKey);

/// Body of `POST /v1/api_keys`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    /// Optional label.
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

/// Body of `POST /v1/customer_tokens`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerTokenCreate {
    /// The customer.
    #[schema(pattern = r"^[A-Za-z0-9_.:@-]{1,128}$")]
    pub customer_id: String,
    /// The customer's marketplace.
    pub marketplace: String,
    /// Optional segment.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub segment: Option<String>,
    /// 60–86400, default 900.
    #[schema(minimum = 60, maximum = 86400)]
    pub ttl_seconds: Option<i64>,
}

/// A customer token.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerToken {
    /// `customer_token`.
    pub object: String,
    /// `ct_…`.
    pub token: String,
    /// The customer.
    pub customer_id: String,
    /// Marketplace.
    pub marketplace: String,
    /// Segment.
    pub segment: Option<String>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Seconds until expiry at issue.
    pub expires_in_seconds: i64,
}

/// Item kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Shipped.
    Physical,
    /// A code shown on redemption.
    Digital,
    /// A credit.
    Credit,
}

/// A catalog item.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// `item`.
    #[serde(default = "item_object")]
    pub object: String,
    /// `itm_…`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Kind.
    pub kind: ItemKind,
    /// Image URL.
    pub image_url: Option<String>,
    /// Price per marketplace (keys are the marketplaces it is sold in).
    pub prices: std::collections::BTreeMap<String, Money>,
    /// Units left per marketplace.
    #[serde(default)]
    pub stock: std::collections::BTreeMap<String, i64>,
}
fn item_object() -> String {
    "item".into()
}
list_schema!(ItemList, Item);

/// A campaign status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Editable.
    Draft,
    /// Waiting for review.
    PendingApproval,
    /// Approved, not yet live (test mode).
    Approved,
    /// Rejected by review.
    Rejected,
    /// Issuing rewards.
    Live,
    /// Paused.
    Suspended,
    /// Over.
    Finished,
}

impl CampaignStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::PendingApproval => "pending_approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Live => "live",
            Self::Suspended => "suspended",
            Self::Finished => "finished",
        }
    }
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// A/B variant of a reward group.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Variant id.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    /// Weight 1–10000.
    #[schema(minimum = 1, maximum = 10000)]
    pub weight: i64,
    /// Items in fallback order.
    #[schema(min_items = 1, max_items = 10)]
    pub items: Vec<String>,
    /// Own cost per action.
    pub cost_per_action: Option<Money>,
}

/// Rewards for one marketplace (optionally per segment, optionally A/B tested).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardGroup {
    /// Group id.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    /// Marketplace.
    pub marketplace: String,
    /// Segments served; empty = default group.
    #[serde(default)]
    pub segments: Vec<String>,
    /// Items in fallback order.
    #[serde(default)]
    pub items: Vec<String>,
    /// Own cost per action.
    pub cost_per_action: Option<Money>,
    /// Variants.
    #[serde(default)]
    pub variants: Vec<Variant>,
}

/// Goal: `target` within `window_seconds`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// 1–1,000,000.
    #[schema(minimum = 1, maximum = 1000000)]
    pub target: i64,
    /// Sliding window.
    #[schema(minimum = 1, maximum = 315360000)]
    pub window_seconds: i64,
}

/// Frequency cap.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    /// 1–1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub max_rewards: i64,
    /// Window; `null` = the campaign's whole life.
    #[schema(minimum = 1)]
    pub period_seconds: Option<i64>,
}

/// A moment.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Moment {
    /// Moment id.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Whether customer tokens may report it.
    #[serde(default)]
    pub client_reportable: bool,
    /// Goal.
    pub goal: Option<Goal>,
    /// Frequency cap (default one per customer for the campaign's life).
    pub frequency_cap: Option<FrequencyCap>,
}

/// Fraud settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FraudSettings {
    /// Default 20.
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_actions_per_customer_per_hour: Option<i64>,
    /// Default 30.
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_actions_per_device_per_hour: Option<i64>,
    /// Default 100.
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_actions_per_ip_per_hour: Option<i64>,
    /// Default 3.
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_customers_per_device: Option<i64>,
}

/// Body of `POST /v1/campaigns`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignCreate {
    /// 1–200 chars.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// 1–100 chars.
    #[schema(min_length = 1, max_length = 100)]
    pub brand_name: String,
    /// Start.
    pub start_at: DateTime<Utc>,
    /// End (> start).
    pub end_at: DateTime<Utc>,
    /// Monthly budget (USD), 5000–500000.
    pub budget: Money,
    /// Cost per reward (USD).
    pub cost_per_action: Money,
    /// Targeted marketplaces.
    pub marketplaces: Vec<String>,
    /// Reward groups.
    #[schema(min_items = 1, max_items = 100)]
    pub reward_groups: Vec<RewardGroup>,
    /// Moments.
    #[schema(min_items = 1, max_items = 50)]
    pub moments: Vec<Moment>,
    /// Announcement (GetRewardInfo).
    #[schema(min_length = 1, max_length = 500)]
    pub announcement_message: String,
    /// Shown on the landing page.
    #[schema(min_length = 1, max_length = 500)]
    pub redemption_message: String,
    /// Landing image.
    #[schema(pattern = r"^https?://")]
    pub landing_image_url: Option<String>,
    /// Default 2592000.
    #[schema(minimum = 3600, maximum = 31536000)]
    pub reward_expiry_seconds: Option<i64>,
    /// Fraud settings.
    pub fraud: Option<FraudSettings>,
}

/// Body of `PATCH /v1/campaigns/{id}`: any subset of the create fields.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignUpdate {
    /// Name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Brand.
    #[schema(min_length = 1, max_length = 100)]
    pub brand_name: Option<String>,
    /// Start.
    pub start_at: Option<DateTime<Utc>>,
    /// End.
    pub end_at: Option<DateTime<Utc>>,
    /// Budget.
    pub budget: Option<Money>,
    /// Cost per action.
    pub cost_per_action: Option<Money>,
    /// Marketplaces.
    pub marketplaces: Option<Vec<String>>,
    /// Reward groups.
    #[schema(min_items = 1, max_items = 100)]
    pub reward_groups: Option<Vec<RewardGroup>>,
    /// Moments.
    #[schema(min_items = 1, max_items = 50)]
    pub moments: Option<Vec<Moment>>,
    /// Announcement.
    #[schema(min_length = 1, max_length = 500)]
    pub announcement_message: Option<String>,
    /// Redemption message.
    #[schema(min_length = 1, max_length = 500)]
    pub redemption_message: Option<String>,
    /// Landing image.
    #[schema(pattern = r"^https?://")]
    pub landing_image_url: Option<String>,
    /// Reward expiry.
    #[schema(minimum = 3600, maximum = 31536000)]
    pub reward_expiry_seconds: Option<i64>,
    /// Fraud.
    pub fraud: Option<FraudSettings>,
}

/// Body of `POST /v1/campaigns/{id}/reject`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// This month's spend of a campaign.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignSpend {
    /// `YYYY-MM`.
    pub month: String,
    /// Net charge (issued minus refunded).
    pub spent: Money,
    /// Refunded.
    pub refunded: Money,
    /// `budget - spent`.
    pub remaining: Money,
}

/// A campaign.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    /// `campaign`.
    pub object: String,
    /// `cmp_…`.
    pub id: String,
    /// Owner app.
    pub app_id: String,
    /// Status.
    pub status: CampaignStatus,
    /// Name.
    pub name: String,
    /// Brand.
    pub brand_name: String,
    /// Start.
    pub start_at: DateTime<Utc>,
    /// End.
    pub end_at: DateTime<Utc>,
    /// Monthly budget.
    pub budget: Money,
    /// Cost per action.
    pub cost_per_action: Money,
    /// Marketplaces.
    pub marketplaces: Vec<String>,
    /// Reward groups.
    pub reward_groups: Vec<RewardGroup>,
    /// Moments.
    pub moments: Vec<Moment>,
    /// Announcement.
    pub announcement_message: String,
    /// Redemption message.
    pub redemption_message: String,
    /// Landing image.
    pub landing_image_url: Option<String>,
    /// Reward expiry.
    pub reward_expiry_seconds: i64,
    /// Fraud settings, defaults filled in.
    pub fraud: FraudSettings,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// This month's spend.
    pub spend: CampaignSpend,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
}
list_schema!(CampaignList, Campaign);

/// Device type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum DeviceType {
    /// Android.
    Android,
    /// iOS.
    #[serde(rename = "iOS")]
    Ios,
    /// FireOS.
    FireOS,
    /// Web.
    Web,
}

/// The customer of a trigger.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerCustomer {
    /// Customer id.
    #[schema(pattern = r"^[A-Za-z0-9_.:@-]{1,128}$")]
    pub id: String,
    /// Marketplace.
    pub marketplace: String,
    /// Segment.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub segment: Option<String>,
}

/// The device of a trigger.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerDevice {
    /// Device type.
    #[serde(rename = "type")]
    pub kind: DeviceType,
    /// Stable device id.
    #[schema(min_length = 1, max_length = 200)]
    pub id: Option<String>,
    /// Customer IP.
    pub ip: Option<String>,
}

/// Body of `POST /v1/triggers`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Campaign.
    #[schema(min_length = 1)]
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// Customer (required with a secret key).
    pub customer: Option<TriggerCustomer>,
    /// Device.
    pub device: TriggerDevice,
    /// Force a reward group.
    pub reward_group_id: Option<String>,
    /// Default 1.
    #[schema(minimum = 1, maximum = 1000000)]
    pub quantity: Option<i64>,
    /// When it happened on the device.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// One choice of an offer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferItem {
    /// Item id.
    pub item_id: String,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: ItemKind,
    /// Value in the marketplace currency.
    pub value: Money,
    /// Image.
    pub image_url: Option<String>,
}

/// What a reward offers.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Offer {
    /// Choices, in order.
    pub items: Vec<OfferItem>,
}

/// Reward status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RewardStatus {
    /// Issued.
    Issued,
    /// Redeemed.
    Redeemed,
    /// Shipped.
    Shipped,
    /// Delivered.
    Delivered,
    /// Expired (refunded).
    Expired,
    /// Cancelled (refunded).
    Cancelled,
    /// Held for review.
    Flagged,
    /// Blocked (refunded).
    Blocked,
}

impl RewardStatus {
    /// Whether the customer redeemed it.
    pub fn is_redeemed(self) -> bool {
        matches!(self, Self::Redeemed | Self::Shipped | Self::Delivered)
    }
}

/// Fraud flag on a reward.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RewardFlag {
    /// Reason.
    pub reason_code: String,
    /// `held`, `released` or `blocked`.
    pub decision: String,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
}

/// A reward.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Reward {
    /// `reward`.
    #[schema(value_type = String)]
    pub object: std::borrow::Cow<'static, str>,
    /// `rwd_…` (one allocation shared by the state's indexes of the reward).
    #[schema(value_type = String)]
    pub id: Arc<str>,
    /// Campaign.
    #[schema(value_type = String)]
    pub campaign_id: Arc<str>,
    /// Moment.
    #[schema(value_type = String)]
    pub moment_id: Arc<str>,
    /// Reward group.
    #[schema(value_type = String)]
    pub reward_group_id: Arc<str>,
    /// Variant.
    #[schema(value_type = Option<String>)]
    pub variant_id: Option<Arc<str>>,
    /// Customer (null for compat rewards).
    pub customer_id: Option<String>,
    /// Marketplace.
    #[schema(value_type = String)]
    pub marketplace: Arc<str>,
    /// Segment.
    #[schema(value_type = Option<String>)]
    pub segment: Option<Arc<str>>,
    /// Device type.
    pub device_type: DeviceType,
    /// Status.
    pub status: RewardStatus,
    /// Test reward.
    pub test: bool,
    /// The reward link.
    pub url: String,
    /// Expiry.
    #[serde(serialize_with = "wire_time")]
    pub expires_at: DateTime<Utc>,
    /// Cost charged.
    pub cost: Money,
    /// The offer.
    #[schema(value_type = Offer)]
    pub offer: std::sync::Arc<Offer>,
    /// Fraud flag (boxed: most rewards have none, and every stored reward carries the field).
    pub flag: Option<Box<RewardFlag>>,
    /// Created.
    #[serde(serialize_with = "wire_time")]
    pub created_at: DateTime<Utc>,
    /// When the action happened on the device, as the trigger's `occurred_at` said (null when it
    /// did not say).
    #[serde(serialize_with = "wire_time_opt")]
    pub occurred_at: Option<DateTime<Utc>>,
    /// Redeemed.
    #[serde(serialize_with = "wire_time_opt")]
    pub redeemed_at: Option<DateTime<Utc>>,
    /// Shipped.
    #[serde(serialize_with = "wire_time_opt")]
    pub shipped_at: Option<DateTime<Utc>>,
    /// Delivered.
    #[serde(serialize_with = "wire_time_opt")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Expired.
    #[serde(serialize_with = "wire_time_opt")]
    pub expired_at: Option<DateTime<Utc>>,
    /// Cancelled.
    #[serde(serialize_with = "wire_time_opt")]
    pub cancelled_at: Option<DateTime<Utc>>,
}
list_schema!(RewardList, Reward);

/// A [`Reward`]'s time as chrono's serde writes it (RFC 3339, `Z`, a fraction only when there is one),
/// formatted into a string first: serde_json then escapes it once instead of once per character
/// chrono writes, which cost ~1,000 instructions per time (two per trigger answer; callgrind).
fn wire_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// [`wire_time`] for an optional time.
fn wire_time_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => wire_time(t, s),
        None => s.serialize_none(),
    }
}

/// Goal progress of a customer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    /// `progress`.
    pub object: String,
    /// Campaign.
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// Customer.
    pub customer_id: String,
    /// Sum of quantities in the window.
    pub current: i64,
    /// Target.
    pub target: i64,
    /// Window.
    pub window_seconds: i64,
    /// Oldest counted action.
    pub window_started_at: Option<DateTime<Utc>>,
    /// Whether the goal was just met.
    pub completed: bool,
}
list_schema!(ProgressList, Progress);

/// Answer of `POST /v1/triggers`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TriggerResult {
    /// `trigger_result`.
    pub object: String,
    /// `reward` or `progress`.
    pub outcome: String,
    /// Campaign.
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// Customer.
    pub customer_id: String,
    /// The reward.
    pub reward: Option<Reward>,
    /// The progress.
    pub progress: Option<Progress>,
}

/// Shipping address.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    /// Recipient.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// Line 1.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub line1: String,
    /// Line 2.
    pub line2: Option<String>,
    /// City.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub city: String,
    /// Postal code.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub postal_code: String,
    /// Country.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub country: String,
}

/// Body of `POST /v1/redemptions/{token}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The chosen item.
    pub item_id: String,
    /// Required for physical items.
    pub shipping_address: Option<ShippingAddress>,
}

/// The JSON twin of the landing page.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Redemption {
    /// `redemption`.
    pub object: String,
    /// Reward.
    pub reward_id: String,
    /// Reward status.
    pub status: RewardStatus,
    /// Brand.
    pub brand_name: String,
    /// Message.
    pub redemption_message: String,
    /// Image.
    pub image_url: Option<String>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Choices.
    pub choices: Vec<OfferItem>,
    /// Whether a shipping address is needed.
    pub requires_shipping: bool,
    /// The chosen item, once redeemed.
    pub redeemed_item: Option<OfferItem>,
    /// Code of a digital item, once redeemed.
    pub digital_code: Option<String>,
}

/// Answer of the reward-info route.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RewardInfo {
    /// `reward_info`.
    pub object: String,
    /// Campaign.
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// Campaign status.
    pub campaign_status: CampaignStatus,
    /// Group.
    pub reward_group_id: String,
    /// Variant.
    pub variant_id: Option<String>,
    /// Announcement.
    pub announcement_message: String,
    /// Image.
    pub image_url: Option<String>,
    /// Campaign end.
    pub campaign_end_at: DateTime<Utc>,
    /// Rewards that can still be issued now for that group.
    pub remaining_reward_count: i64,
    /// Offer.
    pub offer: Offer,
    /// Cost per action.
    pub cost_per_action: Money,
    /// Goal.
    pub goal: Option<Goal>,
}

/// A fraud review.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FraudReview {
    /// `fraud_review`.
    pub object: String,
    /// Reward.
    pub reward_id: String,
    /// Campaign.
    pub campaign_id: String,
    /// Reason.
    pub reason_code: String,
    /// `held`, `released`, `blocked`.
    pub decision: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Decided.
    pub decided_at: Option<DateTime<Utc>>,
}
list_schema!(FraudReviewList, FraudReview);

/// Report metrics.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Metrics {
    /// Accepted actions.
    pub actions: i64,
    /// Rewards issued.
    pub rewards_issued: i64,
    /// Rewards redeemed.
    pub rewards_redeemed: i64,
    /// Rewards expired.
    pub rewards_expired: i64,
    /// Rewards flagged.
    pub rewards_flagged: i64,
    /// Rewards cancelled.
    pub rewards_cancelled: i64,
    /// Charged.
    pub spend: Money,
    /// Refunded.
    pub refunds: Money,
}

/// A report row.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportRow {
    /// Group key.
    pub key: String,
    /// Metrics.
    pub metrics: Metrics,
}

/// A/B statistics of a variant.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct VariantStats {
    /// Variant.
    pub variant_id: String,
    /// Issued.
    pub issued: i64,
    /// Redeemed.
    pub redeemed: i64,
    /// Decimal string, or null when nothing was issued.
    pub redemption_rate: Option<String>,
}

/// A report.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// `report`.
    pub object: String,
    /// Campaign, or null for the account.
    pub campaign_id: Option<String>,
    /// From date.
    pub from: Option<String>,
    /// To date.
    pub to: Option<String>,
    /// Totals.
    pub totals: Metrics,
    /// Grouping.
    pub group_by: Option<String>,
    /// Rows.
    pub rows: Vec<ReportRow>,
    /// Remaining budget this month.
    pub remaining_budget: Money,
    /// A/B stats.
    pub variants: Vec<VariantStats>,
}

/// Body of `POST /v1/webhook_endpoints`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointCreate {
    /// HTTP(S) URL.
    pub url: String,
    /// Event types; empty = all.
    #[serde(default)]
    pub events: Vec<String>,
}

/// A webhook endpoint.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpoint {
    /// `webhook_endpoint`.
    pub object: String,
    /// `whe_…`.
    pub id: String,
    /// URL.
    pub url: String,
    /// Subscribed types.
    pub events: Vec<String>,
    /// `whsec_…`, in the answers to create and `rotate_secret` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// While a rotation's overlap lasts: until when deliveries are signed with the previous secret too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Set on delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}
list_schema!(WebhookEndpointList, WebhookEndpoint);

/// Body of `POST /v1/webhook_endpoints/{id}/rotate_secret` (optional).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecretRotate {
    /// How long deliveries stay signed with the previous secret too: 0–604800 seconds (7 days),
    /// default 86400 (24 h); 0 drops it at once.
    pub expires_in_seconds: Option<i64>,
}

/// Event data.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EventData {
    /// The Reward or Campaign.
    pub object: serde_json::Value,
    /// For `campaign.state_changed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<String>,
}

/// A domain event (webhook payload).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// `event`.
    pub object: String,
    /// `evt_…`.
    pub id: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Data.
    pub data: EventData,
}
