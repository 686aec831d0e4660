//! `/v1/catalog/items`: the items an app can put in its reward groups.

use axum::Json;
use axum::extract::{Path, State as S};

use crate::app::AppState;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::{Item, ItemKind, ItemList};
use crate::domain::principal::TokenFact;
use crate::http::auth::Auth;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::QueryMap;
use crate::http::pagination::{List, page_asc};

/// `GET /v1/catalog/items`
#[utoipa::path(get, path = "/v1/catalog/items", tag = "catalog",
    params(("marketplace" = Option<String>, Query), ("kind" = Option<String>, Query), ("q" = Option<String>, Query),
           ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ItemList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn list(S(app): S<AppState>, Auth(p): Auth, q: QueryMap) -> ApiResult<Json<List<Item>>> {
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let kind: Option<ItemKind> = match q.get("kind") {
        None => None,
        Some(k) => Some(
            serde_json::from_value(serde_json::Value::String(k.into())).map_err(|_| {
                ApiError::validation("kind", "`kind` is physical, digital or credit.")
            })?,
        ),
    };
    // A customer token lists its own marketplace's items.
    let market = p.scoped(TokenFact::Marketplace, "marketplace", q.get("marketplace"))?;
    if let Some(m) = market
        && crate::domain::money::marketplace_currency(m).is_none()
    {
        return Err(ApiError::validation(
            "marketplace",
            "Unknown marketplace code.",
        ));
    }
    let needle = q.get("q").map(str::to_lowercase);
    let g = app.lock();
    let it = g
        .catalog
        .items()
        .enumerate()
        .filter(|(_, i)| {
            kind.is_none_or(|k| i.kind == k)
                && market.is_none_or(|m| i.prices.contains_key(m))
                && needle.as_deref().is_none_or(|n| {
                    i.title.to_lowercase().contains(n) || i.description.to_lowercase().contains(n)
                })
        })
        .map(|(n, i)| (n as u64 + 1, i.clone()));
    Ok(Json(page_asc(it, cursor, limit)))
}

/// `GET /v1/catalog/items/{id}`
#[utoipa::path(get, path = "/v1/catalog/items/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Item), (status = "4XX", body = ErrorEnvelope)))]
pub async fn get(
    S(app): S<AppState>,
    Auth(_p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Item>> {
    let g = app.lock();
    g.catalog
        .item(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("item", &id))
}
