//! `/v1/fraud_reviews`: the review queue of flagged rewards, release and block.

use axum::Json;
use axum::extract::{Path, State as S};

use crate::app::AppState;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::fraud::reviews;
use crate::domain::model::*;
use crate::http::auth::SecretAuth;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::QueryMap;
use crate::http::pagination::{List, page};

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
    let v: Vec<(u64, FraudReview)> = g
        .reviews
        .newest_first()
        .into_iter()
        .filter(|(_, r)| {
            g.rewards
                .get(r.reward_id.as_str())
                .is_some_and(|x| *x.issue.app_id == *p.app_id())
                && status.is_none_or(|s| r.decision == s)
                && q.get("campaign_id").is_none_or(|c| r.campaign_id == c)
        })
        .map(|(seq, r)| (seq, r.clone()))
        .collect();
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
    reviews::release(&mut app.lock(), p.app_id(), &id).map(Json)
}

/// `POST /v1/fraud_reviews/{reward_id}/block`
#[utoipa::path(post, path = "/v1/fraud_reviews/{reward_id}/block", tag = "fraud", params(("reward_id" = String, Path)),
    responses((status = 200, body = FraudReview), (status = "4XX", body = ErrorEnvelope)))]
pub async fn block(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<FraudReview>> {
    reviews::block(&mut app.lock(), p.app_id(), &id).map(Json)
}
