//! Durable offline outbox for actions reported to the Moments Rewards API.
//!
//! An app reports a customer's action with [`Outbox::enqueue`]; the action is written to a
//! SQLite file with its idempotency key **before** any network attempt, and delivered in the
//! background by a [`Deliverer`] (normally [`ClientDeliverer`], over `moments-client`) with the
//! same key on every attempt, so the server rewards it exactly once even when the app is killed
//! mid-request. Outcomes reach the app through an [`OutboxListener`]. `docs/outbox.md` states
//! the guarantees, the ordering rule, the bounds and the recovery rules.
//!
//! ```no_run
//! # async fn demo(deliverer: std::sync::Arc<dyn moments_outbox::Deliverer>) -> moments_outbox::Result<()> {
//! use moments_outbox::{Action, Customer, Device, DeviceType, Outbox, OutboxConfig};
//!
//! let outbox = Outbox::open(OutboxConfig::new("/data/app/moments-outbox.sqlite"), deliverer, None).await?;
//! let queued = outbox
//!     .enqueue(Action::new("cmp_1", "first_workout", Customer::new("cust_42", "US"), Device::new(DeviceType::Android)))
//!     .await?;
//! println!("queued as {}", queued.idempotency_key);
//! outbox.network_available();
//! # Ok(()) }
//! ```

mod action;
#[cfg(feature = "client")]
mod client;
mod deliver;
mod error;
mod event;
#[cfg(feature = "http")]
mod http;
mod outbox;
mod store;

pub use action::{Action, Customer, Device, DeviceType};
#[cfg(feature = "client")]
pub use client::ClientDeliverer;
pub use deliver::{Delivered, Deliverer, DeliveryResult, Outcome, PermanentError, QueuedAction};
pub use error::{OutboxError, Result};
pub use event::{DropReason, OutboxEvent, OutboxListener};
#[cfg(feature = "http")]
pub use http::{HttpDeliverer, StaticToken, TokenProvider, classify};
pub use outbox::{Enqueued, FullPolicy, MIN_KEY_RETENTION, Outbox, OutboxConfig};
pub use store::{ActionStatus, Counts, FailedAction, SCHEMA_VERSION};
