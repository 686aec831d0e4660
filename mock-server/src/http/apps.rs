//! App, secret keys and customer tokens.

use axum::Json;
use axum::extract::{Path, State as S};
use axum::http::StatusCode;
use chrono::Duration;

use crate::app::AppState;
use crate::domain::apps;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::ids;
use crate::domain::model::*;
use crate::domain::money::marketplace_currency;
use crate::domain::principal::{valid_customer_id, valid_label};
use crate::domain::sandbox::TokenRec;
use crate::http::auth::SecretAuth;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::JsonBody;
use crate::http::pagination::List;

/// `GET /v1/app`
#[utoipa::path(get, path = "/v1/app", tag = "app", responses((status = 200, body = App), (status = "4XX", body = ErrorEnvelope)))]
pub async fn get_app(S(app): S<AppState>, SecretAuth(p): SecretAuth) -> ApiResult<Json<App>> {
    let g = app.lock();
    apps::app_view(&g, p.app_id()).map(Json)
}

/// `GET /v1/api_keys`
#[utoipa::path(get, path = "/v1/api_keys", tag = "app", responses((status = 200, body = ApiKeyList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn list_keys(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
) -> ApiResult<Json<List<ApiKey>>> {
    let g = app.lock();
    Ok(Json(List {
        object: "list",
        data: apps::keys(&g, p.app_id()),
        has_more: false,
        next_cursor: None,
    }))
}

/// `POST /v1/api_keys`
#[utoipa::path(post, path = "/v1/api_keys", tag = "app", request_body = ApiKeyCreate,
    responses((status = 201, body = ApiKey), (status = "4XX", body = ErrorEnvelope)))]
pub async fn create_key(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    JsonBody(b): JsonBody<ApiKeyCreate>,
) -> ApiResult<(StatusCode, Json<ApiKey>)> {
    let mut g = app.lock();
    let v = apps::create_key(&mut g, p.app_id(), b.name)?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `DELETE /v1/api_keys/{id}`
#[utoipa::path(delete, path = "/v1/api_keys/{id}", tag = "app", params(("id" = String, Path)),
    responses((status = 200, body = ApiKey), (status = "4XX", body = ErrorEnvelope)))]
pub async fn revoke_key(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKey>> {
    let mut g = app.lock();
    apps::revoke_key(&mut g, p.app_id(), &id).map(Json)
}

/// `POST /v1/customer_tokens`
#[utoipa::path(post, path = "/v1/customer_tokens", tag = "customer_tokens", request_body = CustomerTokenCreate,
    responses((status = 201, body = CustomerToken), (status = "4XX", body = ErrorEnvelope)))]
pub async fn create_token(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    JsonBody(b): JsonBody<CustomerTokenCreate>,
) -> ApiResult<(StatusCode, Json<CustomerToken>)> {
    if !valid_customer_id(&b.customer_id) {
        return Err(ApiError::validation(
            "customer_id",
            "`customer_id` must be 1–128 characters of [A-Za-z0-9_.:@-].",
        ));
    }
    if marketplace_currency(&b.marketplace).is_none() {
        return Err(ApiError::validation(
            "marketplace",
            "Unknown marketplace code.",
        ));
    }
    if let Some(s) = &b.segment
        && !valid_label(s)
    {
        return Err(ApiError::validation(
            "segment",
            "Segments match ^[A-Za-z0-9_-]{1,64}$.",
        ));
    }
    let ttl = b.ttl_seconds.unwrap_or(900);
    if !(60..=86_400).contains(&ttl) {
        return Err(ApiError::validation(
            "ttl_seconds",
            "`ttl_seconds` must be 60–86400.",
        ));
    }
    let mut g = app.lock();
    let token = ids::secret("ct_", 24);
    let expires_at = g.now() + Duration::seconds(ttl);
    g.credentials.add_token(
        token.clone(),
        TokenRec {
            app_id: p.app_id().into(),
            customer_id: b.customer_id.clone(),
            marketplace: b.marketplace.clone(),
            segment: b.segment.clone(),
            expires_at,
        },
    );
    Ok((
        StatusCode::CREATED,
        Json(CustomerToken {
            object: "customer_token".into(),
            token,
            customer_id: b.customer_id,
            marketplace: b.marketplace,
            segment: b.segment,
            expires_at,
            expires_in_seconds: ttl,
        }),
    ))
}
