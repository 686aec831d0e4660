//! Stateful mock of the Moments Rewards API: the whole v1 API with real state, the
//! compatibility endpoints, redemption landing pages, and a control API (`/_mock/…`) with a
//! virtual clock, fault injection, a request journal and a webhook delivery log.
//!
//! Tests drive the control API through [`testing`], a typed client of it
//! ([`MockServer::control`], or [`Control::connect`] for a mock running elsewhere).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = moments_mock_server::MockServer::start().await?;
//! println!("{} {}", server.base_url(), server.demo().secret_key);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod app;
mod control;
mod delivery;
mod domain;
mod http;
mod memory;
mod pages;
mod server;
mod store;
mod sync;
mod tenants;
pub mod testing;

/// The API's wire types (requests, answers, events) as the mock reads and writes them.
pub mod model {
    pub use crate::domain::model::*;
}

pub use domain::sandbox::Demo;
pub use domain::webhooks::{
    URL_MAX_LEN as WEBHOOK_URL_MAX_LEN, URL_PATTERN as WEBHOOK_URL_PATTERN,
};
pub use http::compat::DEFAULT_RATE_PER_SECOND as COMPAT_RATE_PER_SECOND;
pub use http::{openapi, routes};
pub use server::{DEMO_CAMPAIGN_ID, DEMO_LEGACY_KEY, DEMO_SECRET_KEY, MockConfig, MockServer};
pub use store::StoreSpec;
pub use testing::{Control, Fault, Fixtures, Route};
