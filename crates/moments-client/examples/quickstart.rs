//! The README's quickstart: one trigger against the mock
//! (`cargo run -p moments-mock-server -- --port 8080`, then `cargo run -p moments-client --example quickstart`).
//! `tests/readme.rs` checks that the README shows this file's code.

use moments_client::MomentsClient;
use moments_client::models::{DeviceType, TriggerRequest};

#[tokio::main]
async fn main() -> Result<(), moments_client::Error> {
    let client = MomentsClient::builder()
        .base_url("http://127.0.0.1:8080")
        .secret_key("sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc")
        .build()?;
    let request = TriggerRequest::new("cmp_demo_workouts", "first_workout", DeviceType::Android)
        .customer("cust_42", "US");
    let outcome = client.moments().trigger(&request).await?;
    if let Some(reward) = outcome.reward() {
        println!("reward link: {}", reward.url);
    }
    Ok(())
}
