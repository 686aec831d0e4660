//! Money invariants over HTTP: budgets, the account cap, month roll-over, and concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use moments_e2e::mock::Mock;
use serde_json::json;

#[tokio::test]
async fn budget_exhaustion_refuses_and_a_new_month_starts_fresh() {
    let m = Mock::start().await;
    let body = m.campaign_body(-60, 5_000, 500).await;
    let id = m.launch(body).await;
    for i in 0..10 {
        let t = m.trigger(&id, "m1", &format!("c{i}"), "US").await;
        assert_eq!(t.status, 200, "{}", t.text);
    }
    let over = m.trigger(&id, "m1", "c10", "US").await;
    assert_eq!((over.status, over.code()), (422, "budget_exhausted"));
    let c = m.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!(c.body["spend"]["spent"]["amount"], 5_000);
    assert_eq!(c.body["spend"]["remaining"]["amount"], 0);
    // Cancelling refunds and frees room for exactly one more.
    let list = m
        .get(&format!("/v1/rewards?campaign_id={id}&limit=1"))
        .await;
    let rid = list.body["data"][0]["id"].as_str().unwrap().to_string();
    let cancel = m
        .post(&format!("/v1/rewards/{rid}/cancel"), json!({}))
        .await;
    assert_eq!(cancel.body["status"], "cancelled");
    assert_eq!(m.trigger(&id, "m1", "c11", "US").await.status, 200);
    assert_eq!(
        m.trigger(&id, "m1", "c12", "US").await.code(),
        "budget_exhausted"
    );
    // A budget below this month's spend is refused on a live campaign.
    let low = m
        .call(
            "PATCH",
            &format!("/v1/campaigns/{id}"),
            Some(&m.key.clone()),
            None,
            Some(&json!({"budget": {"amount": 4_999, "currency": "USD"}})),
        )
        .await;
    assert_eq!(
        (low.status, low.body["error"]["param"].as_str()),
        (400, Some("budget.amount"))
    );

    // Roll to the first second of next month: the budget is monthly.
    let now = m.now().await;
    use chrono::Datelike;
    let (y, mo) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let next = chrono::NaiveDate::from_ymd_opt(y, mo, 1)
        .unwrap()
        .and_hms_opt(0, 0, 1)
        .unwrap()
        .and_utc();
    let set = m
        .control("/_mock/clock/set", json!({"now": next.to_rfc3339()}))
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(m.trigger(&id, "m1", "c13", "US").await.status, 200);
    let c = m.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!(c.body["spend"]["spent"]["amount"], 500);
}

#[tokio::test]
async fn the_account_cap_holds_across_four_campaigns() {
    let m = Mock::start().await;
    let mut ids = vec![];
    for _ in 0..4 {
        let body = m.campaign_body(-60, 500_000, 250_000).await;
        ids.push(m.launch(body).await);
    }
    // 3 campaigns × $5,000 = $15,000: the account cap.
    for id in &ids[..3] {
        for c in ["a", "b"] {
            let t = m.trigger(id, "m1", c, "US").await;
            assert_eq!(t.status, 200, "{}", t.text);
        }
    }
    let over = m.trigger(&ids[3], "m1", "a", "US").await;
    assert_eq!(
        (over.status, over.code()),
        (422, "account_budget_exhausted")
    );
    let info = m
        .get(&format!(
            "/v1/campaigns/{}/moments/m1/reward_info?marketplace=US",
            ids[3]
        ))
        .await;
    assert_eq!(info.body["remaining_reward_count"], 0);
    let rep = m.get("/v1/reports").await;
    assert_eq!(rep.body["totals"]["spend"]["amount"], 1_500_000);
    assert_eq!(rep.body["remaining_budget"]["amount"], 0);
    // A budget above $5,000 is refused at creation.
    let mut body = m.campaign_body(-60, 500_001, 500).await;
    let a = m.post("/v1/campaigns", body.clone()).await;
    assert_eq!(
        (a.status, a.body["error"]["param"].as_str()),
        (400, Some("budget.amount"))
    );
    body["budget"]["amount"] = json!(4_999);
    assert_eq!(
        m.post("/v1/campaigns", body).await.code(),
        "validation_error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_triggers_issue_exactly_what_the_budget_allows() {
    let m = Arc::new(Mock::start().await);
    const N: i64 = 100;
    let mut body = m.campaign_body(-60, N * 500, 500).await;
    body["fraud"] =
        json!({"max_actions_per_ip_per_hour": 100000, "max_actions_per_device_per_hour": 100000});
    let id = m.launch(body).await;

    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (m, id, done) = (m.clone(), id.clone(), done.clone());
        tokio::spawn(async move {
            let mut polls = 0;
            while !done.load(Ordering::Relaxed) {
                let c = m.get(&format!("/v1/campaigns/{id}")).await;
                let spent = c.body["spend"]["spent"]["amount"].as_i64().unwrap();
                assert!(spent <= N * 500, "spend {spent} above budget");
                polls += 1;
                tokio::task::yield_now().await;
            }
            polls
        })
    };
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let (m, id) = (m.clone(), id.clone());
            tokio::spawn(async move {
                let body = json!({"campaign_id": id, "moment_id": "m1",
                                  "customer": {"id": format!("cc{i}"), "marketplace": "US"}, "device": {"type": "Web"}});
                let key = m.key.clone();
                m.call("POST", "/v1/triggers", Some(&key), Some(&format!("conc-{i}")), Some(&body)).await
            })
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let a = t.await.unwrap();
        match a.status {
            200 => {
                ok += 1;
                assert!(
                    ids.insert(a.body["reward"]["id"].as_str().unwrap().to_string()),
                    "no reward doubled"
                );
            }
            422 => {
                assert_eq!(a.code(), "budget_exhausted");
                refused += 1;
            }
            s => panic!("unexpected {s}: {}", a.text),
        }
    }
    done.store(true, Ordering::Relaxed);
    assert!(poller.await.unwrap() > 0);
    assert_eq!(ok, N);
    assert_eq!(refused, 300 - N);
    // Every issued reward is listed exactly once (none lost), and spend equals N × cost.
    let mut listed = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let page = m
            .get(&format!("/v1/rewards?campaign_id={id}&limit=100{q}"))
            .await;
        for r in page.body["data"].as_array().unwrap() {
            assert!(listed.insert(r["id"].as_str().unwrap().to_string()));
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(listed, ids);
    let c = m.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!(c.body["spend"]["spent"]["amount"], N * 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_concurrent_redemption_wins() {
    let m = Arc::new(Mock::start().await);
    let t = m
        .trigger(&m.campaign.clone(), "first_workout", "racer", "US")
        .await;
    let token = Mock::link_token(t.body["reward"]["url"].as_str().unwrap());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (m, token) = (m.clone(), token.clone());
            tokio::spawn(async move {
                m.call(
                    "POST",
                    &format!("/v1/redemptions/{token}"),
                    None,
                    None,
                    Some(&json!({"item_id": "itm_gc_10"})),
                )
                .await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        let a = t.await.unwrap();
        if a.status == 200 {
            wins += 1;
        } else {
            assert_eq!(a.code(), "reward_already_redeemed");
        }
    }
    assert_eq!(wins, 1);
}
