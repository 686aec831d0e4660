//! The sandbox's domain: the parts it owns (credentials, catalog, campaigns, rewards, ledger, fraud,
//! goals, webhooks) and the mock's own controls (clock, faults, journal). Nothing here knows HTTP:
//! handlers in [`crate::http`] and the control API in [`crate::control`] translate to and from it.

pub mod applying;
pub mod apps;
pub mod campaigns;
pub mod catalog;
pub mod clock;
pub mod credentials;
pub mod errors;
pub mod faults;
pub mod fraud;
pub mod goals;
pub mod ids;
pub mod info;
pub mod journal;
pub mod ledger;
pub mod model;
pub mod money;
pub mod principal;
pub mod reports;
pub mod rewards;
pub mod sandbox;
pub mod shard;
pub mod trigger;
pub mod webhooks;
pub mod window;
