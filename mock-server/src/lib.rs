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

pub mod app;
pub mod control;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod pages;
pub mod server;
pub mod testing;

pub use domain::sandbox::Demo;
pub use http::compat::DEFAULT_RATE_PER_SECOND as COMPAT_RATE_PER_SECOND;
pub use server::{DEMO_LEGACY_KEY, DEMO_SECRET_KEY, MockConfig, MockServer};
pub use testing::{Control, Fault, Fixtures, Route};
