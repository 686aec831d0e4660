//! `/v1/webhook_endpoints`: create, list, read, delete, rotate a secret.

use axum::Json;
use axum::extract::{Path, State as S};
use axum::http::StatusCode;
use chrono::Duration;

use crate::app::AppState;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::ids;
use crate::domain::model::*;
use crate::domain::webhooks::{
    self, ROTATION_OVERLAP_DEFAULT_SECONDS, ROTATION_OVERLAP_MAX_SECONDS, view,
};
use crate::http::auth::SecretAuth;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::JsonBody;
use crate::http::pagination::List;

/// `POST /v1/webhook_endpoints`
#[utoipa::path(post, path = "/v1/webhook_endpoints", tag = "webhooks", request_body = WebhookEndpointCreate,
    responses((status = 201, body = WebhookEndpoint), (status = "4XX", body = ErrorEnvelope)))]
pub async fn create(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    JsonBody(b): JsonBody<WebhookEndpointCreate>,
) -> ApiResult<(StatusCode, Json<WebhookEndpoint>)> {
    let mut g = app.lock();
    let e = webhooks::create_endpoint(&mut g, p.app_id(), b)?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// `GET /v1/webhook_endpoints`
#[utoipa::path(get, path = "/v1/webhook_endpoints", tag = "webhooks",
    responses((status = 200, body = WebhookEndpointList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn list(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
) -> ApiResult<Json<List<WebhookEndpoint>>> {
    let g = app.lock();
    let now = g.now();
    Ok(Json(List {
        object: "list",
        data: g
            .webhooks
            .endpoints_of(p.app_id())
            .into_iter()
            .map(|e| view(e, now))
            .collect(),
        has_more: false,
        next_cursor: None,
    }))
}

/// `GET /v1/webhook_endpoints/{id}`
#[utoipa::path(get, path = "/v1/webhook_endpoints/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = "4XX", body = ErrorEnvelope)))]
pub async fn get(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookEndpoint>> {
    let g = app.lock();
    let now = g.now();
    g.webhooks
        .endpoint(p.app_id(), &id)
        .map(|e| Json(view(e, now)))
        .ok_or_else(|| ApiError::not_found("webhook endpoint", &id))
}

/// `DELETE /v1/webhook_endpoints/{id}`
#[utoipa::path(delete, path = "/v1/webhook_endpoints/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = "4XX", body = ErrorEnvelope)))]
pub async fn delete(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookEndpoint>> {
    let mut g = app.lock();
    webhooks::delete_endpoint(&mut g, p.app_id(), &id).map(Json)
}

/// `POST /v1/webhook_endpoints/{id}/rotate_secret`: a new secret, shown once in the answer. For
/// `expires_in_seconds` (default 24 h) deliveries carry a `v1=` signature with the new and one with
/// the previous secret, then with the new one only.
#[utoipa::path(post, path = "/v1/webhook_endpoints/{id}/rotate_secret", tag = "webhooks", params(("id" = String, Path)),
    request_body(content = Option<WebhookSecretRotate>, content_type = "application/json",
        description = "Optional; `expires_in_seconds` (the document states its range), default one day"),
    responses((status = 200, description = "The endpoint with its new `secret`", body = WebhookEndpoint),
              (status = "4XX", body = ErrorEnvelope)))]
pub async fn rotate_secret(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<WebhookSecretRotate>,
) -> ApiResult<Json<WebhookEndpoint>> {
    let overlap = b
        .expires_in_seconds
        .unwrap_or(ROTATION_OVERLAP_DEFAULT_SECONDS);
    if !(0..=ROTATION_OVERLAP_MAX_SECONDS).contains(&overlap) {
        return Err(ApiError::validation(
            "expires_in_seconds",
            format!("`expires_in_seconds` must be 0–{ROTATION_OVERLAP_MAX_SECONDS} (7 days)."),
        ));
    }
    let mut g = app.lock();
    let now = g.now();
    let e = g
        .webhooks
        .endpoint_mut(p.app_id(), &id)
        .ok_or_else(|| ApiError::not_found("webhook endpoint", &id))?;
    let secret = ids::secret("whsec_", 24);
    // Only the secret being replaced overlaps: one from an earlier rotation stops now.
    let old = std::mem::replace(&mut e.secret, secret.clone());
    e.previous_secret = (overlap > 0).then(|| (old, now + Duration::seconds(overlap)));
    let mut v = view(e, now);
    v.secret = Some(secret);
    Ok(Json(v))
}
