//! Async Rust client for the Moments Rewards API.
//!
//! Brands report the *moments* that matter in their apps (a first workout, level 5, 30 deposits in a
//! month); the API answers with a reward link, or with the progress toward a goal. This crate speaks
//! the whole `v1` API and the two original compatibility endpoints, with:
//!
//! - credentials: secret keys for servers, customer tokens for apps, or a [`TokenProvider`] whose
//!   tokens are cached, refreshed ahead of expiry and fetched once for any number of concurrent calls;
//! - safe retries: only `GET`s and `POST`s carrying an `Idempotency-Key` (one is made per logical call
//!   and reused on every attempt), exponential backoff with full jitter, `Retry-After` honoured;
//! - connect, per-attempt and whole-call timeouts;
//! - one [`Error`] type carrying the API error code, request id and whether retrying may help;
//! - typed, forward compatible [`models`], cursor pagination as `Stream`s;
//! - [`webhooks`] signature verification (constant time, replay window);
//! - `tracing` spans per call; rustls only (no OpenSSL), with server certificates checked by the
//!   platform's verifier (the device's trust store, user- and MDM-installed CAs included) and extra
//!   roots through [`ClientBuilder::add_trusted_certificate`].
//!
//! # Quickstart
//!
//! ```no_run
//! use moments_client::MomentsClient;
//! use moments_client::models::{DeviceType, TriggerRequest};
//!
//! # async fn run() -> Result<(), moments_client::Error> {
//! let client = MomentsClient::builder()
//!     .base_url("http://127.0.0.1:8080") // the mock; production is the default
//!     .secret_key(std::env::var("MOMENTS_SECRET_KEY").unwrap_or_default()) // the mock's: sk_test_demo_…
//!     .build()?;
//!
//! let outcome = client
//!     .moments()
//!     .trigger(
//!         // The mock's demo campaign and moment (`cargo run -p moments-mock-server`).
//!         &TriggerRequest::new("cmp_demo_workouts", "first_workout", DeviceType::Android)
//!             .customer("cust_42", "US"),
//!     )
//!     .await?;
//! match (outcome.reward(), outcome.progress()) {
//!     (Some(reward), _) => println!("show the customer {}", reward.url),
//!     (_, Some(p)) => println!("{} of {}", p.current, p.target),
//!     _ => {}
//! }
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! ```no_run
//! # async fn run(client: moments_client::MomentsClient) {
//! use moments_client::ErrorCode;
//! match client.rewards().cancel("rwd_123").await {
//!     Ok(reward) => println!("cancelled {}", reward.id),
//!     Err(e) if e.code() == Some(&ErrorCode::RewardNotCancellable) => println!("too late"),
//!     Err(e) => eprintln!("failed: {e} (request id {:?})", e.request_id()),
//! }
//! # }
//! ```
//!
//! # Features
//!
//! - `http2`: offer HTTP/2 (by ALPN, next to HTTP/1.1). Off by default: the client makes few small
//!   requests over keep-alive HTTP/1.1 connections, and HTTP/2 adds about 0.5 MB to the mobile library.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod auth;
mod client;
mod config;
mod error;
pub mod models;
mod pagination;
mod request;
mod resources;
mod retry;
mod tls;
pub mod webhooks;

pub use auth::{Credentials, SecretKey, TokenGrant, TokenProvider};
pub use client::MomentsClient;
pub use config::{ClientBuilder, DEFAULT_BASE_URL, RequestOptions, Timeouts};
pub use error::{ApiError, BoxError, Error, ErrorCode, ErrorKind, Result, WebhookSignatureError};
pub use pagination::ItemStream;
pub use resources::{
    Apps, Campaigns, Catalog, CustomerTokens, FraudReviews, Legacy, Moments, ProgressApi,
    Redemptions, Reports, Rewards, WebhookEndpoints,
};
pub use retry::{IdempotencyKeySource, RandomKeys, RetryPolicy, SeededKeys};

/// Re-exported so token providers can be written without adding the dependency.
pub use async_trait::async_trait;
