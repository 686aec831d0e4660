//! Records and enums that cross the FFI. They are the app's view of the API, not a mirror of it: only what a
//! mobile app needs, with times as `SystemTime` (Kotlin `java.time.Instant`, Swift `Date`) and money as integer
//! minor units.

use std::time::SystemTime;

use crate::error::ErrorCode;

/// How the SDK reaches the Rewards API.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The API's base URL, e.g. `https://rewards.example.com` (the mock prints its own).
    pub base_url: String,
    /// The device this app runs on, sent with every reported action (fraud controls).
    pub device: DeviceInfo,
    /// Time allowed to open a connection.
    #[uniffi(default = 10000)]
    pub connect_timeout_ms: i64,
    /// Time allowed for one HTTP attempt.
    #[uniffi(default = 30000)]
    pub request_timeout_ms: i64,
    /// Time allowed for a whole call, retries included.
    #[uniffi(default = 60000)]
    pub call_timeout_ms: i64,
    /// Retries of a failed call when retrying is safe (GETs, and reported actions, which carry an idempotency key).
    #[uniffi(default = 2)]
    pub max_retries: i32,
    /// Certificate authorities trusted on top of the platform's trust store, each PEM (one or more
    /// `CERTIFICATE` blocks) or DER: for debug builds and tests against a server whose CA the device does
    /// not trust. Empty: the platform's trust store alone (system, user- and MDM-installed CAs).
    #[uniffi(default = [])]
    pub trusted_certificates: Vec<Vec<u8>>,
}

/// The device reporting actions.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device_type: DeviceType,
    /// A stable identifier of this install (not a hardware id), used by fraud controls. Optional.
    #[uniffi(default = None)]
    pub device_id: Option<String>,
}

/// The platform, in the API's spelling (`Android`, `iOS`, `FireOS`, `Web`).
#[derive(uniffi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    Android,
    Ios,
    FireOs,
    Web,
}

impl DeviceType {
    /// The wire spelling.
    pub fn as_api_str(self) -> &'static str {
        match self {
            Self::Android => "Android",
            Self::Ios => "iOS",
            Self::FireOs => "FireOS",
            Self::Web => "Web",
        }
    }
}

/// A customer token fetched by the app from its own backend (which mints it with its secret key).
#[derive(uniffi::Record, Clone, PartialEq, Eq)]
pub struct CustomerToken {
    /// The `ct_…` token.
    pub token: String,
    /// Seconds until it expires, as answered by `POST /v1/customer_tokens`.
    pub expires_in_seconds: i64,
}

impl std::fmt::Debug for CustomerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token itself.
        f.debug_struct("CustomerToken")
            .field("token", &"<redacted>")
            .field("expires_in_seconds", &self.expires_in_seconds)
            .finish()
    }
}

/// An amount of money in integer minor units (cents for USD, yen for JPY) with its ISO 4217 currency.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub amount: i64,
    pub currency: String,
}

/// What kind of item a reward offers.
#[derive(uniffi::Enum, Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// Shipped to the customer.
    Physical,
    /// A code shown on redemption.
    Digital,
    /// A catalog or store credit.
    Credit,
    /// A kind this SDK version does not know yet.
    Other { name: String },
}

impl ItemKind {
    pub(crate) fn from_api(kind: &str) -> Self {
        match kind {
            "physical" => Self::Physical,
            "digital" => Self::Digital,
            "credit" => Self::Credit,
            other => Self::Other {
                name: other.to_owned(),
            },
        }
    }
}

/// One item the customer may choose when redeeming.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct OfferItem {
    pub item_id: String,
    pub title: String,
    pub kind: ItemKind,
    pub value: Money,
    pub image_url: Option<String>,
}

/// The status of a reward.
#[derive(uniffi::Enum, Debug, Clone, PartialEq, Eq)]
pub enum RewardStatus {
    Issued,
    Redeemed,
    Shipped,
    Delivered,
    Expired,
    Cancelled,
    /// Held for fraud review: the link does not work until released.
    Flagged,
    Blocked,
    /// A status this SDK version does not know yet.
    Other {
        name: String,
    },
}

