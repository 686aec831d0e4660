//! Shared helpers for the end-to-end tests.

pub mod console;
pub mod mock;
pub mod store;
