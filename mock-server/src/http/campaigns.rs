//! `/v1/campaigns`: create, list, read, update and the lifecycle actions.

use axum::Json;
use axum::extract::{Path, State as S};
use axum::http::StatusCode;

use crate::app::AppState;
use crate::domain::campaigns;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::*;
use crate::domain::sandbox::CampaignRec;
use crate::http::auth::SecretAuth;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::{JsonBody, QueryMap};
use crate::http::pagination::{List, page};

/// `POST /v1/campaigns`
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", request_body = CampaignCreate,
    responses((status = 201, body = Campaign), (status = "4XX", body = ErrorEnvelope)))]
pub async fn create(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    JsonBody(body): JsonBody<CampaignCreate>,
) -> ApiResult<(StatusCode, Json<Campaign>)> {
    let mut g = app.lock();
    let id = campaigns::insert_campaign(&mut g, p.app_id(), body, None)?;
    Ok((
        StatusCode::CREATED,
        Json(campaigns::campaign_view(&g, &id).expect("inserted")),
    ))
}

/// `GET /v1/campaigns`
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns",
    params(("status" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = CampaignList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn list(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    q: QueryMap,
) -> ApiResult<Json<List<Campaign>>> {
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let status = match q.get("status") {
        None => None,
        Some(s) => Some(
            CampaignStatus::parse(s)
                .ok_or_else(|| ApiError::validation("status", "Unknown campaign status."))?,
        ),
    };
    let g = app.lock();
    let mut v: Vec<&CampaignRec> = g.campaigns.of_app(p.app_id());
    v.retain(|c| status.is_none_or(|s| c.c.status == s));
    v.reverse();
    let it = v.into_iter().map(|c| {
        (
            c.seq,
            campaigns::campaign_view(&g, &c.c.id).expect("exists"),
        )
    });
    Ok(Json(page(it, cursor, limit)))
}

/// `GET /v1/campaigns/{id}`
#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = String, Path)),
    responses((status = 200, body = Campaign), (status = "4XX", body = ErrorEnvelope)))]
pub async fn get(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Campaign>> {
    let g = app.lock();
    g.campaigns.own(p.app_id(), &id)?;
    Ok(Json(campaigns::campaign_view(&g, &id).expect("exists")))
}

/// `PATCH /v1/campaigns/{id}`
#[utoipa::path(patch, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = String, Path)), request_body = CampaignUpdate,
    responses((status = 200, body = Campaign), (status = "4XX", body = ErrorEnvelope)))]
pub async fn update(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
    JsonBody(u): JsonBody<CampaignUpdate>,
) -> ApiResult<Json<Campaign>> {
    let mut g = app.lock();
    campaigns::update_campaign(&mut g, p.app_id(), &id, u).map(Json)
}

/// `POST /v1/campaigns/{id}/reject`
#[utoipa::path(post, path = "/v1/campaigns/{id}/reject", tag = "campaigns", params(("id" = String, Path)), request_body = RejectBody,
    responses((status = 200, body = Campaign), (status = "4XX", body = ErrorEnvelope)))]
pub async fn reject(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RejectBody>,
) -> ApiResult<Json<Campaign>> {
    let mut g = app.lock();
    campaigns::transition(&mut g, p.app_id(), &id, "reject", Some(b.reason)).map(Json)
}

macro_rules! lifecycle {
    ($fn:ident, $action:literal, $path:literal) => {
        #[doc = concat!("`POST ", $path, "`")]
        #[utoipa::path(post, path = $path, tag = "campaigns", params(("id" = String, Path)),
            responses((status = 200, body = Campaign), (status = "4XX", body = ErrorEnvelope)))]
        pub async fn $fn(S(app): S<AppState>, SecretAuth(p): SecretAuth, Path(id): Path<String>) -> ApiResult<Json<Campaign>> {
            let mut g = app.lock();
            campaigns::transition(&mut g, p.app_id(), &id, $action, None).map(Json)
        }
    };
}
lifecycle!(submit, "submit", "/v1/campaigns/{id}/submit");
lifecycle!(approve, "approve", "/v1/campaigns/{id}/approve");
lifecycle!(pause, "pause", "/v1/campaigns/{id}/pause");
lifecycle!(resume, "resume", "/v1/campaigns/{id}/resume");
lifecycle!(end, "end", "/v1/campaigns/{id}/end");
