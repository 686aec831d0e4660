//! The redemption landing page in a real browser: Debian's headless Chromium driven over WebDriver.
//!
//! Needs `chromium` and `chromium-driver` (`cargo xtask ci` installs them). Without them the test
//! fails when `CI` is set (`cargo xtask ci` sets it for its tests) and is skipped, loudly, elsewhere.

mod common;

use common::browser::{Browser, start_driver};
use moments_e2e::mock::Mock;
use moments_mock_server::MockServer;
use serde_json::{Value, json};

/// Triggers the demo campaign's `first_workout` for a fresh customer and returns the reward.
async fn issue_reward(server: &MockServer, customer: &str) -> Value {
    let demo = server.demo();
    let reward: Value = reqwest::Client::new()
        .post(format!("{}/v1/triggers", server.base_url()))
        .bearer_auth(&demo.secret_key)
        .header("Idempotency-Key", format!("browser-{customer}"))
        .json(&json!({
            "campaign_id": demo.campaign_id,
            "moment_id": "first_workout",
            "customer": {"id": customer, "marketplace": "US"},
            "device": {"type": "Web", "id": format!("dev-{customer}")}
        }))
        .send()
        .await
        .expect("trigger sent")
        .error_for_status()
        .expect("trigger succeeds")
        .json()
        .await
        .expect("trigger JSON");
    assert_eq!(reward["outcome"], "reward", "{reward}");
    reward["reward"].clone()
}

async fn reward_status(server: &MockServer, id: &str) -> String {
    let reward: Value = reqwest::Client::new()
        .get(format!("{}/v1/rewards/{id}", server.base_url()))
        .bearer_auth(&server.demo().secret_key)
        .send()
        .await
        .expect("reward read")
        .json()
        .await
        .expect("reward JSON");
    reward["status"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_customer_redeems_a_physical_item_in_chromium() {
    let Some(driver) = start_driver("a_customer_redeems_a_physical_item_in_chromium").await else {
        return;
    };
    let server = MockServer::start().await.expect("mock starts");
    let reward = issue_reward(&server, "browser-customer-1").await;
    let url = reward["url"].as_str().expect("reward url").to_owned();
    let reward_id = reward["id"].as_str().expect("reward id").to_owned();
    let physical = Mock::physical_item(&reward);

    let browser = Browser::open(&driver).await;
    browser.goto(&url).await;
    let body = browser.text().await;
    assert!(
        body.contains("Demo Fitness"),
        "the landing page shows the brand: {body}"
    );
    // The page's Content-Security-Policy lets its stylesheet apply (allowed by hash, not blocked).
    let page_body = browser.expect("body").await;
    assert_eq!(browser.css(&page_body, "max-width").await, "640px");

    // Choose the physical item and fill the shipping form.
    let choice = browser
        .expect(&format!("input[name='item_id'][value='{physical}']"))
        .await;
    browser.click(&choice).await;
    for (field, value) in [
        ("name", "Ada Lovelace"),
        ("line1", "12 Analytical Row"),
        ("city", "Seattle"),
        ("postal_code", "98109"),
        ("country", "US"),
    ] {
        let input = browser.expect(&format!("[name='{field}']")).await;
        browser.type_into(&input, value).await;
    }
    let submit = browser.expect("form [type='submit']").await;
    browser.click(&submit).await;

    // The confirmation page shows the redeemed state, and the API agrees.
    let confirmed = |t: &str| {
        let t = t.to_lowercase();
        t.contains("redeemed") || t.contains("on its way")
    };
    let confirmation = browser.text_when(confirmed).await.to_lowercase();
    assert!(
        confirmation.contains("redeemed") || confirmation.contains("on its way"),
        "confirmation page: {confirmation}"
    );
    assert_eq!(reward_status(&server, &reward_id).await, "redeemed");

    // A second visit shows the used-link page, without a form to redeem again.
    browser.goto(&url).await;
    let again = browser.text().await;
    assert!(
        browser.find("input[name='item_id']").await.is_none(),
        "a used link must not offer the form again: {again}"
    );
    assert!(
        again.to_lowercase().contains("already"),
        "the used-link page says so: {again}"
    );

    browser.quit().await;
    server.shutdown().await;
}
