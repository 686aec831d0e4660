//! `GET /v1/reward_info/{campaign_id}`: what a customer would get, for the announcement.

use axum::Json;
use axum::extract::{Path, State as S};

use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::info;
use crate::domain::model::*;
use crate::domain::money::marketplace_currency;
use crate::domain::principal::TokenFact;
use crate::http::auth::Auth;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::QueryMap;

/// `GET /v1/campaigns/{id}/moments/{moment_id}/reward_info`
#[utoipa::path(get, path = "/v1/campaigns/{id}/moments/{moment_id}/reward_info", tag = "campaigns",
    params(("id" = String, Path), ("moment_id" = String, Path), ("marketplace" = Option<String>, Query), ("segment" = Option<String>, Query)),
    responses((status = 200, body = RewardInfo), (status = "4XX", body = ErrorEnvelope)))]
pub async fn reward_info(
    S(app): S<crate::app::AppState>,
    Auth(p): Auth,
    Path((id, moment)): Path<(String, String)>,
    q: QueryMap,
) -> ApiResult<Json<RewardInfo>> {
    // With a customer token the marketplace and segment are the token's; naming others is refused.
    let market = p
        .scoped(TokenFact::Marketplace, "marketplace", q.get("marketplace"))?
        .ok_or_else(|| ApiError::validation("marketplace", "`marketplace` is required."))?
        .to_owned();
    if marketplace_currency(&market).is_none() {
        return Err(ApiError::validation(
            "marketplace",
            "Unknown marketplace code.",
        ));
    }
    let segment = p
        .scoped(TokenFact::Segment, "segment", q.get("segment"))?
        .map(str::to_owned);
    if let Some(s) = &segment
        && !crate::domain::principal::valid_label(s)
    {
        return Err(ApiError::validation(
            "segment",
            "Segments match ^[A-Za-z0-9_-]{1,64}$.",
        ));
    }
    let customer = p.customer().map(str::to_owned);
    let g = app.lock();
    info::reward_info(
        &g,
        p.app_id(),
        &id,
        &moment,
        &market,
        segment.as_deref(),
        None,
        customer.as_deref(),
    )
    .map(Json)
}
