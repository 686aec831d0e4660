//! The report counters: issued rewards summed per shared issue ([`Issue`]: app, campaign, moment, marketplace,
//! segment, variant, cost) and day of issue, kept up to date as rewards change. A report reads these buckets —
//! a few per campaign and day — instead of every stored reward.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::domain::model::{Metrics, RewardStatus};
use crate::domain::money::Money;
use crate::domain::rewards::record::{Issue, RewardRec};
use crate::domain::shard::FastMap;

/// Report metrics of nothing.
pub fn zero() -> Metrics {
    Metrics {
        actions: 0,
        rewards_issued: 0,
        rewards_redeemed: 0,
        rewards_expired: 0,
        rewards_flagged: 0,
        rewards_cancelled: 0,
        spend: Money::usd(0),
        refunds: Money::usd(0),
    }
}

/// Adds `m` into `into`.
pub fn add(into: &mut Metrics, m: &Metrics) {
    into.actions += m.actions;
    into.rewards_issued += m.rewards_issued;
    into.rewards_redeemed += m.rewards_redeemed;
    into.rewards_expired += m.rewards_expired;
    into.rewards_flagged += m.rewards_flagged;
    into.rewards_cancelled += m.rewards_cancelled;
    into.spend.amount += m.spend.amount;
    into.refunds.amount += m.refunds.amount;
}

/// Counts a reward into `m`, `sign` times (+1 to count it, -1 to take it back out).
pub fn count_reward(m: &mut Metrics, r: &RewardRec, sign: i64) {
    let cost = r.issue.cost.amount;
    m.rewards_issued += sign;
    m.spend.amount += sign * cost;
    if r.status.is_redeemed() {
        m.rewards_redeemed += sign;
    }
    match r.status {
        RewardStatus::Expired => m.rewards_expired += sign,
        RewardStatus::Cancelled => m.rewards_cancelled += sign,
        _ => {}
    }
    if r.flag.is_some() {
        m.rewards_flagged += sign;
    }
    if r.refunded {
        m.refunds.amount += sign * cost;
    }
}

/// A shared issue as a map key: the same `Arc` is the same key.
struct IssueKey(Arc<Issue>);

impl PartialEq for IssueKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for IssueKey {}

impl Hash for IssueKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.0).hash(state);
    }
}

/// Issued rewards' metrics per shared issue and day of issue.
#[derive(Default)]
pub struct Tally {
    buckets: FastMap<(IssueKey, NaiveDate), Metrics>,
}

impl Tally {
    /// Counts an issued reward as it is now (`sign` +1), or takes it back out (`sign` -1) before it changes.
    pub fn count(&mut self, r: &RewardRec, sign: i64) {
        let key = (IssueKey(r.issue.clone()), r.created_at.date_naive());
        count_reward(self.buckets.entry(key).or_insert_with(zero), r, sign);
    }

    /// Every bucket: the shared issue, the day, the metrics of its rewards.
    pub fn buckets(&self) -> impl Iterator<Item = (&Issue, NaiveDate, &Metrics)> {
        self.buckets
            .iter()
            .map(|((issue, day), m)| (&*issue.0, *day, m))
    }
}
