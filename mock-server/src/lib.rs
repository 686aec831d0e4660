//! Stateful mock of the Moments Rewards API.
