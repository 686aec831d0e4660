//! A reward as stored: a compact record, rendered to the API's [`Reward`] on read.
//!
//! The mock keeps every reward it issues, so the record is what the state costs per reward
//! (docs/performance.md, "≤ 1 KiB per stored reward"). What many rewards have in common (app,
//! account, campaign, moment, group, variant, marketplace, segment, cost, offer) lives in one shared
//! [`Issue`]; what only redeemed or closed rewards have lives in a boxed [`Later`]; the link is kept
//! as its token (the reward's id is derived from it) and the URL is built when the reward is rendered.

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};

use crate::domain::ids::LinkToken;
use crate::domain::model::{
    DeviceType, Offer, Reward, RewardFlag, RewardStatus, ShippingAddress, TriggerResult,
};
use crate::domain::money::Money;
use crate::domain::sandbox::Sandbox;

/// What the rewards issued from one selection have in common; shared, immutable.
#[derive(Debug)]
pub struct Issue {
    /// App.
    pub app_id: Arc<str>,
    /// Account.
    pub account_id: Arc<str>,
    /// Campaign.
    pub campaign_id: Arc<str>,
    /// Moment.
    pub moment_id: Arc<str>,
    /// Reward group.
    pub reward_group_id: Arc<str>,
    /// Variant.
    pub variant_id: Option<Arc<str>>,
    /// Marketplace.
    pub marketplace: Arc<str>,
    /// Segment.
    pub segment: Option<Arc<str>>,
    /// Cost charged per reward.
    pub cost: Money,
    /// The offer (shared: [`crate::domain::catalog::Catalog::shared_offer`]).
    pub offer: Arc<Offer>,
}

/// The parts of an [`Issue`], borrowed, to find or make the shared one.
pub struct IssueParts<'a> {
    /// App.
    pub app_id: &'a str,
    /// Account.
    pub account_id: &'a str,
    /// Campaign.
    pub campaign_id: &'a str,
    /// Moment.
    pub moment_id: &'a str,
    /// Reward group.
    pub reward_group_id: &'a str,
    /// Variant.
    pub variant_id: Option<&'a str>,
    /// Marketplace.
    pub marketplace: &'a str,
    /// Segment.
    pub segment: Option<&'a str>,
    /// Cost.
    pub cost: &'a Money,
    /// Offer.
    pub offer: Arc<Offer>,
}

impl Issue {
    fn matches(&self, p: &IssueParts<'_>) -> bool {
        *self.app_id == *p.app_id
            && *self.account_id == *p.account_id
            && *self.campaign_id == *p.campaign_id
            && *self.moment_id == *p.moment_id
            && *self.reward_group_id == *p.reward_group_id
            && self.variant_id.as_deref() == p.variant_id
            && *self.marketplace == *p.marketplace
            && self.segment.as_deref() == p.segment
            && self.cost == *p.cost
            && Arc::ptr_eq(&self.offer, &p.offer)
    }
}

/// What a reward gains after it is issued: its choice and lifecycle times. Boxed, absent until
/// the first of them happens.
#[derive(Clone, Debug, Default)]
pub struct Later {
    /// Chosen item.
    pub chosen_item: Option<Arc<str>>,
    /// Shipping address (private).
    pub shipping: Option<ShippingAddress>,
    /// Digital code (private).
    pub digital_code: Option<String>,
    /// Redeemed.
    pub redeemed_at: Option<DateTime<Utc>>,
    /// Shipped.
    pub shipped_at: Option<DateTime<Utc>>,
    /// Delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Expired.
    pub expired_at: Option<DateTime<Utc>>,
    /// Cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
}

static NOTHING_LATER: LazyLock<Later> = LazyLock::new(Later::default);

/// The rewards of one (campaign, moment, customer), for frequency caps; one is stored inline
/// (most customers get one reward per moment).
#[derive(Clone, Debug, Default)]
pub enum RewardIds {
    /// None.
    #[default]
    Empty,
    /// One.
    One(Arc<str>),
    /// Several, in issue order.
    #[expect(
        clippy::box_collection,
        reason = "one pointer, not a Vec's three words, keeps the enum small"
    )]
    Many(Box<Vec<Arc<str>>>),
}

impl RewardIds {
    /// Appends a reward.
    pub fn push(&mut self, id: Arc<str>) {
        match std::mem::take(self) {
            RewardIds::Empty => *self = RewardIds::One(id),
            RewardIds::One(first) => *self = RewardIds::Many(Box::new(vec![first, id])),
            RewardIds::Many(mut v) => {
                v.push(id);
                *self = RewardIds::Many(v);
            }
        }
    }

    /// The rewards, in issue order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<str>> {
        let (one, many): (Option<&Arc<str>>, &[Arc<str>]) = match self {
            RewardIds::Empty => (None, &[]),
            RewardIds::One(id) => (Some(id), &[]),
            RewardIds::Many(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many)
    }
}

