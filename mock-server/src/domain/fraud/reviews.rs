//! Fraud reviews: rewards held by a rule, listed, released or blocked.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use http::StatusCode;

use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::*;
use crate::domain::rewards;
use crate::domain::sandbox::{RewardRec, Sandbox};

/// The fraud reviews, by reward id: one per reward a rule held, with the order they were opened in.
#[derive(Default)]
pub struct Reviews {
    by_reward: HashMap<String, (u64, FraudReview)>,
}

impl Reviews {
    /// Opens the review of a held reward (`seq` orders the queue).
    pub fn open(&mut self, seq: u64, review: FraudReview) {
        self.by_reward
            .insert(review.reward_id.clone(), (seq, review));
    }

    /// A reward's review.
    pub fn get(&self, reward_id: &str) -> Option<&FraudReview> {
        self.by_reward.get(reward_id).map(|(_, r)| r)
    }

    /// Records a decision (`released`, `blocked`) and returns the review as decided.
    pub fn decide(
        &mut self,
        reward_id: &str,
        decision: &str,
        at: DateTime<Utc>,
    ) -> Option<FraudReview> {
        let (_, rev) = self.by_reward.get_mut(reward_id)?;
        rev.decision = decision.into();
        rev.decided_at = Some(at);
        Some(rev.clone())
    }

    /// Every review, newest first, with its place in the queue.
    pub fn newest_first(&self) -> Vec<(u64, &FraudReview)> {
        let mut v: Vec<(u64, &FraudReview)> =
            self.by_reward.values().map(|(seq, r)| (*seq, r)).collect();
        v.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        v
    }
}

fn review_mut_check(sb: &Sandbox, app_id: &str, reward_id: &str) -> ApiResult<()> {
    sb.rewards
        .get(reward_id)
        .filter(|r| *r.issue.app_id == *app_id && sb.reviews.get(reward_id).is_some())
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("fraud review", reward_id))
}

/// Whether [`release`] accepts the reviewed reward: held and still flagged.
pub fn releasable(review: &FraudReview, r: &RewardRec) -> bool {
    review.decision == "held" && r.status == RewardStatus::Flagged
}

/// Whether [`block`] accepts the reviewed reward: not redeemed, closed or blocked yet.
pub fn blockable(r: &RewardRec) -> bool {
    matches!(r.status, RewardStatus::Flagged | RewardStatus::Issued)
}

/// Releases a held reward: it becomes `issued` and its link works.
pub fn release(sb: &mut Sandbox, app_id: &str, reward_id: &str) -> ApiResult<FraudReview> {
    review_mut_check(sb, app_id, reward_id)?;
    let now = sb.now();
    let rev = sb.reviews.get(reward_id).expect("checked");
    if !releasable(rev, &sb.rewards[reward_id]) {
        return Err(ApiError::transition(format!(
            "The review is `{}`; only held rewards can be released.",
            rev.decision
        )));
    }
    sb.rewards
        .update(reward_id, |r| {
            r.status = RewardStatus::Issued;
            if let Some(f) = &mut r.flag {
                f.decision = "released".into();
                f.decided_at = Some(now);
            }
        })
        .expect("checked");
    let out = sb
        .reviews
        .decide(reward_id, "released", now)
        .expect("checked");
    sb.emit_reward(reward_id, "reward.issued", now);
    Ok(out)
}

/// Blocks a held (or released, unredeemed) reward: `blocked`, refunded.
pub fn block(sb: &mut Sandbox, app_id: &str, reward_id: &str) -> ApiResult<FraudReview> {
    review_mut_check(sb, app_id, reward_id)?;
    let now = sb.now();
    if !blockable(&sb.rewards[reward_id]) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_state_transition",
            "Only an unredeemed reward can be blocked.",
        )
        .param("status"));
    }
    sb.rewards
        .update(reward_id, |r| {
            r.status = RewardStatus::Blocked;
            if let Some(f) = &mut r.flag {
                f.decision = "blocked".into();
                f.decided_at = Some(now);
            }
        })
        .expect("checked");
    rewards::refund_reward(sb, reward_id);
    Ok(sb
        .reviews
        .decide(reward_id, "blocked", now)
        .expect("checked"))
}
