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

pub mod pagination;

pub mod api;
pub mod apps;
pub mod auth;
pub mod campaigns;
pub mod catalog;
pub mod clock;
pub mod compat;
pub mod control;
pub mod credentials;
pub mod errors;
pub mod extract;
pub mod faults;
pub mod fraud;
pub mod goals;
pub mod idem_store;
pub mod idempotency;
pub mod ids;
pub mod info;
pub mod journal;
pub mod landing;
pub mod ledger;
pub mod model;
pub mod money;
pub mod record;
pub mod redemption;
pub mod reports;
pub mod request_id;
pub mod reward_json;
pub mod rewards;
pub mod server;
pub mod shard;
pub mod state;
pub mod testing;
pub mod triggers;
pub mod webhooks;
pub mod window;

pub use compat::DEFAULT_RATE_PER_SECOND as COMPAT_RATE_PER_SECOND;
pub use server::{DEMO_LEGACY_KEY, DEMO_SECRET_KEY, MockConfig, MockServer};
pub use state::Demo;
pub use testing::{Control, Fault, Fixtures, Route};
