//! Credentials: accounts, apps, secret keys, legacy keys and customer tokens, and who a
//! credential is ([`Credentials::resolve`]).
//!
//! Every change that could make a resolved credential stale (a key revoked, the state reset)
//! moves the shared generation on ([`Credentials::changed`]), so `auth::CredCache` drops what it
//! resolved before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use http::StatusCode;

use crate::domain::errors::ApiError;
use crate::domain::ids;
use crate::domain::principal::Principal;
use crate::domain::shard::FastMap;

/// An app.
#[derive(Clone, Debug)]
pub struct AppRec {
    /// `app_…`.
    pub id: String,
    /// Owner account.
    pub account_id: String,
    /// Name.
    pub name: String,
    /// Legacy `x-api-key`.
    pub legacy_key: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A secret key.
#[derive(Clone, Debug)]
pub struct KeyRec {
    /// `key_…`.
    pub id: String,
    /// Owner app.
    pub app_id: String,
    /// Label.
    pub name: Option<String>,
    /// The secret.
    pub secret: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A customer token.
#[derive(Clone, Debug)]
pub struct TokenRec {
    /// App.
    pub app_id: String,
    /// Customer.
    pub customer_id: String,
    /// Marketplace.
    pub marketplace: String,
    /// Segment.
    pub segment: Option<String>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// The credentials of a server.
pub struct Credentials {
    accounts: std::collections::HashSet<String, crate::domain::shard::Seeded>,
    apps: FastMap<String, AppRec>,
    keys: FastMap<String, KeyRec>,
    key_by_secret: FastMap<String, String>,
    app_by_legacy: FastMap<String, String>,
    tokens: FastMap<String, TokenRec>,
    generation: Arc<AtomicU64>,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            accounts: Default::default(),
            apps: FastMap::with_capacity_and_hasher(16, Default::default()),
            keys: FastMap::with_capacity_and_hasher(16, Default::default()),
            key_by_secret: FastMap::with_capacity_and_hasher(16, Default::default()),
            app_by_legacy: FastMap::with_capacity_and_hasher(16, Default::default()),
            tokens: FastMap::with_capacity_and_hasher(256, Default::default()),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Credentials {
    /// The generation, shared with the server (`Shared::cred_gen`): readable without the state's lock.
    pub fn generation(&self) -> Arc<AtomicU64> {
        self.generation.clone()
    }

    /// Takes over another state's generation (a reset keeps the server's counter) and moves it on.
    pub fn continue_generation(&mut self, from: &Credentials) {
        self.generation = from.generation.clone();
        self.changed();
    }

    /// The generation now.
    pub fn generation_now(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Invalidates every cached credential.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Adds an account (again: no change).
    pub fn add_account(&mut self, id: &str) {
        self.accounts.insert(id.to_string());
    }

    /// Whether an account exists.
    pub fn has_account(&self, id: &str) -> bool {
        self.accounts.contains(id)
    }

    /// Adds an app with its legacy key.
    pub fn add_app(
        &mut self,
        id: &str,
        account: &str,
        name: &str,
        legacy: &str,
        now: DateTime<Utc>,
    ) {
        self.apps.insert(
            id.into(),
            AppRec {
                id: id.into(),
                account_id: account.into(),
                name: name.into(),
                legacy_key: legacy.into(),
                created_at: now,
            },
        );
        self.app_by_legacy.insert(legacy.into(), id.into());
    }

    /// An app.
    pub fn app(&self, id: &str) -> Option<&AppRec> {
        self.apps.get(id)
    }

    /// The app of a legacy key.
    pub fn app_of_legacy_key(&self, key: &str) -> Option<&AppRec> {
        self.app_by_legacy.get(key).and_then(|id| self.apps.get(id))
    }

    /// Whether a secret or legacy key is already some app's.
    pub fn key_taken(&self, secret: &str, legacy: &str) -> bool {
        self.key_by_secret.contains_key(secret) || self.app_by_legacy.contains_key(legacy)
    }

    /// Adds a secret key to an app; returns its id.
    pub fn add_key(
        &mut self,
        app: &str,
        name: Option<String>,
        secret: String,
        now: DateTime<Utc>,
    ) -> String {
        let id = ids::new_id("key_");
        self.key_by_secret.insert(secret.clone(), id.clone());
        self.keys.insert(
            id.clone(),
            KeyRec {
                id: id.clone(),
                app_id: app.into(),
                name,
                secret,
                created_at: now,
                revoked_at: None,
            },
        );
        id
    }

    /// A secret key by id.
    pub fn key(&self, id: &str) -> Option<&KeyRec> {
        self.keys.get(id)
    }

    /// The secret keys of an app.
    pub fn keys_of<'a>(&'a self, app: &'a str) -> impl Iterator<Item = &'a KeyRec> {
        self.keys.values().filter(move |k| k.app_id == app)
    }

    /// Revokes an app's key (the first revocation's time stays); `None` when the app has no such key.
    pub fn revoke_key(&mut self, app: &str, id: &str, now: DateTime<Utc>) -> Option<&KeyRec> {
        let k = self.keys.get_mut(id).filter(|k| k.app_id == app)?;
        k.revoked_at.get_or_insert(now);
        self.changed();
        self.keys.get(id)
    }

    /// Adds a customer token.
    pub fn add_token(&mut self, token: String, rec: TokenRec) {
        self.tokens.insert(token, rec);
    }

    /// Who a credential is and, for a customer token, when it expires (not checked here).
    pub fn resolve(&self, cred: &str) -> Result<(Principal, Option<DateTime<Utc>>), ApiError> {
        let invalid = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "The credential is unknown or revoked.",
            )
        };
        if cred.starts_with("ct_") {
            let t = self.tokens.get(cred).ok_or_else(invalid)?;
            let app = self.apps.get(&t.app_id).ok_or_else(invalid)?;
            let p = Principal::Customer {
                app_id: app.id.clone(),
                account_id: app.account_id.clone(),
                customer_id: t.customer_id.clone(),
                marketplace: t.marketplace.clone(),
                segment: t.segment.clone(),
            };
            return Ok((p, Some(t.expires_at)));
        }
        let key_id = self.key_by_secret.get(cred).ok_or_else(invalid)?;
        let key = self.keys.get(key_id).ok_or_else(invalid)?;
        if key.revoked_at.is_some() {
            return Err(invalid());
        }
        let app = self.apps.get(&key.app_id).ok_or_else(invalid)?;
        let p = Principal::Secret {
            app_id: app.id.clone(),
            account_id: app.account_id.clone(),
        };
        Ok((p, None))
    }
}
