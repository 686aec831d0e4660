//! Fraud reviews: rewards held by a rule, listed, released or blocked.

use crate::domain::rewards;
use http::StatusCode;

use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::*;
use crate::domain::sandbox::Sandbox;

fn review_mut_check(sb: &Sandbox, app_id: &str, reward_id: &str) -> ApiResult<()> {
    sb.rewards
        .get(reward_id)
        .filter(|r| *r.issue.app_id == *app_id && sb.reviews.contains_key(reward_id))
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("fraud review", reward_id))
}

/// Releases a held reward: it becomes `issued` and its link works.
pub fn release(sb: &mut Sandbox, app_id: &str, reward_id: &str) -> ApiResult<FraudReview> {
    review_mut_check(sb, app_id, reward_id)?;
    let now = sb.now();
    let (_, rev) = &sb.reviews[reward_id];
    if rev.decision != "held" || sb.rewards[reward_id].status != RewardStatus::Flagged {
        return Err(ApiError::transition(format!(
            "The review is `{}`; only held rewards can be released.",
            rev.decision
        )));
    }
    let r = sb.rewards.get_mut(reward_id).expect("checked");
    r.status = RewardStatus::Issued;
    if let Some(f) = &mut r.flag {
        f.decision = "released".into();
        f.decided_at = Some(now);
    }
    let rev = &mut sb.reviews.get_mut(reward_id).expect("checked").1;
    rev.decision = "released".into();
    rev.decided_at = Some(now);
    let out = rev.clone();
    sb.emit_reward(reward_id, "reward.issued", now);
    Ok(out)
}

/// Blocks a held (or released, unredeemed) reward: `blocked`, refunded.
pub fn block(sb: &mut Sandbox, app_id: &str, reward_id: &str) -> ApiResult<FraudReview> {
    review_mut_check(sb, app_id, reward_id)?;
    let now = sb.now();
    let status = sb.rewards[reward_id].status;
    if !matches!(status, RewardStatus::Flagged | RewardStatus::Issued) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_state_transition",
            "Only an unredeemed reward can be blocked.",
        )
        .param("status"));
    }
    let r = sb.rewards.get_mut(reward_id).expect("checked");
    r.status = RewardStatus::Blocked;
    if let Some(f) = &mut r.flag {
        f.decision = "blocked".into();
        f.decided_at = Some(now);
    }
    rewards::refund_reward(sb, reward_id);
    let rev = &mut sb.reviews.get_mut(reward_id).expect("checked").1;
    rev.decision = "blocked".into();
    rev.decided_at = Some(now);
    Ok(rev.clone())
}