/// A reward as stored.
#[derive(Clone, Debug)]
pub struct RewardRec {
    /// Sequence (issue order).
    pub seq: u64,
    /// `rwd_…`, shared with the state's indexes.
    pub id: Arc<str>,
    /// What it shares with the rewards of the same selection.
    pub issue: Arc<Issue>,
    /// Link token (the URL is `{base_url}/r/{token}`).
    pub token: LinkToken,
    /// Customer (None for compat rewards).
    pub customer_id: Option<Box<str>>,
    /// Device type.
    pub device_type: DeviceType,
    /// Status.
    pub status: RewardStatus,
    /// Test reward.
    pub test: bool,
    /// Whether the cost was refunded.
    pub refunded: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the action happened on the device (the trigger's `occurred_at`).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Month charged.
    pub charged_month: Arc<str>,
    /// Item whose stock is reserved (None for test rewards or after release).
    pub reserved_item: Option<Arc<str>>,
    /// Fraud flag.
    pub flag: Option<Box<RewardFlag>>,
    /// Choice and lifecycle times, once there are any.
    pub later: Option<Box<Later>>,
}

impl RewardRec {
    /// Choice and lifecycle times (all empty before the first).
    pub fn later(&self) -> &Later {
        self.later.as_deref().unwrap_or(&NOTHING_LATER)
    }

    /// Choice and lifecycle times, to record one.
    pub fn later_mut(&mut self) -> &mut Later {
        self.later.get_or_insert_with(Box::default)
    }

    /// The reward link.
    pub fn url(&self, base_url: &str) -> String {
        let mut url = String::with_capacity(base_url.len() + 3 + 32);
        url.push_str(base_url);
        url.push_str("/r/");
        self.token.write_to(&mut url);
        url
    }

    /// The API view.
    pub fn view(&self, base_url: &str) -> Reward {
        self.render(base_url, self.status, self.flag.clone(), self.later())
    }

    /// The trigger's answer for this reward as issued with `status` and `flag`, no later times: a replay
    /// of the answer renders it again, byte for byte.
    pub fn trigger_answer_json(
        &self,
        base_url: &str,
        status: RewardStatus,
        flag: Option<&RewardFlag>,
    ) -> Vec<u8> {
        let reward = self.render(
            base_url,
            status,
            flag.cloned().map(Box::new),
            &Later::default(),
        );
        // Sized for the whole answer (~900 bytes), so writing it never grows the buffer.
        let mut out = Vec::with_capacity(1024);
        serde_json::to_writer(
            &mut out,
            &TriggerResult {
                object: "trigger_result".into(),
                outcome: "reward".into(),
                campaign_id: reward.campaign_id.to_string(),
                moment_id: reward.moment_id.to_string(),
                customer_id: self.customer_id.as_deref().unwrap_or("").to_string(),
                reward: Some(reward),
                progress: None,
            },
        )
        .expect("a reward serializes");
        out
    }

