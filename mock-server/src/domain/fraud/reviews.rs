//! Fraud reviews: rewards held by a rule, listed, released or blocked.

use axum::Json;
use axum::extract::{Path, State as S};
use axum::http::StatusCode;

use crate::app::AppState;
use crate::domain::errors::{ApiError, ApiResult, ErrorEnvelope};
use crate::domain::model::*;
use crate::domain::sandbox::State;
use crate::http::auth::SecretAuth;
use crate::http::extract::QueryMap;
use crate::http::pagination::{List, page};

impl State {
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

/// `GET /v1/fraud_reviews`
#[utoipa::path(get, path = "/v1/fraud_reviews", tag = "fraud",
    params(("status" = Option<String>, Query), ("campaign_id" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = FraudReviewList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn list(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    q: QueryMap,
) -> ApiResult<Json<List<FraudReview>>> {
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let status = q.get("status");
    if let Some(s) = status
        && !["held", "released", "blocked"].contains(&s)
    {
        return Err(ApiError::validation(
            "status",
            "`status` is held, released or blocked.",
        ));
    }
    let g = app.lock();
    let mut v: Vec<_> = g
        .reviews
        .values()
        .filter(|(_, r)| {
            g.rewards
                .get(r.reward_id.as_str())
                .is_some_and(|x| *x.issue.app_id == *p.app_id())
                && status.is_none_or(|s| r.decision == s)
                && q.get("campaign_id").is_none_or(|c| r.campaign_id == c)
        })
        .cloned()
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse(r.0));
    Ok(Json(page(v.into_iter(), cursor, limit)))
}

/// `POST /v1/fraud_reviews/{reward_id}/release`
#[utoipa::path(post, path = "/v1/fraud_reviews/{reward_id}/release", tag = "fraud", params(("reward_id" = String, Path)),
    responses((status = 200, body = FraudReview), (status = "4XX", body = ErrorEnvelope)))]
pub async fn release(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<FraudReview>> {
    app.lock().release(p.app_id(), &id).map(Json)
}

/// `POST /v1/fraud_reviews/{reward_id}/block`
#[utoipa::path(post, path = "/v1/fraud_reviews/{reward_id}/block", tag = "fraud", params(("reward_id" = String, Path)),
    responses((status = 200, body = FraudReview), (status = "4XX", body = ErrorEnvelope)))]
pub async fn block(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<FraudReview>> {
    app.lock().block(p.app_id(), &id).map(Json)
}
