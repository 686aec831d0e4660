//! uniffi bindings of the Moments SDK: the API that Kotlin (Android, FireOS) and Swift (iOS) apps use.
//!
//! One [`MomentsClient`] per signed-in customer, configured with the API's base URL and a [`TokenProvider`]
//! the app implements (it fetches a short-lived customer token from the app's own backend). Everything runs on
//! the SDK's own tokio runtime; no panic crosses the FFI; every async call is safe to cancel or drop.
//!
//! Generated names: Kotlin package `com.moments.sdk`, Swift module `MomentsSDK` (see `uniffi.toml`).

uniffi::setup_scaffolding!();

// The Android half of the platform certificate verifier (type-checked on the host by the unit tests).
#[cfg(any(target_os = "android", test))]
mod android;
mod backend;
mod cancel;
mod client;
mod error;
mod listeners;
mod logging;
mod outbox;
mod runtime;
mod token;
mod types;

pub use cancel::CancellationToken;
pub use client::{BlockingMomentsClient, MomentsClient};
pub use error::{ErrorCode, MomentsError};
pub use listeners::{ListenerHandle, RewardListener, StatusListener};
pub use logging::{LogLevel, LogRecord, LogSink, clear_log_sink, set_log_sink};
pub use outbox::{ActionOutbox, OutboxCounts, OutboxEventListener};
pub use token::TokenProvider;
pub use types::*;
