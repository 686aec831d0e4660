//! Rewards: statuses, expiry with refund, shipping on the clock, cancel, lists, progress.

pub mod record;
pub mod redemption;
pub mod render;

use chrono::{DateTime, Duration, Utc};

use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::*;
use crate::domain::principal::Principal;
use crate::domain::sandbox::{DueKind, RewardRec, State};

impl State {
    /// Refunds an unredeemed reward's cost and releases its stock reservation.
    pub fn refund_reward(&mut self, id: &str) {
        let Some(r) = self.rewards.get_mut(id) else {
            return;
        };
        if r.refunded || r.test {
            return;
        }
        r.refunded = true;
        let (issue, month) = (r.issue.clone(), r.charged_month.clone());
        let reserved = r.reserved_item.take();
        let (acct, cmp, cost, market) = (
            &issue.account_id,
            &issue.campaign_id,
            issue.cost.amount,
            &issue.marketplace,
        );
        self.ledger.refund(acct, cmp, &month, cost);
        if let Some(item) = reserved {
            self.catalog.adjust_stock(&item, market, 1);
        }
    }

    /// Expires a reward that is still unredeemed at `at`.
    pub fn expire_reward(&mut self, id: &str, at: DateTime<Utc>) {
        let Some(r) = self.rewards.get_mut(id) else {
            return;
        };
        if !matches!(r.status, RewardStatus::Issued | RewardStatus::Flagged) || r.expires_at > at {
            return;
        }
        r.status = RewardStatus::Expired;
        r.later_mut().expired_at = Some(at);
        self.refund_reward(id);
        self.emit_reward(id, "reward.expired", at);
    }

    /// Ships a redeemed physical reward.
    pub fn ship_reward(&mut self, id: &str, at: DateTime<Utc>) {
        let Some(r) = self.rewards.get_mut(id) else {
            return;
        };
        if r.status != RewardStatus::Redeemed {
            return;
        }
        r.status = RewardStatus::Shipped;
        r.later_mut().shipped_at = Some(at);
        self.emit_reward(id, "reward.shipped", at);
    }

    /// Delivers a shipped reward.
    pub fn deliver_reward(&mut self, id: &str, at: DateTime<Utc>) {
        let Some(r) = self.rewards.get_mut(id) else {
            return;
        };
        if r.status != RewardStatus::Shipped {
            return;
        }
        r.status = RewardStatus::Delivered;
        r.later_mut().delivered_at = Some(at);
        self.emit_reward(id, "reward.delivered", at);
    }

    /// Schedules shipment (2 days) and delivery (5 days) after redemption.
    pub fn schedule_shipping(&mut self, id: &str, redeemed_at: DateTime<Utc>) {
        self.schedule(redeemed_at + Duration::days(2), DueKind::Ship(id.into()));
        self.schedule(redeemed_at + Duration::days(5), DueKind::Deliver(id.into()));
    }

    /// A reward visible to the caller, or 404.
    pub fn visible_reward(&self, p: &Principal, id: &str) -> ApiResult<&RewardRec> {
        let r = self
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

    /// Cancels an issued or flagged reward and refunds it.
    pub fn cancel_reward(&mut self, app_id: &str, id: &str) -> ApiResult<Reward> {
        let now = self.now();
        let r = self
            .rewards
            .get(id)
            .filter(|r| *r.issue.app_id == *app_id)
            .ok_or_else(|| ApiError::not_found("reward", id))?;
        if !matches!(r.status, RewardStatus::Issued | RewardStatus::Flagged) || r.test {
            return Err(ApiError::new(
                http::StatusCode::CONFLICT,
                "reward_not_cancellable",
                "Only an issued or flagged reward can be cancelled.",
            )
            .param("status"));
        }
        let r = self.rewards.get_mut(id).expect("checked");
        r.status = RewardStatus::Cancelled;
        r.later_mut().cancelled_at = Some(now);
        if let Some((_, rev)) = self.reviews.get_mut(id)
            && rev.decision == "held"
        {
            rev.decision = "blocked".into();
            rev.decided_at = Some(now);
        }
        self.refund_reward(id);
        Ok(self.rewards[id].view(&self.base_url))
    }
}
