//! The trigger-to-delivery flow over real HTTP, on the mock's virtual clock.

use moments_e2e::mock::Mock;
use serde_json::json;

#[tokio::test]
async fn campaign_goes_live_on_the_clock_and_a_physical_reward_ships_and_delivers() {
    let m = Mock::start().await;
    let body = m.campaign_body(3600, 50_000, 500).await;
    let id = m.launch(body).await;
    let c = m.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!(c.body["status"], "approved");
    m.advance(3600).await;
    assert_eq!(
        m.get(&format!("/v1/campaigns/{id}")).await.body["status"],
        "live"
    );

    let t = m.trigger(&id, "m1", "cust_1", "US").await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["outcome"], "reward");
    let reward = &t.body["reward"];
    assert_eq!(reward["status"], "issued");
    assert_eq!(reward["cost"], json!({"amount": 500, "currency": "USD"}));
    let url = reward["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/r/", m.base)));
    let token = Mock::link_token(&url);
    assert!(token.len() >= 32, "192-bit token");

    // The landing page.
    let page = m.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("x-request-id").is_some());
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Test Brand") && html.contains("Well done!") && html.contains("Echo Dot")
    );
    assert!(
        html.contains("name=\"postal_code\""),
        "shipping form for physical items"
    );

    // Redeem over the JSON twin; a physical item needs an address.
    let path = format!("/v1/redemptions/{token}");
    let no_addr = m
        .call(
            "POST",
            &path,
            None,
            None,
            Some(&json!({"item_id": "itm_echo_dot"})),
        )
        .await;
    assert_eq!((no_addr.status, no_addr.code()), (400, "validation_error"));
    assert_eq!(no_addr.body["error"]["param"], "shipping_address");
    let addr = json!({"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"});
    let r = m
        .call(
            "POST",
            &path,
            None,
            None,
            Some(&json!({"item_id": "itm_echo_dot", "shipping_address": addr})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "redeemed");
    assert_eq!(r.body["redeemed_item"]["item_id"], "itm_echo_dot");

    // A second redemption and the used page.
    let again = m
        .call(
            "POST",
            &path,
            None,
            None,
            Some(&json!({"item_id": "itm_gc_10"})),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (409, "reward_already_redeemed")
    );
    let used = m.http.get(&url).send().await.unwrap();
    assert_eq!(used.status(), 409);
    assert!(used.text().await.unwrap().contains("already"));

    let rid = reward["id"].as_str().unwrap();
    m.advance(2 * 86_400).await;
    let r = m.get(&format!("/v1/rewards/{rid}")).await;
    assert_eq!(r.body["status"], "shipped");
    assert!(r.body["shipped_at"].is_string());
    m.advance(3 * 86_400).await;
    let r = m.get(&format!("/v1/rewards/{rid}")).await;
    assert_eq!(r.body["status"], "delivered");
    // Privacy: the brand never sees the address or the chosen item.
    assert!(!r.text.contains("Springfield") && !r.text.contains("redeemed_item"));
}

