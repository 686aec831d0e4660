//! The app's token provider (cached and single-flighted by `moments-client`).

use crate::error::MomentsError;
use crate::types::CustomerToken;

/// Implemented by the app: fetches a customer token from the app's own backend.
///
/// The backend mints it with its secret key (`POST /v1/customer_tokens`); the secret key never ships in the
/// app. The SDK caches the token, calls this once for any number of concurrent calls, and again shortly before
/// the token expires or when the API says it expired. Throwing (any exception / error) makes the call that
/// needed the token fail with `MomentsError.TokenProvider` (code `TokenProviderFailed`).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    /// Returns a fresh customer token.
    async fn fetch_token(&self) -> Result<CustomerToken, MomentsError>;
}
