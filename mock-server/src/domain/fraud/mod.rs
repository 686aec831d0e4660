//! Fraud controls: the rules a trigger passes ([`rules`]: velocity per customer, device and IP;
//! many customers on one device) and the reviews of the rewards they hold ([`reviews`]).
//!
//! A new rule is a function in [`rules`] and one line in the trigger pipeline
//! ([`crate::domain::trigger`]).

pub mod reviews;
pub mod rules;
