//! Rewards: statuses, expiry with refund, shipping on the clock, cancel, lists, progress.

pub mod record;
pub mod redemption;
pub mod tally;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use self::record::{Issue, RewardIds};
use self::tally::Tally;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::*;
use crate::domain::principal::Principal;
use crate::domain::sandbox::{DueKind, RewardRec, Sandbox, TestRewardKey};
use crate::domain::shard::{FastMap, Sharded};

/// The rewards: records by id, the order they were issued in, the test reward of each selection,
/// the rewards each (campaign, moment, customer) holds for frequency caps, and the parts rewards
/// share ([`record::Issue`]).
pub struct Rewards {
    /// A link token finds its reward here, by the id derived from it
    /// ([`crate::domain::ids::LinkToken::reward_id`]): there is no token index.
    by_id: Sharded<Arc<str>, Box<RewardRec>>,
    /// Issued (not test) rewards in issue order.
    order: Vec<Arc<str>>,
    test: HashMap<TestRewardKey, Arc<str>>,
    /// Per [`Sandbox::digest`] of (campaign, moment, customer).
    held: Sharded<u64, RewardIds>,
    /// Per digest of their strings.
    issues: FastMap<u64, Vec<Arc<Issue>>>,
    /// The report counters of the listed rewards.
    tally: Tally,
}

impl Rewards {
    /// Empty: nothing is allocated before the first reward.
    pub fn new() -> Rewards {
        Rewards {
            by_id: Sharded::new(),
            order: Vec::new(),
            test: HashMap::new(),
            held: Sharded::new(),
            issues: FastMap::default(),
            tally: Tally::default(),
        }
    }

    /// A reward.
    pub fn get(&self, id: &str) -> Option<&RewardRec> {
        self.by_id.get(id).map(|r| &**r)
    }

    /// Changes a reward through `change` (`None` when there is no such reward); the report counters follow.
    /// Every reward that is not a test reward is counted from [`Rewards::list_issued`] on, right after it is
    /// stored.
    pub fn update<T>(&mut self, id: &str, change: impl FnOnce(&mut RewardRec) -> T) -> Option<T> {
        let r = &mut **self.by_id.get_mut(id)?;
        if r.test {
            return Some(change(r));
        }
        self.tally.count(r, -1);
        let out = change(r);
        self.tally.count(r, 1);
        Some(out)
    }

    /// The report counters of the issued rewards.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Stores a new reward and returns its id. Ids are 64 bits of the link token's hash
    /// ([`crate::domain::ids::LinkToken::reward_id`]): on the (2⁻⁶⁴ per pair) chance the id is taken, a new
    /// id and token with `prefix` are drawn. One map probe in the usual case.
    pub fn insert(&mut self, prefix: &str, mut rec: Box<RewardRec>) -> Arc<str> {
        use std::collections::hash_map::Entry;
        loop {
            match self.by_id.entry(rec.id.clone()) {
                Entry::Vacant(slot) => {
                    let id = rec.id.clone();
                    slot.insert(rec);
                    return id;
                }
                Entry::Occupied(_) => {
                    (rec.id, rec.token) = crate::domain::ids::fresh_reward(prefix)
                }
            }
        }
    }

    /// Lists an issued reward (lists walk them in issue order), counts it in the report counters and, when
    /// its moment has a frequency cap, counts it for the customer (`cap_key`).
    pub fn list_issued(&mut self, id: &Arc<str>, cap_key: Option<u64>) {
        self.order.push(id.clone());
        if let Some(r) = self.by_id.get(id) {
            self.tally.count(r, 1);
        }
        if let Some(k) = cap_key {
            self.held.entry(k).or_default().push(id.clone());
        }
    }

    /// Issued rewards, oldest first.
    pub fn in_issue_order(&self) -> impl DoubleEndedIterator<Item = &RewardRec> {
        self.order.iter().filter_map(|id| self.get(id))
    }

