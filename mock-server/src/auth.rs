//! Credentials: secret keys (`sk_test_…`), customer tokens (`ct_…`) and what each may do.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};

use crate::errors::ApiError;
use crate::state::{AppState, State};

/// Who is calling.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A secret key of an app.
    Secret {
        /// App.
        app_id: String,
        /// Account.
        account_id: String,
    },
    /// A customer token.
    Customer {
        /// App.
        app_id: String,
        /// Account.
        account_id: String,
        /// Customer.
        customer_id: String,
        /// Marketplace.
        marketplace: String,
        /// Segment.
        segment: Option<String>,
    },
}

impl Principal {
    /// The app.
    pub fn app_id(&self) -> &str {
        match self {
            Principal::Secret { app_id, .. } | Principal::Customer { app_id, .. } => app_id,
        }
    }
    /// The account.
    pub fn account_id(&self) -> &str {
        match self {
            Principal::Secret { account_id, .. } | Principal::Customer { account_id, .. } => {
                account_id
            }
        }
    }
    /// The customer of a token.
    pub fn customer(&self) -> Option<&str> {
        match self {
            Principal::Customer { customer_id, .. } => Some(customer_id),
            Principal::Secret { .. } => None,
        }
    }
    /// Fails with `403 forbidden` for a customer token.
    pub fn require_secret(&self) -> Result<(), ApiError> {
        match self {
            Principal::Secret { .. } => Ok(()),
            Principal::Customer { .. } => Err(ApiError::forbidden(
                "A customer token may not use this route.",
            )),
        }
    }
}

/// Resolves the `Authorization` header.
pub fn resolve(state: &State, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(cred) = raw
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_required",
            "Send `Authorization: Bearer <secret key or customer token>`.",
        ));
    };
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "The credential is unknown or revoked.",
        )
    };
    if cred.starts_with("ct_") {
        let t = state.tokens.get(cred).ok_or_else(invalid)?;
        if state.now() >= t.expires_at {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_expired",
                "The customer token expired: fetch a new one.",
            ));
        }
        let app = state.apps.get(&t.app_id).ok_or_else(invalid)?;
        return Ok(Principal::Customer {
            app_id: app.id.clone(),
            account_id: app.account_id.clone(),
            customer_id: t.customer_id.clone(),
            marketplace: t.marketplace.clone(),
            segment: t.segment.clone(),
        });
    }
    let key_id = state.key_by_secret.get(cred).ok_or_else(invalid)?;
    let key = state.keys.get(key_id).ok_or_else(invalid)?;
    if key.revoked_at.is_some() {
        return Err(invalid());
    }
    let app = state.apps.get(&key.app_id).ok_or_else(invalid)?;
    Ok(Principal::Secret {
        app_id: app.id.clone(),
        account_id: app.account_id.clone(),
    })
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
        let g = app.lock();
        resolve(&g, &parts.headers).map(Auth)
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

/// Checks a customer id (`[A-Za-z0-9_.:@-]{1,128}`).
pub fn valid_customer_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:@-".contains(c))
}

/// Checks a brand-chosen id or segment (`^[A-Za-z0-9_-]{1,64}$`).
pub fn valid_label(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