impl RewardStatus {
    pub(crate) fn from_api(status: &str) -> Self {
        match status {
            "issued" => Self::Issued,
            "redeemed" => Self::Redeemed,
            "shipped" => Self::Shipped,
            "delivered" => Self::Delivered,
            "expired" => Self::Expired,
            "cancelled" => Self::Cancelled,
            "flagged" => Self::Flagged,
            "blocked" => Self::Blocked,
            other => Self::Other {
                name: other.to_owned(),
            },
        }
    }
}

/// A reward of the customer: open `url` in a browser to redeem it.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct Reward {
    pub id: String,
    pub campaign_id: String,
    pub moment_id: String,
    pub status: RewardStatus,
    /// The unique redemption link (`…/r/<token>`).
    pub url: String,
    /// A test-mode reward (campaign approved but not live): same link every time, nothing consumed.
    pub test: bool,
    pub expires_at: SystemTime,
    pub created_at: SystemTime,
    /// The items the customer may pick from.
    pub offer: Vec<OfferItem>,
}

/// The customer's progress toward a goal moment ("5 workouts in 30 days").
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub campaign_id: String,
    pub moment_id: String,
    pub current: i64,
    pub target: i64,
    pub window_seconds: i64,
    pub completed: bool,
}

/// A goal: `target` actions within `window_seconds`.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub target: i64,
    pub window_seconds: i64,
}

/// What a challenge offers, to announce it before the customer completes it. Consumes nothing.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct RewardInfo {
    pub campaign_id: String,
    pub moment_id: String,
    /// The campaign's status (`live`, `approved`, …) as the API spells it.
    pub campaign_status: String,
    pub announcement_message: String,
    pub image_url: Option<String>,
    pub campaign_end_at: SystemTime,
    /// How many rewards can still be issued now.
    pub remaining_reward_count: i64,
    pub offer: Vec<OfferItem>,
    /// Present for goal moments.
    pub goal: Option<Goal>,
}

/// The result of reporting an action.
#[derive(uniffi::Enum, Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// The moment is complete: a reward was issued (show `reward.url`).
    Rewarded { reward: Reward },
    /// A goal moment not met yet: the progress so far. Nothing was issued.
    InProgress { progress: Progress },
}

/// An event delivered to a `RewardListener`.
#[derive(uniffi::Enum, Debug, Clone, PartialEq, Eq)]
pub enum RewardEvent {
    /// The current known state, sent first to every new listener (and again if a listener fell behind).
    Snapshot {
        rewards: Vec<Reward>,
        progress: Vec<Progress>,
    },
    /// A reward was issued for an action reported through this client.
    RewardIssued { reward: Reward },
    /// A goal moment progressed.
    ProgressUpdated { progress: Progress },
    /// The customer's rewards were fetched again (`myRewards`).
    RewardsRefreshed { rewards: Vec<Reward> },
}

/// The client's connection and authentication status, for a `StatusListener`.
#[derive(uniffi::Enum, Debug, Clone, PartialEq, Eq)]
pub enum ClientStatus {
    /// No call made yet.
    Idle,
    /// The last call reached the API with a valid token.
    Online,
    /// The last call could not reach the API (`code`: `NetworkError`, `Timeout` or `InvalidResponse`).
    Offline { code: ErrorCode },
    /// The token provider failed or the API refused the token (`code` says which).
    Unauthenticated { code: ErrorCode },
}

/// A count or duration from the API as the signed 64-bit integer Java and Swift read (`Long`, `Int64`).
/// The API's values are far below `i64::MAX`; a larger one saturates.
pub(crate) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A duration in milliseconds from the app: at least 1 ms (zero or a negative value means "as short as possible").
pub(crate) fn millis(value: i64) -> std::time::Duration {
    std::time::Duration::from_millis(value.max(1).unsigned_abs())
}
