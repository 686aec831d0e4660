//! Fraud reviews: rewards held by a rule, listed, released or blocked.

use http::StatusCode;

use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::*;
use crate::domain::sandbox::Sandbox;

impl Sandbox {
    fn review_mut_check(&self, app_id: &str, reward_id: &str) -> ApiResult<()> {
        self.rewards
            .get(reward_id)
            .filter(|r| *r.issue.app_id == *app_id && self.reviews.contains_key(reward_id))
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found("fraud review", reward_id))
    }

    /// Releases a held reward: it becomes `issued` and its link works.
    pub fn release(&mut self, app_id: &str, reward_id: &str) -> ApiResult<FraudReview> {
        self.review_mut_check(app_id, reward_id)?;
        let now = self.now();
        let (_, rev) = &self.reviews[reward_id];
        if rev.decision != "held" || self.rewards[reward_id].status != RewardStatus::Flagged {
            return Err(ApiError::transition(format!(
                "The review is `{}`; only held rewards can be released.",
                rev.decision
            )));
        }
        let r = self.rewards.get_mut(reward_id).expect("checked");
        r.status = RewardStatus::Issued;
        if let Some(f) = &mut r.flag {
            f.decision = "released".into();
            f.decided_at = Some(now);
        }
        let rev = &mut self.reviews.get_mut(reward_id).expect("checked").1;
        rev.decision = "released".into();
        rev.decided_at = Some(now);
        let out = rev.clone();
        self.emit_reward(reward_id, "reward.issued", now);
        Ok(out)
    }

    /// Blocks a held (or released, unredeemed) reward: `blocked`, refunded.
    pub fn block(&mut self, app_id: &str, reward_id: &str) -> ApiResult<FraudReview> {
        self.review_mut_check(app_id, reward_id)?;
        let now = self.now();
        let status = self.rewards[reward_id].status;
        if !matches!(status, RewardStatus::Flagged | RewardStatus::Issued) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "invalid_state_transition",
                "Only an unredeemed reward can be blocked.",
            )
            .param("status"));
        }
        let r = self.rewards.get_mut(reward_id).expect("checked");
        r.status = RewardStatus::Blocked;
        if let Some(f) = &mut r.flag {
            f.decision = "blocked".into();
            f.decided_at = Some(now);
        }
        self.refund_reward(reward_id);
        let rev = &mut self.reviews.get_mut(reward_id).expect("checked").1;
        rev.decision = "blocked".into();
        rev.decided_at = Some(now);
        Ok(rev.clone())
    }
}
