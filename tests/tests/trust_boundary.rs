//! What the mock promises about test mode, retryable refusals, rate limits, `occurred_at` and
//! report scope (`docs/api.md`), each checked the way a client would meet it.

use moments_e2e::mock::Mock;
use moments_mock_server::MockConfig;
use serde_json::{Value, json};

/// A campaign in US and DE, approved but starting tomorrow: triggers are in test mode.
async fn approved_not_live(m: &Mock) -> String {
    let mut body = m.campaign_body(86_400, 500_000, 100).await;
    body["marketplaces"] = json!(["US", "DE"]);
    let de_item = m.get("/v1/catalog/items?marketplace=DE&limit=1").await.body["data"][0]["id"]
        .as_str()
        .expect("a DE item")
        .to_owned();
    body["reward_groups"] = json!([
        {"id": "US", "marketplace": "US", "items": ["itm_echo_dot"]},
        {"id": "DE", "marketplace": "DE", "items": [de_item]}
    ]);
    let id = m.launch(body).await;
    assert_eq!(
        m.get(&format!("/v1/campaigns/{id}")).await.body["status"],
        "approved"
    );
    id
}

/// A secret-key trigger of moment `m1` under an Idempotency-Key of the test's choosing.
async fn keyed_trigger(
    m: &Mock,
    campaign: &str,
    customer: &str,
    marketplace: &str,
    key: &str,
) -> moments_e2e::mock::Answer {
    let body = json!({"campaign_id": campaign, "moment_id": "m1",
                      "customer": {"id": customer, "marketplace": marketplace},
                      "device": {"type": "Android"}});
    m.call("POST", "/v1/triggers", Some(&m.key), Some(key), Some(&body))
        .await
}