    /// The rewards counted under a frequency-cap key.
    pub fn held(&self, cap_key: u64) -> impl Iterator<Item = &RewardRec> {
        self.held
            .get(&cap_key)
            .into_iter()
            .flat_map(|ids| ids.iter())
            .filter_map(|id| self.get(id))
    }

    /// The test reward of a selection, once made.
    pub fn test_reward(&self, key: &TestRewardKey) -> Option<Arc<str>> {
        self.test.get(key).cloned()
    }

    /// Remembers the test reward of a selection.
    pub fn set_test_reward(&mut self, key: TestRewardKey, id: Arc<str>) {
        self.test.insert(key, id);
    }

    /// The shared issues stored under a digest.
    pub fn issues(&self, key: u64) -> &[Arc<Issue>] {
        self.issues.get(&key).map_or(&[], Vec::as_slice)
    }

    /// Every bucket of shared issues.
    #[cfg(test)]
    pub fn issue_buckets(&self) -> impl Iterator<Item = &Vec<Arc<Issue>>> {
        self.issues.values()
    }

    /// Stores a shared issue under its digest, dropping those no reward holds any more (issues of a
    /// changed offer or cost are not reused; this keeps the bucket from growing with them).
    pub fn add_issue(&mut self, key: u64, issue: Arc<Issue>) {
        let bucket = self.issues.entry(key).or_default();
        bucket.retain(|i| Arc::strong_count(i) > 1);
        bucket.push(issue);
    }
}

impl std::ops::Index<&str> for Rewards {
    type Output = RewardRec;
    fn index(&self, id: &str) -> &RewardRec {
        &self.by_id[id]
    }
}

/// Refunds an unredeemed reward's cost and releases its stock reservation.
pub fn refund_reward(sb: &mut Sandbox, id: &str) {
    let refunded = sb.rewards.update(id, |r| {
        if r.refunded || r.test {
            return None;
        }
        r.refunded = true;
        Some((
            r.issue.clone(),
            r.charged_month.clone(),
            r.reserved_item.take(),
        ))
    });
    let Some(Some((issue, month, reserved))) = refunded else {
        return;
    };
    let (acct, cmp, cost, market) = (
        &issue.account_id,
        &issue.campaign_id,
        issue.cost.amount,
        &issue.marketplace,
    );
    sb.ledger.refund(acct, cmp, &month, cost);
    if let Some(item) = reserved {
        sb.catalog.adjust_stock(&item, market, 1);
    }
}

/// Expires a reward that is still unredeemed at `at`.
pub fn expire_reward(sb: &mut Sandbox, id: &str, at: DateTime<Utc>) {
    let expired = sb.rewards.update(id, |r| {
        if !matches!(r.status, RewardStatus::Issued | RewardStatus::Flagged) || r.expires_at > at {
            return false;
        }
        r.status = RewardStatus::Expired;
        r.later_mut().expired_at = Some(at);
        true
    });
    if expired != Some(true) {
        return;
    }
    refund_reward(sb, id);
    sb.emit_reward(id, "reward.expired", at);
}

/// Ships a redeemed physical reward.
pub fn ship_reward(sb: &mut Sandbox, id: &str, at: DateTime<Utc>) {
    let shipped = sb.rewards.update(id, |r| {
        if r.status != RewardStatus::Redeemed {
            return false;
        }
        r.status = RewardStatus::Shipped;
        r.later_mut().shipped_at = Some(at);
        true
    });
    if shipped != Some(true) {
        return;
    }
    sb.emit_reward(id, "reward.shipped", at);
}

/// Delivers a shipped reward.
pub fn deliver_reward(sb: &mut Sandbox, id: &str, at: DateTime<Utc>) {
    let delivered = sb.rewards.update(id, |r| {
        if r.status != RewardStatus::Shipped {
            return false;
        }
        r.status = RewardStatus::Delivered;
        r.later_mut().delivered_at = Some(at);
        true
    });
    if delivered != Some(true) {
        return;
    }
    sb.emit_reward(id, "reward.delivered", at);
}

