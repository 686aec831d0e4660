//! An app as the API shows it: its registration, its secret keys (created with the secret shown
//! once, listed with a hint, revoked). `http::apps` and the console call these.

use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::ids;
use crate::domain::model::{ApiKey, App};
use crate::domain::sandbox::{KeyRec, Sandbox};

/// A key as listed: its hint, never its secret.
pub fn key_view(k: &KeyRec) -> ApiKey {
    ApiKey {
        object: "api_key".into(),
        id: k.id.clone(),
        name: k.name.clone(),
        secret: None,
        hint: ids::hint(&k.secret, "sk_test_"),
        created_at: k.created_at,
        revoked_at: k.revoked_at,
    }
}

/// The app's registration (`GET /v1/app`).
pub fn app_view(sb: &Sandbox, id: &str) -> ApiResult<App> {
    let a = sb
        .credentials
        .app(id)
        .ok_or_else(|| ApiError::not_found("app", id))?;
    Ok(App {
        object: "app".into(),
        id: a.id.clone(),
        account_id: a.account_id.clone(),
        name: a.name.clone(),
        legacy_api_key_hint: ids::hint(&a.legacy_key, "mk_"),
        created_at: a.created_at,
    })
}

/// The app's keys, newest first (`GET /v1/api_keys`).
pub fn keys(sb: &Sandbox, app_id: &str) -> Vec<ApiKey> {
    let mut keys: Vec<_> = sb.credentials.keys_of(app_id).collect();
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    keys.into_iter().map(key_view).collect()
}

/// Creates a key for the app; the answer holds its secret, this once (`POST /v1/api_keys`).
pub fn create_key(sb: &mut Sandbox, app_id: &str, name: Option<String>) -> ApiResult<ApiKey> {
    if let Some(n) = &name
        && n.chars().count() > 200
    {
        return Err(ApiError::validation(
            "name",
            "`name` is at most 200 characters.",
        ));
    }
    let secret = ids::secret("sk_test_", 27);
    let now = sb.now();
    let id = sb.credentials.add_key(app_id, name, secret.clone(), now);
    let mut v = key_view(sb.credentials.key(&id).expect("just added"));
    v.secret = Some(secret);
    Ok(v)
}

/// Revokes one of the app's keys (`DELETE /v1/api_keys/{id}`).
pub fn revoke_key(sb: &mut Sandbox, app_id: &str, id: &str) -> ApiResult<ApiKey> {
    let now = sb.now();
    sb.credentials
        .revoke_key(app_id, id, now)
        .map(key_view)
        .ok_or_else(|| ApiError::not_found("api key", id))
}
