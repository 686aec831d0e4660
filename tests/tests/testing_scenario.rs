//! The Rust scenario of docs/testing.md: the snippet there is this test's text between the markers,
//! and `the_docs_show_this_scenario` checks that it stays so.

// snippet-start
use std::time::Duration;

use moments_client::models::{
    DeviceType, RedeemRequest, ReportParams, RewardInfoParams, RewardStatus, ShippingAddress,
    TriggerRequest, WebhookEndpointCreate,
};
use moments_client::{MomentsClient, Redemptions};
use moments_mock_server::MockServer;
use moments_mock_server::testing::{Fixtures, Route};

#[tokio::test]
async fn a_workout_reward_is_announced_earned_redeemed_and_shipped() {
    let server = MockServer::start().await.unwrap();
    let mock = server.control();
    // A live campaign of the demo app: $50 a month, $5 a reward, an Echo Dot or a gift card.
    let campaign = mock
        .load_campaign(
            Fixtures::campaign()
                .live()
                .budget_usd(50)
                .moment("first_workout"),
        )
        .await
        .unwrap();
    let client = MomentsClient::builder()
        .base_url(server.base_url())
        .secret_key(server.demo().secret_key.clone())
        .build()
        .unwrap();
    // Where the mock sends its signed webhooks: a receiver of the test's own.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    tokio::spawn(async move {
        let ok = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
        axum::serve(receiver, ok).await.unwrap()
    });
    let endpoint = WebhookEndpointCreate {
        url: hook,
        events: vec!["reward.shipped".into()],
    };
    client.webhook_endpoints().create(&endpoint).await.unwrap();

    // Announce: what the customer would get, before anything is consumed.
    let info = client
        .moments()
        .reward_info(
            &campaign,
            "first_workout",
            &RewardInfoParams {
                marketplace: Some("US".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(info.remaining_reward_count, 10);

    // Trigger: the workout is done; the reward's link comes back.
    let trigger = TriggerRequest::new(&campaign, "first_workout", DeviceType::Android)
        .customer("cust_42", "US");
    let outcome = client.moments().trigger(&trigger).await.unwrap();
    let reward = outcome.reward().expect("a reward").clone();
    assert_eq!(reward.status, RewardStatus::Issued);

    // Redeem: the customer picks the Echo Dot and gives an address.
    let token = Redemptions::token_from_url(&reward.url).expect("a reward link");
    let address = ShippingAddress {
        name: "Ada Lovelace".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Seattle".into(),
        postal_code: "98101".into(),
        country: "US".into(),
    };
    let choice = RedeemRequest {
        item_id: "itm_echo_dot".into(),
        shipping_address: Some(address),
    };
    client.redemptions().redeem(token, &choice).await.unwrap();

    // Two days on the mock's clock: the item ships, and the webhook says so.
    mock.clock()
        .advance(Duration::from_secs(2 * 86_400))
        .await
        .unwrap();
    let shipped = client.rewards().get(&reward.id).await.unwrap();
    assert_eq!(shipped.status, RewardStatus::Shipped);
    let sent = mock
        .webhooks()
        .deliveries_of("reward.shipped")
        .await
        .unwrap();
    assert!(sent.len() == 1 && sent[0].succeeded, "{sent:?}");

    // The report counts the action, the reward, its redemption and the $5 spent.
    let params = ReportParams {
        campaign_id: Some(campaign.clone()),
        ..Default::default()
    };
    let report = client.reports().get(&params).await.unwrap();
    assert_eq!(
        (
            report.totals.actions,
            report.totals.rewards_issued,
            report.totals.rewards_redeemed
        ),
        (1, 1, 1)
    );
    assert_eq!(report.totals.spend.amount, 500);

    // One trigger reached the mock, answered 200.
    mock.journal()
        .expect(Route::Trigger)
        .once()
        .with_status(200)
        .verify()
        .await
        .unwrap();
}
// snippet-end

#[test]
fn the_docs_show_this_scenario() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let test = std::fs::read_to_string(format!("{root}/tests/tests/testing_scenario.rs")).unwrap();
    let between = |text: &str, start: &str, end: &str| {
        let from = text.find(start).expect(start) + start.len();
        let to = from + text[from..].find(end).expect(end);
        text[from..to].trim().to_string()
    };
    let snippet = between(&test, "// snippet-start\n", "// snippet-end");
    let doc = std::fs::read_to_string(format!("{root}/docs/testing.md")).unwrap();
    let block = between(&doc, "<!-- rust-scenario -->\n```rust\n", "```");
    assert_eq!(
        block, snippet,
        "docs/testing.md's Rust scenario differs from tests/tests/testing_scenario.rs"
    );
}
