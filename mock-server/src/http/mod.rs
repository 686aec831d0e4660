//! The HTTP side of the v1 API and the compatibility endpoints: the route table, the layers every
//! request passes (request id, limits, faults, idempotency, error envelope, journal) and handlers
//! that translate between the wire and the domain.

pub mod apps;
pub mod auth;
pub mod campaigns;
pub mod catalog;
pub mod compat;
pub mod envelope;
pub mod extract;
pub mod fraud;
pub mod idem_store;
pub mod info;
pub mod layers;
mod openapi_extra;
pub mod pagination;
pub mod redemption;
pub mod reports;
pub mod rewards;
pub mod router;
pub mod triggers;
pub mod webhooks;

pub use router::{openapi, routes};