/// Schedules shipment (2 days) and delivery (5 days) after redemption.
pub fn schedule_shipping(sb: &mut Sandbox, id: &str, redeemed_at: DateTime<Utc>) {
    sb.schedule(redeemed_at + Duration::days(2), DueKind::Ship(id.into()));
    sb.schedule(redeemed_at + Duration::days(5), DueKind::Deliver(id.into()));
}

/// A reward visible to the caller, or 404.
pub fn visible_reward<'a>(sb: &'a Sandbox, p: &Principal, id: &str) -> ApiResult<&'a RewardRec> {
    let r = sb
        .rewards
        .get(id)
        .filter(|r| *r.issue.app_id == *p.app_id())
        .ok_or_else(|| ApiError::not_found("reward", id))?;
    // A test reward serves every customer of its reward group (one marketplace); anything else
    // is read by its own customer only.
    let own = match p {
        Principal::Secret { .. } => true,
        Principal::Customer {
            customer_id,
            marketplace,
            ..
        } => {
            if r.test {
                *r.issue.marketplace == **marketplace
            } else {
                r.customer_id.as_deref() == Some(customer_id.as_str())
            }
        }
    };
    if !own {
        return Err(ApiError::not_found("reward", id));
    }
    Ok(r)
}

/// What a list of rewards keeps: the filters of `GET /v1/rewards` (each absent one keeps all).
#[derive(Clone, Copy, Debug, Default)]
pub struct RewardFilter<'a> {
    /// One campaign.
    pub campaign_id: Option<&'a str>,
    /// One moment.
    pub moment_id: Option<&'a str>,
    /// One customer.
    pub customer_id: Option<&'a str>,
    /// One status.
    pub status: Option<RewardStatus>,
}

/// The issued rewards of `app_id` that `f` keeps, newest first.
pub fn list_of<'a>(
    sb: &'a Sandbox,
    app_id: &'a str,
    f: RewardFilter<'a>,
) -> impl Iterator<Item = &'a RewardRec> + 'a {
    sb.rewards.in_issue_order().rev().filter(move |r| {
        *r.issue.app_id == *app_id
            && f.campaign_id.is_none_or(|c| &*r.issue.campaign_id == c)
            && f.moment_id.is_none_or(|m| &*r.issue.moment_id == m)
            && f.customer_id
                .is_none_or(|c| r.customer_id.as_deref() == Some(c))
            && f.status.is_none_or(|s| r.status == s)
    })
}

/// Whether [`cancel_reward`] accepts the reward: an issued or flagged one, not a test reward.
pub fn cancellable(r: &RewardRec) -> bool {
    matches!(r.status, RewardStatus::Issued | RewardStatus::Flagged) && !r.test
}

/// Cancels an issued or flagged reward and refunds it.
pub fn cancel_reward(sb: &mut Sandbox, app_id: &str, id: &str) -> ApiResult<Reward> {
    let now = sb.now();
    let r = sb
        .rewards
        .get(id)
        .filter(|r| *r.issue.app_id == *app_id)
        .ok_or_else(|| ApiError::not_found("reward", id))?;
    if !cancellable(r) {
        return Err(ApiError::new(
            http::StatusCode::CONFLICT,
            "reward_not_cancellable",
            "Only an issued or flagged reward can be cancelled.",
        )
        .param("status"));
    }
    sb.rewards
        .update(id, |r| {
            r.status = RewardStatus::Cancelled;
            r.later_mut().cancelled_at = Some(now);
        })
        .expect("checked");
    if sb.reviews.get(id).is_some_and(|rev| rev.decision == "held") {
        sb.reviews.decide(id, "blocked", now);
    }
    refund_reward(sb, id);
    Ok(sb.rewards[id].view(&sb.base_url))
}
