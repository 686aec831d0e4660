//! The app's token provider and the cache in front of it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::MomentsError;
use crate::runtime::panic_text;
use crate::types::CustomerToken;

/// Implemented by the app: fetches a customer token from the app's own backend.
///
/// The backend mints it with its secret key (`POST /v1/customer_tokens`); the secret key never ships in the
/// app. The SDK caches the token, calls this once for any number of concurrent calls, and again shortly before
/// the token expires or when the API says it expired. Throwing (any exception / error) makes the call that
/// needed the token fail with `MomentsError.TokenProvider` (`token_provider_failed`).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    /// Returns a fresh customer token.
    async fn fetch_token(&self) -> Result<CustomerToken, MomentsError>;
}

struct Cached {
    token: String,
    /// On the monotonic clock, with a safety margin already taken off.
    refresh_at: Instant,
}

/// Single-flight cache of the customer token.
pub(crate) struct TokenCache {
    provider: Arc<dyn TokenProvider>,
    cached: Mutex<Option<Cached>>,
    fetches: AtomicU64,
}

impl TokenCache {
    pub(crate) fn new(provider: Arc<dyn TokenProvider>) -> Self {
        Self { provider, cached: Mutex::new(None), fetches: AtomicU64::new(0) }
    }

    /// How many times the provider was called.
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid token: the cached one, or a fresh one from the provider. Concurrent callers wait for one fetch.
    pub(crate) async fn token(&self) -> Result<String, MomentsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        let lifetime = Duration::from_secs(fresh.expires_in_seconds);
        // Refresh a little early (10 % of the lifetime, at most 30 s) so a token does not expire in flight.
        let margin = (lifetime / 10).min(Duration::from_secs(30));
        *cached = Some(Cached { token: fresh.token.clone(), refresh_at: Instant::now() + lifetime - margin });
        Ok(fresh.token)
    }

    /// Forgets `stale` (the API answered `token_expired` or `invalid_api_key` for it) so the next call fetches.
    pub(crate) async fn invalidate(&self, stale: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == stale) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<CustomerToken, MomentsError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("fetching a customer token from the app's token provider");
        let result = AssertUnwindSafe(self.provider.fetch_token()).catch_unwind().await;
        let token = match result {
            Ok(Ok(token)) => token,
            Ok(Err(err @ MomentsError::TokenProvider { .. })) => return Err(err),
            Ok(Err(err)) => {
                return Err(MomentsError::token_provider(
                    format!("the token provider failed: {}", err.reason()),
                    err.retryable(),
                ));
            }
            Err(panic) => return Err(MomentsError::token_provider(panic_text(panic), false)),
        };
        if token.token.trim().is_empty() {
            return Err(MomentsError::token_provider("the token provider returned an empty token", false));
        }
        if token.expires_in_seconds == 0 {
            return Err(MomentsError::token_provider("the token provider returned an expired token", false));
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    struct Counting {
        calls: AtomicU32,
        ttl: u64,
    }

    #[async_trait::async_trait]
    impl TokenProvider for Counting {
        async fn fetch_token(&self) -> Result<CustomerToken, MomentsError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(CustomerToken { token: format!("ct_{n}"), expires_in_seconds: self.ttl })
        }
    }

    struct Failing;

    #[async_trait::async_trait]
    impl TokenProvider for Failing {
        async fn fetch_token(&self) -> Result<CustomerToken, MomentsError> {
            Err(MomentsError::from(uniffi::UnexpectedUniFFICallbackError::new("java.lang.IllegalStateException: backend down")))
        }
    }

    struct Panicking;

    #[async_trait::async_trait]
    impl TokenProvider for Panicking {
        async fn fetch_token(&self) -> Result<CustomerToken, MomentsError> {
            panic!("provider bug")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cached_single_flight_and_refreshed_before_expiry() {
        let provider = Arc::new(Counting { calls: AtomicU32::new(0), ttl: 900 });
        let cache = Arc::new(TokenCache::new(provider.clone()));
        let tasks: Vec<_> = (0..20).map(|_| tokio::spawn({
            let cache = cache.clone();
            async move { cache.token().await.unwrap() }
        })).collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), "ct_1");
        }
        assert_eq!(provider.calls.load(Ordering::SeqCst), 1);

        // 900 s lifetime, refreshed 30 s early.
        tokio::time::advance(Duration::from_secs(869)).await;
        assert_eq!(cache.token().await.unwrap(), "ct_1");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.token().await.unwrap(), "ct_2");

        cache.invalidate("ct_1").await; // an old token: no effect
        assert_eq!(cache.token().await.unwrap(), "ct_2");
        cache.invalidate("ct_2").await;
        assert_eq!(cache.token().await.unwrap(), "ct_3");
        assert_eq!(cache.fetch_count(), 3);
    }

    #[tokio::test]
    async fn a_throwing_or_panicking_provider_is_a_typed_error() {
        let err = TokenCache::new(Arc::new(Failing)).token().await.unwrap_err();
        assert_eq!(err.code(), "token_provider_failed");
        assert!(err.reason().contains("backend down"));

        let err = TokenCache::new(Arc::new(Panicking)).token().await.unwrap_err();
        assert_eq!(err.code(), "token_provider_failed");
        assert!(matches!(err, MomentsError::TokenProvider { .. }));
    }
}