#[tokio::test]
async fn digital_reward_redeems_with_a_code_through_the_html_form() {
    let m = Mock::start().await;
    let t = m
        .trigger(&m.campaign.clone(), "first_workout", "cust_d", "US")
        .await;
    let url = t.body["reward"]["url"].as_str().unwrap().to_string();
    let res = m
        .http
        .post(&url)
        .form(&[("item_id", "itm_gc_10")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Your code"), "{html}");
    let v = m
        .call(
            "GET",
            &format!("/v1/redemptions/{}", Mock::link_token(&url)),
            None,
            None,
            None,
        )
        .await;
    assert_eq!(v.body["status"], "redeemed");
    assert!(v.body["digital_code"].is_string());
    assert_eq!(v.body["requires_shipping"], false);
    // Digital rewards stay redeemed: no shipment.
    m.advance(6 * 86_400).await;
    let r = m
        .get(&format!(
            "/v1/rewards/{}",
            t.body["reward"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.body["status"], "redeemed");
}

#[tokio::test]
async fn forged_and_expired_links_get_clear_pages() {
    let m = Mock::start().await;
    let forged = m
        .http
        .get(format!("{}/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", m.base))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    assert!(forged.text().await.unwrap().contains("not valid"));

    let t = m
        .trigger(&m.campaign.clone(), "first_workout", "cust_e", "US")
        .await;
    let url = t.body["reward"]["url"].as_str().unwrap().to_string();
    let before =
        m.get(&format!("/v1/campaigns/{}", m.campaign)).await.body["spend"]["spent"]["amount"]
            .as_i64()
            .unwrap();
    assert_eq!(before, 500);
    m.advance(30 * 86_400).await;
    let page = m.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 410);
    let r = m
        .get(&format!(
            "/v1/rewards/{}",
            t.body["reward"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.body["status"], "expired");
    // Refunded to the month it was charged in (the report sees the refund).
    let rep = m
        .get(&format!("/v1/reports?campaign_id={}", m.campaign))
        .await;
    assert_eq!(rep.body["totals"]["rewards_expired"], 1);
    assert_eq!(rep.body["totals"]["refunds"]["amount"], 500);
}

#[tokio::test]
async fn idempotent_replay_charges_once_and_conflicts_on_another_body() {
    let m = Mock::start().await;
    let body = json!({"campaign_id": m.campaign, "moment_id": "first_workout",
                      "customer": {"id": "cust_i", "marketplace": "US"}, "device": {"type": "iOS"}});
    let key = m.key.clone();
    let a = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&key),
            Some("same"),
            Some(&body),
        )
        .await;
    let b = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&key),
            Some("same"),
            Some(&body),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(b.status, 200);
    assert_eq!(a.text, b.text, "same body replayed");
    assert_eq!(b.header("idempotent-replayed").as_deref(), Some("true"));
    assert!(a.header("idempotent-replayed").is_none());
    let spent =
        m.get(&format!("/v1/campaigns/{}", m.campaign)).await.body["spend"]["spent"]["amount"]
            .clone();
    assert_eq!(spent, 500, "charged once");

    let mut other = body.clone();
    other["device"]["type"] = json!("Web");
    let c = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&key),
            Some("same"),
            Some(&other),
        )
        .await;
    assert_eq!((c.status, c.code()), (409, "idempotency_conflict"));

    // Missing key on triggers.
    let d = m
        .call("POST", "/v1/triggers", Some(&key), None, Some(&body))
        .await;
    assert_eq!((d.status, d.code()), (400, "idempotency_key_required"));

    // Scoped to the app, not the credential: a new secret key replays the same answer.
    let k2 = m
        .post("/v1/api_keys", json!({"name": "rotated"}))
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let e = m
        .call("POST", "/v1/triggers", Some(&k2), Some("same"), Some(&body))
        .await;
    assert_eq!(e.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(e.text, a.text);

    // A refused trigger stays refused on replay (4xx stored).
    let f1 = m
        .call("POST", "/v1/triggers", Some(&key), Some("cap"), Some(&body))
        .await;
    assert_eq!(f1.code(), "frequency_cap_reached");
    let f2 = m
        .call("POST", "/v1/triggers", Some(&key), Some("cap"), Some(&body))
        .await;
    assert_eq!(f2.header("idempotent-replayed").as_deref(), Some("true"));

    // Keys are kept 24 hours of server time.
    m.advance(25 * 3600).await;
    let g = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&key),
            Some("same"),
            Some(&body),
        )
        .await;
    assert!(g.header("idempotent-replayed").is_none());
    assert_eq!(g.code(), "frequency_cap_reached");
}

