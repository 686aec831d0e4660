//! `/v1/rewards`: list, read, cancel, and a customer's goal progress.

use axum::Json;
use axum::extract::{Path, State as S};

use crate::app::AppState;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::*;
use crate::domain::principal::{Principal, TokenFact};
use crate::domain::rewards;
use crate::domain::trigger;
use crate::http::auth::{Auth, SecretAuth};
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::QueryMap;
use crate::http::pagination::{List, page};

/// `GET /v1/rewards`
#[utoipa::path(get, path = "/v1/rewards", tag = "rewards",
    params(("campaign_id" = Option<String>, Query), ("moment_id" = Option<String>, Query), ("customer_id" = Option<String>, Query),
           ("status" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = RewardList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn list(
    S(app): S<AppState>,
    Auth(p): Auth,
    q: QueryMap,
) -> ApiResult<Json<List<Reward>>> {
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let status: Option<RewardStatus> = match q.get("status") {
        None => None,
        Some(s) => Some(
            serde_json::from_value(serde_json::Value::String(s.into()))
                .map_err(|_| ApiError::validation("status", "Unknown reward status."))?,
        ),
    };
    let customer = p
        .scoped(TokenFact::Customer, "customer_id", q.get("customer_id"))?
        .map(str::to_string);
    let filter = rewards::RewardFilter {
        campaign_id: q.get("campaign_id"),
        moment_id: q.get("moment_id"),
        customer_id: customer.as_deref(),
        status,
    };
    let g = app.lock();
    let it = rewards::list_of(&g, p.app_id(), filter);
    Ok(Json(page(
        it.map(|r| (r.seq, r.view(&g.base_url))),
        cursor,
        limit,
    )))
}

/// `GET /v1/rewards/{id}`
#[utoipa::path(get, path = "/v1/rewards/{id}", tag = "rewards", params(("id" = String, Path)),
    responses((status = 200, body = Reward), (status = "4XX", body = ErrorEnvelope)))]
pub async fn get(
    S(app): S<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Reward>> {
    let mut g = app.lock();
    let r = rewards::visible_reward(&g, &p, &id)?;
    match &p {
        // A test reward read with a token names the token's customer, as its trigger answered.
        Principal::Customer {
            customer_id,
            segment,
            ..
        } if r.test => {
            let r = r.clone();
            let r =
                trigger::test_reward_for(&mut g, &r, Some(customer_id), segment.as_deref(), None);
            Ok(Json(r.view(&g.base_url)))
        }
        _ => Ok(Json(r.view(&g.base_url))),
    }
}

/// `POST /v1/rewards/{id}/cancel`
#[utoipa::path(post, path = "/v1/rewards/{id}/cancel", tag = "rewards", params(("id" = String, Path)),
    responses((status = 200, body = Reward), (status = "4XX", body = ErrorEnvelope)))]
pub async fn cancel(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Reward>> {
    let mut g = app.lock();
    rewards::cancel_reward(&mut g, p.app_id(), &id).map(Json)
}

/// `GET /v1/customers/{customer_id}/progress`
#[utoipa::path(get, path = "/v1/customers/{customer_id}/progress", tag = "progress",
    params(("customer_id" = String, Path), ("campaign_id" = Option<String>, Query)),
    responses((status = 200, body = ProgressList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn progress(
    S(app): S<AppState>,
    Auth(p): Auth,
    Path(customer): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<List<Progress>>> {
    // `me` is the token's customer; any other id must be it.
    let named = (customer != "me").then_some(customer.as_str());
    let customer = p
        .scoped(TokenFact::Customer, "customer_id", named)?
        .unwrap_or(customer.as_str())
        .to_string();
    let g = app.lock();
    let now = g.now();
    let mut out = Vec::new();
    for c in g.campaigns.of_app(p.app_id()) {
        if q.get("campaign_id").is_some_and(|id| id != c.c.id) {
            continue;
        }
        for m in &c.c.moments {
            let Some(goal) = &m.goal else { continue };
            let key = (c.c.id.clone(), m.id.clone(), customer.clone());
            if let Some(standing) = g.goals.standing(&key, goal, now) {
                out.push(standing.progress(key, goal));
            }
        }
    }
    Ok(Json(List {
        object: "list",
        has_more: false,
        next_cursor: None,
        data: out,
    }))
}
