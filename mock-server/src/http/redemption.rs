//! `/v1/redemptions/{token}`: what a reward link offers, and redeeming it.

use axum::Json;
use axum::extract::{Path, State as S};

use crate::app::AppState;
use crate::domain::errors::ApiResult;
use crate::domain::model::*;
use crate::domain::rewards::redemption;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::JsonBody;

/// `GET /v1/redemptions/{token}`
#[utoipa::path(get, path = "/v1/redemptions/{token}", tag = "redemption", params(("token" = String, Path)),
    responses((status = 200, body = Redemption), (status = "4XX", body = ErrorEnvelope)))]
pub async fn get(S(app): S<AppState>, Path(token): Path<String>) -> ApiResult<Json<Redemption>> {
    let g = app.lock();
    let id = redemption::reward_by_link(&g, &token)?;
    redemption::check_link(&g, &id, true)?;
    Ok(Json(redemption::redemption_view(&g, &id)))
}

/// `POST /v1/redemptions/{token}`
#[utoipa::path(post, path = "/v1/redemptions/{token}", tag = "redemption", params(("token" = String, Path)), request_body = RedeemRequest,
    responses((status = 200, body = Redemption), (status = "4XX", body = ErrorEnvelope)))]
pub async fn post(
    S(app): S<AppState>,
    Path(token): Path<String>,
    JsonBody(b): JsonBody<RedeemRequest>,
) -> ApiResult<Json<Redemption>> {
    redemption::redeem(&mut app.lock(), &token, b).map(Json)
}