#[tokio::test]
async fn test_mode_returns_the_same_url_and_consumes_nothing() {
    let m = Mock::start().await;
    let body = m.campaign_body(86_400, 50_000, 500).await;
    let id = m.launch(body).await;
    let a = m.trigger(&id, "m1", "cust_1", "US").await;
    let b = m.trigger(&id, "m1", "cust_2", "US").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["reward"]["test"], true);
    assert_eq!(a.body["reward"]["url"], b.body["reward"]["url"]);
    assert_eq!(a.body["reward"]["id"], b.body["reward"]["id"]);
    let c = m.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!(c.body["spend"]["spent"]["amount"], 0);
    // The test page works and "redeems" without consuming anything.
    let url = a.body["reward"]["url"].as_str().unwrap();
    assert_eq!(m.http.get(url).send().await.unwrap().status(), 200);
    let path = format!("/v1/redemptions/{}", Mock::link_token(url));
    let r = m
        .call(
            "POST",
            &path,
            None,
            None,
            Some(&json!({"item_id": "itm_gc_10"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let r2 = m
        .call(
            "POST",
            &path,
            None,
            None,
            Some(&json!({"item_id": "itm_gc_10"})),
        )
        .await;
    assert_eq!(r2.status, 200, "a test reward can be redeemed again");

    // Global test mode: the live demo campaign answers test rewards too.
    let mode = m.control("/_mock/mode", json!({"mode": "test"})).await;
    assert_eq!(mode.body["mode"], "test");
    let x = m
        .trigger(&m.campaign.clone(), "first_workout", "cust_9", "US")
        .await;
    let y = m
        .trigger(&m.campaign.clone(), "first_workout", "cust_10", "US")
        .await;
    assert_eq!(x.body["reward"]["test"], true);
    assert_eq!(x.body["reward"]["url"], y.body["reward"]["url"]);
    assert_eq!(
        m.call("GET", "/_mock/mode", None, None, None).await.body["mode"],
        "test"
    );
    m.control("/_mock/mode", json!({"mode": "live"})).await;
    let z = m
        .trigger(&m.campaign.clone(), "first_workout", "cust_9", "US")
        .await;
    assert_eq!(z.body["reward"]["test"], false);
    assert_eq!(
        m.get(&format!("/v1/campaigns/{}", m.campaign)).await.body["spend"]["spent"]["amount"],
        500
    );
}

#[tokio::test]
async fn customer_tokens_are_scoped_and_expire() {
    let m = Mock::start().await;
    let t = m
        .post(
            "/v1/customer_tokens",
            json!({"customer_id": "cust_t", "marketplace": "US", "ttl_seconds": 600}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let token = t.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ct_"));
    assert_eq!(t.body["expires_in_seconds"], 600);
    let camp = m.campaign.clone();

    // Reward info and a client-reportable trigger.
    let info = m
        .call(
            "GET",
            &format!("/v1/campaigns/{camp}/moments/first_workout/reward_info"),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(info.body["reward_group_id"], "US");
    let body =
        json!({"campaign_id": camp, "moment_id": "first_workout", "device": {"type": "Android"}});
    let r = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&token),
            Some("t1"),
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["customer_id"], "cust_t");
    // Goal progress of its own customer.
    let g =
        json!({"campaign_id": camp, "moment_id": "five_workouts", "device": {"type": "Android"}});
    let p = m
        .call("POST", "/v1/triggers", Some(&token), Some("t2"), Some(&g))
        .await;
    assert_eq!(p.body["outcome"], "progress");
    let prog = m
        .call("GET", "/v1/customers/me/progress", Some(&token), None, None)
        .await;
    assert_eq!(prog.body["data"][0]["current"], 1);
    let own = m.call("GET", "/v1/rewards", Some(&token), None, None).await;
    assert_eq!(own.body["data"].as_array().unwrap().len(), 1);

    // Not client-reportable, another customer, campaign settings.
    let lvl = json!({"campaign_id": camp, "moment_id": "level_5", "device": {"type": "Android"}});
    let x = m
        .call("POST", "/v1/triggers", Some(&token), Some("t3"), Some(&lvl))
        .await;
    assert_eq!((x.status, x.code()), (403, "moment_not_client_reportable"));
    let other = m
        .call(
            "GET",
            "/v1/rewards?customer_id=someone_else",
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!((other.status, other.code()), (403, "forbidden"));
    let c = m
        .call(
            "GET",
            &format!("/v1/campaigns/{camp}"),
            Some(&token),
            None,
            None,
        )
        .await;
    assert_eq!((c.status, c.code()), (403, "forbidden"));
    let mint = m
        .call(
            "POST",
            "/v1/customer_tokens",
            Some(&token),
            None,
            Some(&json!({"customer_id": "x", "marketplace": "US"})),
        )
        .await;
    assert_eq!(mint.status, 403);

    m.advance(601).await;
    let e = m.call("GET", "/v1/rewards", Some(&token), None, None).await;
    assert_eq!((e.status, e.code()), (401, "token_expired"));
}

#[tokio::test]
async fn a_replay_answers_the_first_answer_byte_for_byte_after_the_reward_moved_on() {
    let m = Mock::start().await;
    let body = json!({"campaign_id": m.campaign, "moment_id": "first_workout",
                      "customer": {"id": "cust_replay", "marketplace": "US"}, "device": {"type": "iOS"}});
    let key = m.key.clone();
    let first = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&key),
            Some("k-moved"),
            Some(&body),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["reward"]["status"], "issued");
    let token = Mock::link_token(first.body["reward"]["url"].as_str().unwrap());

    // The reward is redeemed: it now reads `redeemed` with a `redeemed_at`.
    let redeemed = m
        .call(
            "POST",
            &format!("/v1/redemptions/{token}"),
            None,
            None,
            Some(&json!({"item_id": "itm_gc_10"})),
        )
        .await;
    assert_eq!(redeemed.status, 200, "{}", redeemed.text);
    let id = first.body["reward"]["id"].as_str().unwrap();
    let now = m.get(&format!("/v1/rewards/{id}")).await;
    assert_eq!(now.body["status"], "redeemed");

    // The replay still answers what the first request got, byte for byte.
    let again = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&key),
            Some("k-moved"),
            Some(&body),
        )
        .await;
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.status, 200);
    assert_eq!(again.text, first.text);
}
