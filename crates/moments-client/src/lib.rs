//! Async Rust client for the Moments Rewards API.
