//! Credentials: secret keys (`sk_test_…`), customer tokens (`ct_…`) and what each may do.

use std::sync::RwLock;
use std::sync::atomic::Ordering;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::domain::errors::ApiError;
use crate::domain::principal::Principal;
use crate::domain::shard::FastMap;

/// The credential of the `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authentication_required",
                "Send `Authorization: Bearer <secret key or customer token>`.",
            )
        })
}

fn token_expired() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "token_expired",
        "The customer token expired: fetch a new one.",
    )
}

/// Credentials resolved before, so that authenticating a request does not take the state's lock.
///
/// An entry is used only while the credentials' generation ([`crate::domain::credentials::Credentials`]) is the one it
/// was resolved at: revoking a key or resetting the state moves the generation on. A customer token's
/// expiry is checked against the server clock on every use. Unknown credentials are not cached.
#[derive(Default)]
pub struct CredCache {
    map: RwLock<FastMap<Box<str>, Cached>>,
}

struct Cached {
    generation: u64,
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
}

/// Credentials the cache holds at most; past it, it starts again empty.
const CRED_CACHE_CAPACITY: usize = 4096;

/// Resolves the `Authorization` header from the [`CredCache`], or from the state (taking its lock)
/// when the credential is not cached at the current generation.
pub fn resolve_cached(app: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    resolve_credential(app, bearer(headers)?)
}

/// Resolves a credential (a secret key or a customer token) as [`resolve_cached`] does: the console
/// resolves its session's secret key through it on every request, so a revoked key or a reset ends
/// the session as it ends the key's API access.
pub fn resolve_credential(app: &AppState, cred: &str) -> Result<Principal, ApiError> {
    let cache = &app.0.creds;
    let generation = app.0.cred_gen.load(Ordering::Acquire);
    let hit = {
        let map = cache.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(cred)
            .filter(|c| c.generation == generation)
            .map(|c| (c.principal.clone(), c.expires_at))
    };
    let (principal, expires_at) = match hit {
        Some(hit) => hit,
        None => {
            let (resolved, generation) = {
                let g = app.lock_raw();
                // Read under the lock: a change made after it moves the generation past this one.
                let generation = g.credentials.generation_now();
                (g.credentials.resolve(cred)?, generation)
            };
            let mut map = cache.map.write().unwrap_or_else(|p| p.into_inner());
            if map.len() >= CRED_CACHE_CAPACITY {
                map.clear();
            }
            map.insert(
                cred.into(),
                Cached {
                    generation,
                    principal: resolved.0.clone(),
                    expires_at: resolved.1,
                },
            );
            resolved
        }
    };
    match expires_at {
        Some(at) if app.0.clock.now() >= at => Err(token_expired()),
        _ => Ok(principal),
    }
}

/// The app of an `Authorization` header's credential when the cache holds it at the current generation
/// (a handler resolved it), without taking the state's lock: the request journal names the app of each
/// request with it.
pub fn cached_app(
    app: &AppState,
    authorization: &http::HeaderValue,
) -> Option<std::sync::Arc<str>> {
    let cred = authorization.to_str().ok()?.strip_prefix("Bearer ")?.trim();
    let generation = app.0.cred_gen.load(Ordering::Acquire);
    let map = app.0.creds.map.read().unwrap_or_else(|p| p.into_inner());
    map.get(cred)
        .filter(|c| c.generation == generation)
        .map(|c| std::sync::Arc::from(c.principal.app_id()))
}

/// Extractor: any valid credential.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already resolved by the idempotency layer for this request?
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Auth(p.clone()));
        }
        resolve_cached(app, &parts.headers).map(Auth)
    }
}

/// Extractor: a secret key only (customer tokens get `403 forbidden`).
pub struct SecretAuth(pub Principal);

impl FromRequestParts<AppState> for SecretAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(p) = Auth::from_request_parts(parts, app).await?;
        p.require_secret()?;
        Ok(SecretAuth(p))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::app::test_app as app;
    use crate::domain::sandbox::TokenRec;

    fn bearer_of(cred: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = HeaderValue::from_str(&format!("Bearer {cred}")).unwrap();
        h.insert(header::AUTHORIZATION, v);
        h
    }

    fn code(r: Result<Principal, ApiError>) -> &'static str {
        r.err().map_or("(none)", |e| e.code)
    }

    #[test]
    fn a_revoked_key_stops_working_although_it_was_cached() {
        let app = app();
        let secret = "sk_test_cached_then_revoked";
        let key_id = {
            let mut g = app.lock();
            let now = g.now();
            g.credentials.add_key("app_t", None, secret.to_owned(), now)
        };
        for _ in 0..2 {
            // The second resolution is served from the cache.
            let p = resolve_cached(&app, &bearer_of(secret)).expect("a valid key");
            assert_eq!((p.app_id(), p.customer()), ("app_t", None));
        }
        {
            let mut g = app.lock();
            let now = g.now();
            g.credentials
                .revoke_key("app_t", &key_id, now)
                .expect("the app's key");
        }
        assert_eq!(
            code(resolve_cached(&app, &bearer_of(secret))),
            "invalid_api_key"
        );
        assert_eq!(
            code(resolve_cached(&app, &bearer_of("sk_test_unknown"))),
            "invalid_api_key"
        );
        assert_eq!(
            code(resolve_cached(&app, &HeaderMap::new())),
            "authentication_required"
        );
    }

    #[test]
    fn a_cached_customer_token_expires_on_the_server_clock() {
        let app = app();
        {
            let mut g = app.lock();
            let expires_at = g.now() + chrono::Duration::seconds(60);
            g.credentials.add_token(
                "ct_cached".into(),
                TokenRec {
                    app_id: "app_t".into(),
                    customer_id: "c1".into(),
                    marketplace: "US".into(),
                    segment: None,
                    expires_at,
                },
            );
        }
        let p = resolve_cached(&app, &bearer_of("ct_cached")).expect("a fresh token");
        assert_eq!(p.customer(), Some("c1"));
        app.lock().clock.advance(61);
        assert_eq!(
            code(resolve_cached(&app, &bearer_of("ct_cached"))),
            "token_expired"
        );
    }
}
