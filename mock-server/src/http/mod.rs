//! The HTTP side of the v1 API and the compatibility endpoints: the route table, the layers every
//! request passes (request id, limits, faults, idempotency, error envelope, journal) and handlers
//! that translate between the wire and the domain.

pub mod apps;
pub mod auth;
pub mod compat;
pub mod extract;
pub mod idem_store;
pub mod idempotency;
pub mod layers;
mod openapi_extra;
pub mod pagination;
pub mod router;

pub use router::{openapi, router, routes};
