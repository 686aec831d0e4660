//! Durable offline outbox for actions reported to the Moments Rewards API.
