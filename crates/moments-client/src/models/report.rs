//! Reports.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Money, string_enum};

string_enum! {
    /// How a report's rows are grouped.
    GroupBy {
        /// By moment.
        Moment = "moment",
        /// By marketplace.
        Marketplace = "marketplace",
        /// By segment.
        Segment = "segment",
        /// By A/B variant.
        Variant = "variant",
        /// By day (UTC).
        Day = "day",
    }
}

/// Aggregates of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// Actions reported.
    pub actions: u64,
    /// Rewards issued.
    pub rewards_issued: u64,
    /// Rewards redeemed.
    pub rewards_redeemed: u64,
    /// Rewards expired.
    pub rewards_expired: u64,
    /// Rewards flagged.
    pub rewards_flagged: u64,
    /// Rewards cancelled.
    pub rewards_cancelled: u64,
    /// Spend.
    pub spend: Money,
    /// Refunds.
    pub refunds: Money,
}

/// One row of a grouped report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// The group's key (`US`, `first_workout`, `2026-11-23`, …).
    pub key: String,
    /// Its aggregates.
    pub metrics: Metrics,
}

/// A/B results of one variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantStats {
    /// The variant.
    pub variant_id: String,
    /// Rewards issued.
    pub issued: u64,
    /// Rewards redeemed.
    pub redeemed: u64,
    /// `redeemed / issued` as a decimal string (`"0.4375"`), `None` when nothing was issued.
    #[serde(default)]
    pub redemption_rate: Option<String>,
}

/// A campaign or account report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The campaign (`None` = whole account).
    #[serde(default)]
    pub campaign_id: Option<String>,
    /// First day included.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last day included.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Totals.
    pub totals: Metrics,
    /// The grouping of `rows`.
    #[serde(default)]
    pub group_by: Option<GroupBy>,
    /// Grouped rows.
    #[serde(default)]
    pub rows: Vec<ReportRow>,
    /// Budget left this month.
    pub remaining_budget: Money,
    /// A/B results.
    #[serde(default)]
    pub variants: Vec<VariantStats>,
}

/// Query of `GET /v1/reports`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportParams {
    /// One campaign (`None` = whole account).
    pub campaign_id: Option<String>,
    /// First day (inclusive).
    pub from: Option<NaiveDate>,
    /// Last day (inclusive).
    pub to: Option<NaiveDate>,
    /// Grouping of the rows.
    pub group_by: Option<GroupBy>,
}
