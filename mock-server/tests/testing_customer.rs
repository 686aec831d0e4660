//! The testing kit's calls for the customer's and the backend's side of a scenario: customer tokens,
//! redeeming a reward link, the report, and a webhook receiver in the test.

use std::time::Duration;

use moments_mock_server::MockServer;
use moments_mock_server::model::RewardStatus;
use moments_mock_server::testing::Fixtures;
use serde_json::{Value, json};

/// Reports `moment` for `customer` with a customer token minted by the kit; the reward link.
async fn trigger(server: &MockServer, campaign: &str, customer: &str) -> String {
    let token = server.control().customer_token(customer).await.unwrap();
    assert!(token.expires_in_seconds > 0);
    let res: Value = reqwest::Client::new()
        .post(format!("{}/v1/triggers", server.base_url()))
        .bearer_auth(&token.token)
        .header("Idempotency-Key", format!("k-{customer}"))
        .json(&json!({
            "campaign_id": campaign, "moment_id": "first_workout",
            "device": {"type": "Android", "id": "device-1"},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["reward"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("a reward: {res}"))
        .to_string()
}

#[tokio::test]
async fn a_reward_link_is_redeemed_shipped_and_reported() {
    let server = MockServer::start().await.unwrap();
    let mock = server.control();
    let campaign = mock
        .load_campaign(Fixtures::campaign().budget_usd(50))
        .await
        .unwrap();
    let hooks = mock.webhooks().receiver(["reward.shipped"]).await.unwrap();
    assert!(hooks.endpoint_id().starts_with("whe_"), "{hooks:?}");
    let url = trigger(&server, &campaign, "cust_1").await;

    let physical = mock.redeem(&url, "itm_echo_dot").await.unwrap();
    assert_eq!(physical.status, RewardStatus::Redeemed);
    assert_eq!(physical.redeemed_item.unwrap().item_id, "itm_echo_dot");

    mock.clock()
        .advance(Duration::from_secs(2 * 86_400))
        .await
        .unwrap();
    let shipped = mock
        .webhooks()
        .deliveries_of("reward.shipped")
        .await
        .unwrap();
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert!(shipped[0].succeeded && shipped[0].url == hooks.url());
    let bodies = hooks.received();
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].contains(&shipped[0].event_id), "{bodies:?}");

    let report = mock.report(&campaign).await.unwrap();
    assert_eq!(report.campaign_id.as_deref(), Some(campaign.as_str()));
    assert_eq!(
        (report.totals.actions, report.totals.rewards_redeemed),
        (1, 1)
    );
    assert_eq!(report.totals.spend.amount, 500);
}

#[tokio::test]
async fn a_digital_item_is_redeemed_without_an_address_and_bad_links_name_the_field() {
    let server = MockServer::start().await.unwrap();
    let mock = server.control();
    let campaign = mock.demo().await.unwrap().campaign_id;
    let url = trigger(&server, &campaign, "cust_2").await;

    let digital = mock.redeem(&url, "itm_gc_10").await.unwrap();
    assert_eq!(digital.status, RewardStatus::Redeemed);
    assert!(digital.digital_code.is_some());

    let bad = mock
        .redeem("https://example.com/nothing", "itm_gc_10")
        .await;
    assert_eq!(bad.unwrap_err().field(), Some("reward_url"));
    let url = trigger(&server, &campaign, "cust_3").await;
    let unknown = mock.redeem(&url, "itm_nope").await.unwrap_err();
    assert_eq!(unknown.field(), Some("item_id"));
}
