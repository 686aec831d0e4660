//! Credentials: secret keys, customer tokens and token providers.
//!
//! A [`TokenProvider`] is the application's own code that fetches a customer token (usually from the
//! brand's backend, which mints it with its secret key). The client caches the token, refreshes it
//! ahead of expiry using the server's `expires_in_seconds` measured on the monotonic clock, runs one
//! fetch for any number of concurrent calls, and on a `401 token_expired` / `invalid_api_key`
//! fetches once more and retries the call once.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::{BoxError, Error, ErrorKind};

/// A secret API key (`sk_…`). Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a secret key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, to put in a header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A customer token handed out by a [`TokenProvider`]: the `ct_…` string and its lifetime as the
/// server stated it (`expires_in_seconds` of `POST /v1/customer_tokens`). `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The `ct_…` token. Never log it.
    pub token: String,
    /// Seconds until it expires, as the server answered when it was minted.
    pub expires_in_seconds: u64,
}

impl TokenGrant {
    /// A grant for `token` that expires in `expires_in_seconds`.
    pub fn new(token: impl Into<String>, expires_in_seconds: u64) -> Self {
        Self {
            token: token.into(),
            expires_in_seconds,
        }
    }
}

impl fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGrant")
            .field("token", &"<redacted>")
            .field("expires_in_seconds", &self.expires_in_seconds)
            .finish()
    }
}

impl From<crate::models::CustomerToken> for TokenGrant {
    fn from(t: crate::models::CustomerToken) -> Self {
        Self {
            expires_in_seconds: t.expires_in_seconds.max(0) as u64,
            token: t.token,
        }
    }
}

/// Fetches customer tokens for the client. Implemented by the application (object safe).
///
/// ```
/// use moments_client::{BoxError, TokenGrant, TokenProvider};
///
/// struct FromMyBackend;
///
/// #[moments_client::async_trait]
/// impl TokenProvider for FromMyBackend {
///     async fn fetch_token(&self) -> Result<TokenGrant, BoxError> {
///         // Call your own backend here; it mints the token with its secret key.
///         Ok(TokenGrant::new("ct_example", 900))
///     }
/// }
/// ```
#[async_trait]
pub trait TokenProvider: Send + Sync + 'static {
    /// Returns a fresh customer token.
    async fn fetch_token(&self) -> Result<TokenGrant, BoxError>;
}

/// How the client authenticates to the `/v1/` API.
#[derive(Clone)]
pub enum Credentials {
    /// A secret key (`sk_…`), for the brand's servers.
    SecretKey(SecretKey),
    /// A fixed customer token (`ct_…`); it is not refreshed.
    CustomerToken(SecretKey),
    /// Customer tokens fetched, cached and refreshed through the application's provider.
    TokenProvider(Arc<dyn TokenProvider>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecretKey(_) => f.write_str("Credentials::SecretKey(<redacted>)"),
            Self::CustomerToken(_) => f.write_str("Credentials::CustomerToken(<redacted>)"),
            Self::TokenProvider(_) => f.write_str("Credentials::TokenProvider(..)"),
        }
    }
}

struct Cached {
    token: String,
    refresh_at: Instant,
}

/// The single-flight cache in front of a [`TokenProvider`].
pub(crate) struct TokenCache {
    provider: Arc<dyn TokenProvider>,
    cached: Mutex<Option<Cached>>,
    fetches: AtomicU64,
}

/// How early before expiry a token is refreshed: a tenth of its lifetime, between 1 s and 60 s.
pub(crate) fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10)
        .clamp(Duration::from_secs(1), Duration::from_secs(60))
        .min(lifetime)
}

impl TokenCache {
    pub(crate) fn new(provider: Arc<dyn TokenProvider>) -> Self {
        Self {
            provider,
            cached: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the provider was called.
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid token: the cached one, or one fetched now. Concurrent callers share one fetch.
    pub(crate) async fn token(&self) -> Result<String, Error> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("fetching a customer token from the token provider");
        let grant = self
            .provider
            .fetch_token()
            .await
            .map_err(|source| Error::new(ErrorKind::TokenProvider { source }))?;
        if grant.token.trim().is_empty() {
            return Err(Error::new(ErrorKind::TokenProvider {
                source: "the token provider returned an empty token".into(),
            }));
        }
        let lifetime = Duration::from_secs(grant.expires_in_seconds);
        let refresh_at = Instant::now() + lifetime - refresh_margin(lifetime);
        *cached = Some(Cached {
            token: grant.token.clone(),
            refresh_at,
        });
        Ok(grant.token)
    }

    /// Forgets the cached token, whatever it is.
    pub(crate) async fn clear(&self) {
        *self.cached.lock().await = None;
    }

    /// Forgets `stale` (the server refused it) so the next call fetches a new one. A token already
    /// replaced by a concurrent refresh is kept.
    pub(crate) async fn invalidate(&self, stale: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == stale) {
            *cached = None;
        }
    }
}

/// The credential source the transport uses (clones share the token cache).
#[derive(Clone)]
pub(crate) enum Auth {
    None,
    /// A fixed credential, with its `Authorization` header built once (`None` when the key has
    /// characters a header cannot carry: every call then fails with a configuration error).
    Static(SecretKey, Option<reqwest::header::HeaderValue>),
    Provider(Arc<TokenCache>),
}

/// `Authorization: Bearer <credential>`, marked sensitive so it is never logged.
pub(crate) fn bearer_header(credential: &str) -> Option<reqwest::header::HeaderValue> {
    let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {credential}")).ok()?;
    v.set_sensitive(true);
    Some(v)
}

impl Auth {
    pub(crate) fn from_credentials(c: Option<Credentials>) -> Self {
        match c {
            None => Auth::None,
            Some(Credentials::SecretKey(k)) | Some(Credentials::CustomerToken(k)) => {
                let header = bearer_header(k.expose());
                Auth::Static(k, header)
            }
            Some(Credentials::TokenProvider(p)) => Auth::Provider(Arc::new(TokenCache::new(p))),
        }
    }

    /// The bearer credential for the next attempt.
    pub(crate) async fn bearer(&self) -> Result<Option<String>, Error> {
        match self {
            Auth::None => Ok(None),
            Auth::Static(k, _) => Ok(Some(k.expose().to_owned())),
            Auth::Provider(cache) => cache.token().await.map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins() {
        assert_eq!(
            refresh_margin(Duration::from_secs(900)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(100)),
            Duration::from_secs(10)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(5)),
            Duration::from_secs(1)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn debug_redacts() {
        let k = SecretKey::new("sk_test_abcdefabcdefabcdefabcdefabcdefabcdef");
        assert!(!format!("{k:?}").contains("abcdef"));
        let g = TokenGrant::new("ct_secret_value", 60);
        assert!(!format!("{g:?}").contains("secret_value"));
        let c = Credentials::CustomerToken(SecretKey::new("ct_secret_value"));
        assert!(!format!("{c:?}").contains("secret_value"));
    }
}