    /// Renders the API view (see [`RewardRec::view`]).
    pub(crate) fn render(
        &self,
        base_url: &str,
        status: RewardStatus,
        flag: Option<Box<RewardFlag>>,
        later: &Later,
    ) -> Reward {
        let i = &*self.issue;
        Reward {
            object: "reward".into(),
            id: self.id.clone(),
            campaign_id: i.campaign_id.clone(),
            moment_id: i.moment_id.clone(),
            reward_group_id: i.reward_group_id.clone(),
            variant_id: i.variant_id.clone(),
            customer_id: self.customer_id.as_deref().map(str::to_string),
            marketplace: i.marketplace.clone(),
            segment: i.segment.clone(),
            device_type: self.device_type,
            status,
            test: self.test,
            url: self.url(base_url),
            expires_at: self.expires_at,
            cost: i.cost.shared(),
            offer: i.offer.clone(),
            flag,
            created_at: self.created_at,
            occurred_at: self.occurred_at,
            redeemed_at: later.redeemed_at,
            shipped_at: later.shipped_at,
            delivered_at: later.delivered_at,
            expired_at: later.expired_at,
            cancelled_at: later.cancelled_at,
        }
    }
}

/// The shared [`Issue`] for `parts` (made and interned on first use).
///
/// Issues are found by a digest of their strings and compared in full, so a digest collision
/// costs a comparison, never a wrong reward.
pub fn issue_for(sb: &mut Sandbox, p: IssueParts<'_>) -> Arc<Issue> {
    let key = sb.digest(&[
        p.app_id,
        p.campaign_id,
        p.moment_id,
        p.reward_group_id,
        p.variant_id.unwrap_or("\u{0}"),
        p.marketplace,
        p.segment.unwrap_or("\u{0}"),
    ]);
    if let Some(found) = sb.rewards.issues(key).iter().find(|i| i.matches(&p)) {
        return found.clone();
    }
    let issue = Arc::new(Issue {
        app_id: sb.intern(p.app_id),
        account_id: sb.intern(p.account_id),
        campaign_id: sb.intern(p.campaign_id),
        moment_id: sb.intern(p.moment_id),
        reward_group_id: sb.intern(p.reward_group_id),
        variant_id: p.variant_id.map(|v| sb.intern(v)),
        marketplace: sb.intern(p.marketplace),
        segment: p.segment.map(|s| sb.intern(s)),
        cost: p.cost.shared(),
        offer: p.offer,
    });
    sb.rewards.add_issue(key, issue.clone());
    issue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_ids_keep_issue_order() {
        let mut ids = RewardIds::default();
        assert_eq!(ids.iter().count(), 0);
        for id in ["rwd_a", "rwd_b", "rwd_c"] {
            ids.push(Arc::from(id));
        }
        let got: Vec<&str> = ids.iter().map(|a| &**a).collect();
        assert_eq!(got, ["rwd_a", "rwd_b", "rwd_c"]);
    }

    fn parts<'a>(cost: &'a Money, offer: &Arc<Offer>) -> IssueParts<'a> {
        IssueParts {
            app_id: "app_1",
            account_id: "acct_1",
            campaign_id: "cmp_1",
            moment_id: "first_workout",
            reward_group_id: "US",
            variant_id: None,
            marketplace: "US",
            segment: None,
            cost,
            offer: offer.clone(),
        }
    }

    #[test]
    fn rewards_of_one_selection_share_an_issue_until_its_cost_or_offer_changes() {
        let mut g = Sandbox::empty("http://mock".into());
        let offer = Arc::new(Offer { items: vec![] });
        let (cents_50, cents_75) = (Money::usd(50), Money::usd(75));
        let a = issue_for(&mut g, parts(&cents_50, &offer));
        let b = issue_for(&mut g, parts(&cents_50, &offer));
        assert!(Arc::ptr_eq(&a, &b), "same selection, same issue");
        let dearer = issue_for(&mut g, parts(&cents_75, &offer));
        assert!(!Arc::ptr_eq(&a, &dearer));
        assert_eq!((a.cost.amount, dearer.cost.amount), (50, 75));
        let new_offer = Arc::new(Offer { items: vec![] });
        let reoffered = issue_for(&mut g, parts(&cents_50, &new_offer));
        assert!(
            !Arc::ptr_eq(&a, &reoffered),
            "a changed offer is a new issue"
        );
        let mut other = parts(&cents_50, &offer);
        other.segment = Some("gold");
        assert_eq!(issue_for(&mut g, other).segment.as_deref(), Some("gold"));
        // An issue no reward holds is still found again; when its bucket next grows it is dropped.
        drop((b, dearer, reoffered));
        let again = issue_for(&mut g, parts(&cents_50, &offer));
        assert!(Arc::ptr_eq(&a, &again));
        let cents_99 = Money::usd(99);
        let _newest = issue_for(&mut g, parts(&cents_99, &offer));
        let bucket: Vec<i64> = g
            .rewards
            .issue_buckets()
            .filter(|v| v.iter().all(|i| i.segment.is_none()))
            .flat_map(|v| v.iter().map(|i| i.cost.amount))
            .collect();
        assert_eq!(
            bucket,
            [50, 99],
            "the unheld 75-cent and re-offered issues were dropped"
        );
    }

    #[test]
    fn a_taken_id_draws_a_new_id_and_token() {
        let mut g = Sandbox::empty("http://mock".into());
        let offer = Arc::new(Offer { items: vec![] });
        let cost = Money::usd(50);
        let issue = issue_for(&mut g, parts(&cost, &offer));
        let (id, token) = crate::domain::ids::fresh_reward("rwd_");
        let rec = |id: Arc<str>, token| {
            Box::new(RewardRec {
                seq: 1,
                id,
                issue: issue.clone(),
                token,
                customer_id: None,
                device_type: DeviceType::Android,
                status: RewardStatus::Issued,
                test: false,
                refunded: false,
                created_at: chrono::DateTime::UNIX_EPOCH,
                occurred_at: None,
                expires_at: chrono::DateTime::UNIX_EPOCH,
                charged_month: Arc::from("1970-01"),
                reserved_item: None,
                flag: None,
                later: None,
            })
        };
        assert_eq!(g.rewards.insert("rwd_", rec(id.clone(), token)), id);
        // The same id again (what a hash collision would give): the second reward gets a new pair.
        let other = g.rewards.insert("rwd_", rec(id.clone(), token));
        assert_ne!(other, id);
        let stored = &g.rewards[&*other];
        assert_eq!(*stored.id, stored.token.reward_id("rwd_"));
        assert!(!stored.token.ct_eq(&token));
        assert!(
            g.rewards[&*id].token.ct_eq(&token),
            "the first reward is untouched"
        );
    }

    #[test]
    fn records_stay_compact() {
        // What one stored reward costs before its strings; docs/performance.md tracks the total.
        assert!(std::mem::size_of::<RewardRec>() <= 168);
        assert!(std::mem::size_of::<RewardIds>() <= 24);
    }
}