async fn mint(m: &Mock, customer: &str, marketplace: &str) -> String {
    let a = m
        .post(
            "/v1/customer_tokens",
            json!({"customer_id": customer, "marketplace": marketplace}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.body["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn test_mode_answers_per_group_for_the_caller_and_consumes_nothing() {
    let m = Mock::start().await;
    let campaign = approved_not_live(&m).await;
    let trigger = |customer, market, key| keyed_trigger(&m, &campaign, customer, market, key);
    let a = trigger("cust_us_a", "US", "t-a").await;
    let b = trigger("cust_us_b", "US", "t-b").await;
    let de = trigger("cust_de", "DE", "t-de").await;
    for x in [&a, &b, &de] {
        assert_eq!(x.status, 200, "{}", x.text);
        assert_eq!(x.body["reward"]["test"], true);
        assert_eq!(x.body["reward"]["cost"]["amount"], 0);
    }
    // One test reward per group: the same link for both US customers, each named in its answer.
    assert_eq!(a.body["reward"]["id"], b.body["reward"]["id"]);
    assert_eq!(a.body["reward"]["url"], b.body["reward"]["url"]);
    assert_eq!(a.body["customer_id"], "cust_us_a");
    assert_eq!(a.body["reward"]["customer_id"], "cust_us_a");
    assert_eq!(b.body["customer_id"], "cust_us_b");
    assert_eq!(b.body["reward"]["customer_id"], "cust_us_b");
    // The DE customer gets the DE group's link and offer.
    assert_ne!(de.body["reward"]["url"], a.body["reward"]["url"]);
    assert_eq!(de.body["reward"]["reward_group_id"], "DE");
    assert_eq!(de.body["reward"]["marketplace"], "DE");
    assert_eq!(
        de.body["reward"]["offer"]["items"][0]["value"]["currency"],
        "EUR"
    );
    assert_eq!(
        a.body["reward"]["offer"]["items"][0]["item_id"],
        "itm_echo_dot"
    );

    // A replay is the caller's own answer, byte for byte.
    let again = trigger("cust_us_a", "US", "t-a").await;
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.text, a.text);

    // A customer token's caller gets the same link and can read the reward it was given.
    let token = mint(&m, "cust_us_app", "US").await;
    let t = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&token),
            Some("t-app"),
            Some(&json!({"campaign_id": campaign, "moment_id": "m1", "device": {"type": "iOS"}})),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["reward"]["url"], a.body["reward"]["url"]);
    assert_eq!(t.body["reward"]["customer_id"], "cust_us_app");
    let id = t.body["reward"]["id"].as_str().expect("id");
    let read = m
        .call(
            "GET",
            &format!("/v1/rewards/{id}"),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["customer_id"], "cust_us_app");
    assert_eq!(read.body["test"], true);
    // A token of another marketplace does not see the US group's test reward.
    let de_token = mint(&m, "cust_de_app", "DE").await;
    let other = m
        .call(
            "GET",
            &format!("/v1/rewards/{id}"),
            Some(&de_token),
            None,
            None,
        )
        .await;
    assert_eq!((other.status, other.code()), (404, "resource_not_found"));

    // Nothing consumed, nothing reported.
    let report = m.get(&format!("/v1/reports?campaign_id={campaign}")).await;
    assert_eq!(
        report.body["totals"]["rewards_issued"], 0,
        "{}",
        report.text
    );
    assert_eq!(report.body["totals"]["spend"]["amount"], 0);
    let listed = m.get(&format!("/v1/rewards?campaign_id={campaign}")).await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn a_retry_later_refusal_is_not_replayed_under_its_key() {
    let m = Mock::start().await;
    m.freeze().await;
    let mut body = m.campaign_body(-60, 500_000, 100).await;
    body["moments"] =
        json!([{"id": "m1", "frequency_cap": {"max_rewards": 10, "period_seconds": null}}]);
    body["fraud"] = json!({"max_actions_per_customer_per_hour": 1});
    let campaign = m.launch(body).await;
    let send = |key| keyed_trigger(&m, &campaign, "cust_retry", "US", key);
    assert_eq!(send("first").await.status, 200);
    let refused = send("second").await;
    assert_eq!(
        (refused.status, refused.code()),
        (429, "velocity_limit_exceeded"),
        "{}",
        refused.text
    );
    assert_eq!(refused.body["error"]["retryable"], true);
    let wait: i64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    // Too early: refused again, and as a new answer, not a replay of the stored one.
    let early = send("second").await;
    assert_eq!(early.status, 429);
    assert_eq!(early.header("idempotent-replayed"), None);
    // After Retry-After the same key runs again and succeeds; that answer is the one kept.
    m.advance(wait).await;
    let later = send("second").await;
    assert_eq!(later.status, 200, "{}", later.text);
    assert_eq!(later.header("idempotent-replayed"), None);
    let replay = send("second").await;
    assert_eq!(
        replay.header("idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(replay.body["reward"]["id"], later.body["reward"]["id"]);
    // A final refusal is kept: the same key with the same body stays refused.
    let mut capped = m.campaign_body(-60, 500_000, 100).await;
    capped["moments"] = json!([{"id": "m1"}]);
    let capped = m.launch(capped).await;
    let body = json!({"campaign_id": capped, "moment_id": "m1",
                      "customer": {"id": "cust_once", "marketplace": "US"}, "device": {"type": "Web"}});
    let call =
        |key: &'static str| m.call("POST", "/v1/triggers", Some(&m.key), Some(key), Some(&body));
    assert_eq!(call("cap-1").await.status, 200);
    let cap = call("cap-2").await;
    assert_eq!(cap.code(), "frequency_cap_reached", "{}", cap.text);
    let cap_again = call("cap-2").await;
    assert_eq!(cap_again.code(), "frequency_cap_reached");
    assert_eq!(
        cap_again.header("idempotent-replayed").as_deref(),
        Some("true")
    );
}

/// A compat request of the demo campaign.
fn compat_body(m: &Mock) -> Value {
    let demo = m.server.demo();
    json!({"appId": demo.app_id, "momentId": "first_workout", "deviceType": "Android",
           "campaignId": demo.campaign_id, "rewardGroupId": "US"})
}

async fn compat(m: &Mock, path: &str) -> (u16, Value, Option<String>) {
    let res = m
        .http
        .post(format!("{}{path}", m.base))
        .header("x-api-key", &m.server.demo().api_key)
        .json(&compat_body(m))
        .send()
        .await
        .expect("an answer");
    let status = res.status().as_u16();
    let ra = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").to_owned());
    (status, res.json().await.expect("JSON"), ra)
}

#[tokio::test]
async fn the_compat_rate_limit_counts_real_time_whatever_the_clock_does() {
    let m = Mock::start().await;
    // A frozen virtual clock: a limit on it would never let a call through again.
    m.freeze().await;
    let mut refused = None;
    for _ in 0..50 {
        let (status, body, ra) = compat(&m, "/prod/GetRewardInfo").await;
        if status == 429 {
            refused = Some((body, ra));
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    let (body, ra) = refused.expect("5 calls a second: 50 back-to-back calls meet the limit");
    assert_eq!(body["errorCode"], "rate_limited");
    let wait: u64 = ra.expect("Retry-After").parse().expect("seconds");
    assert_eq!(
        wait, 1,
        "at 5 a second the next call is allowed within a second"
    );
    // Retry-After is true in real time, with the virtual clock still frozen.
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    let (status, body, _) = compat(&m, "/prod/GetRewardInfo").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn compat_calls_name_no_device_so_no_device_velocity_applies() {
    // A rate the test cannot reach, so only velocity could refuse.
    let m = Mock::start_with(MockConfig {
        compat_rate_per_second: std::num::NonZeroU32::new(10_000),
        ..MockConfig::default()
    })
    .await;
    m.freeze().await;
    // The default device limit is 30 an hour; every Android customer of the brand shares the
    // device type.
    for i in 0..35 {
        let (status, body, _) = compat(&m, "/prod/GetReward").await;
        assert_eq!(status, 200, "call {i}: {body}");
    }
}

#[tokio::test]
async fn occurred_at_is_kept_on_the_reward_and_in_the_journal() {
    let m = Mock::start().await;
    let at = "2026-11-30T23:59:58Z";
    let a = m
        .post(
            "/v1/triggers",
            json!({"campaign_id": m.campaign, "moment_id": "first_workout", "occurred_at": at,
                   "customer": {"id": "cust_offline", "marketplace": "US"}, "device": {"type": "Android"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["reward"]["occurred_at"], at);
    let id = a.body["reward"]["id"].as_str().expect("id");
    assert_eq!(
        m.get(&format!("/v1/rewards/{id}")).await.body["occurred_at"],
        at
    );
    let journal = m.call("GET", "/_mock/journal", None, None, None).await;
    let entry = journal.body["data"]
        .as_array()
        .expect("entries")
        .iter()
        .rev()
        .find(|e| e["path"] == "/v1/triggers")
        .expect("the trigger is journaled")
        .clone();
    assert_eq!(entry["occurred_at"], at);
    // Without it, the reward says so.
    let b = m.trigger(&m.campaign, "level_5", "cust_online", "US").await;
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(b.body["reward"]["occurred_at"], Value::Null);
}

#[tokio::test]
async fn a_report_covers_the_calling_apps_campaigns_and_the_accounts_remaining_cap() {
    let m = Mock::start().await;
    let demo = m.server.demo().clone();
    let report = |key: String| {
        let m = &m;
        async move {
            let r = m.call("GET", "/v1/reports", Some(&key), None, None).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.body
        }
    };
    assert_eq!(
        m.trigger(&m.campaign, "first_workout", "c1", "US")
            .await
            .status,
        200
    );
    let before = report(m.key.clone()).await;
    // A second app of the same account spends $7.
    let second = m
        .control(
            "/_mock/apps",
            json!({"name": "Second app", "account_id": demo.account_id}),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let key2 = second.body["secret_key"].as_str().expect("key").to_owned();
    let campaign2 = m
        .launch_with(&key2, m.campaign_body(-60, 500_000, 700).await)
        .await;
    let t = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&key2),
            Some("second-app-1"),
            Some(&json!({"campaign_id": campaign2, "moment_id": "m1",
                         "customer": {"id": "c2", "marketplace": "US"}, "device": {"type": "Web"}})),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let after = report(m.key.clone()).await;
    assert_eq!(
        after["totals"], before["totals"],
        "the other app's reward is not in this app's report"
    );
    assert_eq!(
        after["remaining_budget"]["amount"]
            .as_i64()
            .expect("amount"),
        before["remaining_budget"]["amount"]
            .as_i64()
            .expect("amount")
            - 700,
        "the account's cap is shared by its apps"
    );
    let theirs = report(key2).await;
    assert_eq!(theirs["totals"]["rewards_issued"], 1);
    assert_eq!(theirs["totals"]["spend"]["amount"], 700);
}
