//! [`MomentsClient`]: the entry point.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::{Auth, SecretKey};
use crate::config::{ClientBuilder, RequestOptions, Timeouts};
use crate::error::Error;
use crate::request::{Answer, Call};
use crate::resources::{
    Apps, Campaigns, Catalog, CustomerTokens, FraudReviews, Legacy, Moments, ProgressApi,
    Redemptions, Reports, Rewards, WebhookEndpoints,
};
use crate::retry::{IdempotencyKeySource, RetryPolicy};

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) auth: Auth,
    pub(crate) legacy_api_key: Option<SecretKey>,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) user_agent: reqwest::header::HeaderValue,
    pub(crate) keys: Arc<dyn IdempotencyKeySource>,
    /// The TLS configuration (platform verifier and extra roots) of the clients this one builds.
    pub(crate) tls: Arc<rustls::ClientConfig>,
}

/// The Moments Rewards API client. Cheap to clone (one `Arc` inside); share it across tasks.
///
/// Calls are grouped by resource: [`campaigns`](Self::campaigns), [`moments`](Self::moments),
/// [`rewards`](Self::rewards), and so on. Each group can take per-call
/// [`RequestOptions`] through `with_options`.
#[derive(Clone)]
pub struct MomentsClient {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for MomentsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = match &self.inner.auth {
            Auth::None => "none",
            Auth::Static(..) => "static(<redacted>)",
            Auth::Provider(_) => "token provider",
        };
        f.debug_struct("MomentsClient")
            .field("base_url", &self.inner.base.as_str())
            .field("credentials", &credentials)
            .field("legacy_api_key", &self.inner.legacy_api_key)
            .field("timeouts", &self.inner.timeouts)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl MomentsClient {
    /// A [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// A client with this one's configuration and credentials (sharing its customer-token cache)
    /// but a connection pool of its own.
    ///
    /// Connections belong to the tokio runtime that opened them. Use this to drive calls from a
    /// second runtime (say a current-thread runtime on a caller's thread) without ever borrowing
    /// a connection whose I/O only the other runtime drives. Does no I/O. A client built with
    /// [`ClientBuilder::http_client`](crate::ClientBuilder::http_client) gets a `reqwest::Client`
    /// of this crate's own making (platform certificate verification) with the same connect timeout.
    pub fn with_own_connection_pool(&self) -> Result<MomentsClient, Error> {
        let i = &*self.inner;
        let http = crate::config::http_client(i.timeouts.connect, &i.tls)?;
        Ok(MomentsClient::from_inner(Inner {
            http,
            base: i.base.clone(),
            auth: i.auth.clone(),
            legacy_api_key: i.legacy_api_key.clone(),
            timeouts: i.timeouts,
            retry: i.retry.clone(),
            user_agent: i.user_agent.clone(),
            keys: Arc::clone(&i.keys),
            tls: Arc::clone(&i.tls),
        }))
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// Drops the cached customer token (token-provider clients only), so the next call fetches a
    /// new one. Useful after the application learns the token was revoked.
    pub async fn invalidate_cached_token(&self) {
        if let Auth::Provider(cache) = &self.inner.auth {
            cache.clear().await;
        }
    }

    /// How many times the token provider was called (0 for other credentials). For diagnostics.
    pub fn token_fetch_count(&self) -> u64 {
        match &self.inner.auth {
            Auth::Provider(cache) => cache.fetch_count(),
            _ => 0,
        }
    }

    /// The app, its secret keys.
    pub fn apps(&self) -> Apps<'_> {
        Apps::new(self)
    }

    /// Minting customer tokens.
    pub fn customer_tokens(&self) -> CustomerTokens<'_> {
        CustomerTokens::new(self)
    }

    /// The reward catalog.
    pub fn catalog(&self) -> Catalog<'_> {
        Catalog::new(self)
    }

    /// Campaigns and their lifecycle.
    pub fn campaigns(&self) -> Campaigns<'_> {
        Campaigns::new(self)
    }

    /// Triggers (the consuming call) and reward info.
    pub fn moments(&self) -> Moments<'_> {
        Moments::new(self)
    }

    /// Issued rewards.
    pub fn rewards(&self) -> Rewards<'_> {
        Rewards::new(self)
    }

    /// The JSON twin of the reward landing page (no credentials needed).
    pub fn redemptions(&self) -> Redemptions<'_> {
        Redemptions::new(self)
    }

    /// Customers' progress toward goal moments.
    pub fn progress(&self) -> ProgressApi<'_> {
        ProgressApi::new(self)
    }

    /// Rewards held for fraud review.
    pub fn fraud_reviews(&self) -> FraudReviews<'_> {
        FraudReviews::new(self)
    }

    /// Campaign and account reports.
    pub fn reports(&self) -> Reports<'_> {
        Reports::new(self)
    }

    /// Webhook endpoints.
    pub fn webhook_endpoints(&self) -> WebhookEndpoints<'_> {
        WebhookEndpoints::new(self)
    }

    /// The original service's `GetRewardInfo` / `GetReward` (header `x-api-key`).
    pub fn legacy(&self) -> Legacy<'_> {
        Legacy::new(self)
    }

    pub(crate) async fn send(&self, call: Call, opts: &RequestOptions) -> Result<Answer, Error> {
        self.inner.execute(call, opts).await
    }

    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        call: Call,
        opts: &RequestOptions,
    ) -> Result<T, Error> {
        self.send(call, opts).await?.decode()
    }

    pub(crate) async fn call_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        call: Call,
        body: &B,
        opts: &RequestOptions,
    ) -> Result<T, Error> {
        self.call(call.json(body)?, opts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Send + Sync + Clone + 'static>() {}
    fn sendable<T: Send + 'static>() {}

    #[test]
    fn the_client_is_cheap_to_share_across_tasks() {
        shareable::<MomentsClient>();
        sendable::<crate::ItemStream<crate::models::Reward>>();
        sendable::<Error>();
        let a = MomentsClient::builder().build().unwrap();
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
    }
}
