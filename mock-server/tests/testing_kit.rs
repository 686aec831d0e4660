//! The testing kit (`moments_mock_server::testing`) against real mocks: every control call observed
//! through real requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moments_mock_server::MockServer;
use moments_mock_server::model::FraudSettings;
use moments_mock_server::testing::{
    Control, Error, Fault, FaultAction, Fixtures, Mode, Route, Times,
};
use serde_json::{Value, json};

/// A mock, its control client and a small HTTP client of the v1 API.
struct Kit {
    server: MockServer,
    mock: Control,
    http: reqwest::Client,
    key: String,
}

static IDEM: AtomicU64 = AtomicU64::new(0);

/// Status, body and `Retry-After` of an answer.
struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

impl Kit {
    async fn start() -> Kit {
        let server = MockServer::start().await.expect("mock starts");
        let mock = server.control();
        let key = server.demo().secret_key.clone();
        Kit {
            server,
            mock,
            http: reqwest::Client::new(),
            key,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.expect("an answer");
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let body = res.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            body,
            retry_after,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.key))
            .await
    }

    async fn post_with(&self, key: &str, path: &str, body: Value) -> Answer {
        let idem = format!("k-{}", IDEM.fetch_add(1, Ordering::Relaxed));
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(key)
                .header("Idempotency-Key", idem)
                .json(&body),
        )
        .await
    }

    async fn trigger_with(
        &self,
        key: &str,
        campaign: &str,
        moment: &str,
        customer: &str,
    ) -> Answer {
        self.post_with(
            key,
            "/v1/triggers",
            json!({"campaign_id": campaign, "moment_id": moment,
                   "customer": {"id": customer, "marketplace": "US"}, "device": {"type": "Android"}}),
        )
        .await
    }

    async fn trigger(&self, campaign: &str, moment: &str, customer: &str) -> Answer {
        self.trigger_with(&self.key.clone(), campaign, moment, customer)
            .await
    }

    fn demo_campaign(&self) -> String {
        self.server.demo().campaign_id.clone()
    }
}

// ---------------------------------------------------------------- clock

#[tokio::test]
async fn the_clock_reads_advances_freezes_and_sets() {
    let k = Kit::start().await;
    let clock = k.mock.clock();
    let frozen = clock.freeze().await.unwrap();
    assert!(frozen.frozen);
    assert_eq!(clock.now().await.unwrap(), frozen.now);
    let later = clock
        .advance(Duration::from_secs(3 * 86_400))
        .await
        .unwrap();
    assert_eq!(later.now, frozen.now + chrono::Duration::days(3));
    assert!(later.frozen, "advancing a frozen clock keeps it frozen");

    let target = later.now + chrono::Duration::days(40);
    let set = clock.freeze_at(target).await.unwrap();
    assert_eq!((set.now, set.frozen), (target, true));
    let running = clock.unfreeze().await.unwrap();
    assert!(!running.frozen);
    assert!(running.now >= target);

    // Backwards: the mock's error names the field.
    let e = clock.set(frozen.now).await.unwrap_err();
    assert_eq!(e.code(), Some("validation_error"), "{e}");
    assert_eq!(e.field(), Some("now"));
    // A fraction of a second: refused by the kit, naming the control API's field.
    let e = clock
        .advance(Duration::from_millis(1500))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    assert_eq!(e.field(), Some("seconds"));

    let state = clock.state().await.unwrap();
    assert!(state.offset_seconds >= 43 * 86_400 - 1, "{state:?}");
}

#[tokio::test]
async fn advancing_the_clock_runs_the_rules_that_became_due() {
    let k = Kit::start().await;
    let id = k
        .mock
        .load_campaign(
            Fixtures::campaign()
                .live()
                .end_at(k.mock.clock().now().await.unwrap() + chrono::Duration::days(2)),
        )
        .await
        .unwrap();
    assert_eq!(
        k.get(&format!("/v1/campaigns/{id}")).await.body["status"],
        "live"
    );
    k.mock
        .clock()
        .advance(Duration::from_secs(3 * 86_400))
        .await
        .unwrap();
    assert_eq!(
        k.get(&format!("/v1/campaigns/{id}")).await.body["status"],
        "finished"
    );
    let a = k.trigger(&id, "first_workout", "c1").await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (422, Some("campaign_not_live"))
    );
}

// ---------------------------------------------------------------- mode

#[tokio::test]
async fn test_mode_answers_test_rewards_even_for_drafts() {
    let k = Kit::start().await;
    assert_eq!(k.mock.mode().await.unwrap(), Mode::Live);
    let draft = k
        .mock
        .load_campaign(Fixtures::campaign().draft())
        .await
        .unwrap();
    let a = k.trigger(&draft, "first_workout", "c1").await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (422, Some("campaign_not_live"))
    );

    k.mock.set_mode(Mode::Test).await.unwrap();
    assert_eq!(k.mock.mode().await.unwrap(), Mode::Test);
    let a = k.trigger(&draft, "first_workout", "c1").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["reward"]["test"], true);
    let live = k.trigger(&k.demo_campaign(), "first_workout", "c2").await;
    assert_eq!(
        live.body["reward"]["test"], true,
        "every trigger, live campaigns too"
    );

    k.mock.set_mode(Mode::Live).await.unwrap();
    let live = k.trigger(&k.demo_campaign(), "first_workout", "c3").await;
    assert_eq!(live.body["reward"]["test"], false);
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn a_status_fault_answers_the_next_requests_then_runs_out() {
    let k = Kit::start().await;
    let faults = k.mock.faults();
    faults
        .inject(
            Fault::on(Route::Trigger)
                .status(503)
                .times(2)
                .retry_after(Duration::from_secs(7)),
        )
        .await
        .unwrap();
    let listed = faults.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].route, Route::Trigger);
    assert_eq!((listed[0].remaining, listed[0].status), (2, Some(503)));
    assert_eq!(listed[0].retry_after, Some(Duration::from_secs(7)));

    let campaign = k.demo_campaign();
    let a = k.trigger(&campaign, "first_workout", "c1").await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (503, Some("service_unavailable"))
    );
    assert_eq!(a.retry_after.as_deref(), Some("7"));
    assert_eq!(faults.list().await.unwrap()[0].remaining, 1);
    // Other routes are not touched.
    assert_eq!(k.get("/v1/app").await.status, 200);
    assert_eq!(
        k.trigger(&campaign, "first_workout", "c1").await.status,
        503
    );
    assert!(faults.list().await.unwrap().is_empty());
    assert_eq!(
        k.trigger(&campaign, "first_workout", "c1").await.status,
        200
    );

    let journal = k.mock.journal();
    journal
        .expect(Route::Trigger)
        .with_status(503)
        .times(2)
        .verify()
        .await
        .unwrap();
    let faulted = journal.requests(Route::Trigger).await.unwrap();
    assert!(
        faulted[0]
            .fault
            .as_deref()
            .unwrap()
            .starts_with("POST /v1/triggers")
    );
    assert_eq!(faulted[2].fault, None);
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let k = Kit::start().await;
    k.mock
        .faults()
        .inject(Fault::on(Route::GetApp).latency(Duration::from_millis(300)))
        .await
        .unwrap();
    let listed = k.mock.faults().list().await.unwrap();
    assert_eq!(listed[0].latency, Some(Duration::from_millis(300)));
    let t = Instant::now();
    assert_eq!(
        k.get("/v1/app").await.status,
        200,
        "latency alone answers normally"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_reset_fault_closes_the_connection_and_the_journal_says_so() {
    let k = Kit::start().await;
    k.mock
        .faults()
        .inject(Fault::on(Route::GetApp).reset_connection())
        .await
        .unwrap();
    assert_eq!(
        k.mock.faults().list().await.unwrap()[0].action,
        Some(FaultAction::ResetConnection)
    );
    let err = k
        .http
        .get(k.url("/v1/app"))
        .bearer_auth(&k.key)
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_status(), "{err}");
    k.mock
        .journal()
        .expect(Route::GetApp)
        .with_status(0)
        .once()
        .verify()
        .await
        .unwrap();
    assert_eq!(k.get("/v1/app").await.status, 200);
}

#[tokio::test]
async fn a_rate_limit_fault_answers_429_with_retry_after() {
    let k = Kit::start().await;
    k.mock
        .faults()
        .inject(Fault::on(Route::Trigger).rate_limit(Duration::from_secs(5)))
        .await
        .unwrap();
    let a = k.trigger(&k.demo_campaign(), "first_workout", "c1").await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert_eq!(a.retry_after.as_deref(), Some("5"));
    assert_eq!(a.body["error"]["retryable"], true);
}

#[tokio::test]
async fn custom_routes_match_exact_paths_and_any_method_and_faults_clear() {
    let k = Kit::start().await;
    let faults = k.mock.faults();
    faults
        .inject(
            Fault::on(Route::Custom("* /v1/app".into()))
                .status(500)
                .times(5),
        )
        .await
        .unwrap();
    faults
        .inject(Fault::on("GET /v1/catalog/items/itm_gc_10").status(404))
        .await
        .unwrap();
    assert_eq!(k.get("/v1/app").await.status, 500);
    assert_eq!(k.get("/v1/catalog/items/itm_gc_5").await.status, 200);
    assert_eq!(k.get("/v1/catalog/items/itm_gc_10").await.status, 404);
    faults.clear().await.unwrap();
    assert!(faults.list().await.unwrap().is_empty());
    assert_eq!(k.get("/v1/app").await.status, 200);
}

#[tokio::test]
async fn bad_faults_are_refused_naming_the_field() {
    let k = Kit::start().await;
    let faults = k.mock.faults();
    for (fault, field) in [
        (Fault::on("POST /v1/trigger").status(503), "route"),
        (Fault::on("TRIGGER /v1/triggers").status(503), "route"),
        (Fault::on(Route::Trigger).status(503).times(0), "count"),
        (Fault::on(Route::Trigger).status(200), "status"),
        (Fault::on(Route::Trigger), "status"),
        (
            Fault::on(Route::Trigger).rate_limit(Duration::from_millis(500)),
            "retry_after_seconds",
        ),
    ] {
        let e = faults.inject(fault.clone()).await.unwrap_err();
        assert_eq!(e.field(), Some(field), "{fault:?}: {e}");
    }
    assert!(faults.list().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- fixtures

#[tokio::test]
async fn live_approved_and_draft_campaigns_answer_as_documented() {
    let k = Kit::start().await;
    let loaded = k
        .mock
        .load(
            Fixtures::new()
                .with_campaign(
                    Fixtures::campaign()
                        .live()
                        .budget_usd(50)
                        .moment("first_workout"),
                )
                .with_campaign(Fixtures::campaign().approved())
                .with_campaign(Fixtures::campaign().draft()),
        )
        .await
        .unwrap();
    let [live, approved, draft] = <[String; 3]>::try_from(loaded.campaigns).unwrap();
    let k = &k;
    let status = |id: String| async move { k.get(&format!("/v1/campaigns/{id}")).await.body };
    let l = status(live.clone()).await;
    assert_eq!(
        (l["status"].as_str(), l["budget"]["amount"].as_i64()),
        (Some("live"), Some(5000))
    );
    assert_eq!(status(approved.clone()).await["status"], "approved");
    assert_eq!(status(draft.clone()).await["status"], "draft");

    let a = k.trigger(&live, "first_workout", "c1").await;
    assert_eq!(
        (a.status, &a.body["reward"]["test"]),
        (200, &json!(false)),
        "{}",
        a.body
    );
    let a = k.trigger(&approved, "first_workout", "c1").await;
    assert_eq!(
        (a.status, &a.body["reward"]["test"]),
        (200, &json!(true)),
        "{}",
        a.body
    );
    let a = k.trigger(&draft, "first_workout", "c1").await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (422, Some("campaign_not_live"))
    );

    // The approved campaign starts a day after the clock: then it is live and issues real rewards.
    k.mock
        .clock()
        .advance(Duration::from_secs(86_400 + 1))
        .await
        .unwrap();
    assert_eq!(status(approved.clone()).await["status"], "live");
    let a = k.trigger(&approved, "first_workout", "c2").await;
    assert_eq!(a.body["reward"]["test"], false, "{}", a.body);
}

#[tokio::test]
async fn budget_cost_goal_and_cap_are_what_the_builder_says() {
    let k = Kit::start().await;
    let id = k
        .mock
        .load_campaign(
            Fixtures::campaign()
                .budget_usd(50)
                .cost_cents(2500)
                .moment("five_workouts")
                .goal(2, Duration::from_secs(86_400))
                .frequency_cap(2, None),
        )
        .await
        .unwrap();
    let a = k.trigger(&id, "five_workouts", "c1").await;
    assert_eq!(a.body["outcome"], "progress", "{}", a.body);
    let a = k.trigger(&id, "five_workouts", "c1").await;
    assert_eq!(a.body["outcome"], "reward", "{}", a.body);
    assert_eq!(a.body["reward"]["cost"]["amount"], 2500);
    // The default moment was replaced.
    let a = k.trigger(&id, "first_workout", "c2").await;
    assert_eq!(a.status, 404, "{}", a.body);
    // The cap allows a second reward to the same customer; two rewards of $25 spend the $50 budget.
    assert_eq!(
        k.trigger(&id, "five_workouts", "c1").await.body["outcome"],
        "progress"
    );
    let a = k.trigger(&id, "five_workouts", "c1").await;
    assert_eq!(a.body["outcome"], "reward", "{}", a.body);
    assert_eq!(
        k.trigger(&id, "five_workouts", "c3").await.body["outcome"],
        "progress"
    );
    let a = k.trigger(&id, "five_workouts", "c3").await;
    assert_eq!(a.body["error"]["code"], "budget_exhausted", "{}", a.body);
}

#[tokio::test]
async fn apps_items_and_segments_load_together() {
    let k = Kit::start().await;
    let app = Fixtures::app("Other brand");
    let loaded = k
        .mock
        .load(
            Fixtures::new()
                .with_app(app.clone())
                .with_item(
                    Fixtures::item("itm_sticker")
                        .title("Sticker")
                        .price("US", 250)
                        .stock("US", 1),
                )
                .with_campaign(
                    Fixtures::campaign()
                        .owner(&app)
                        .items(["itm_sticker"])
                        .segment_group("US", "gold")
                        .fraud(FraudSettings {
                            max_actions_per_customer_per_hour: Some(5),
                            ..FraudSettings::default()
                        }),
                ),
        )
        .await
        .unwrap();
    assert_eq!(loaded.apps[0].app_id, app.id());
    assert_eq!(loaded.items, ["itm_sticker"]);
    let key = loaded.apps[0].secret_key.clone();
    let cmp = &loaded.campaigns[0];
    // The demo app does not see another app's campaign.
    assert_eq!(k.trigger(cmp, "first_workout", "c1").await.status, 404);
    let a = k
        .post_with(
            &key,
            "/v1/triggers",
            json!({"campaign_id": cmp, "moment_id": "first_workout",
                   "customer": {"id": "c1", "marketplace": "US", "segment": "gold"}, "device": {"type": "iOS"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["reward"]["reward_group_id"], "US_gold");
    assert_eq!(
        a.body["reward"]["offer"]["items"][0]["item_id"],
        "itm_sticker"
    );
    // One sticker in stock.
    let a = k.trigger_with(&key, cmp, "first_workout", "c2").await;
    assert_eq!(a.body["error"]["code"], "inventory_exhausted", "{}", a.body);
}

#[tokio::test]
async fn a_server_only_moment_refuses_customer_tokens() {
    let k = Kit::start().await;
    let id = k
        .mock
        .load_campaign(Fixtures::campaign().moment("level_5").server_only())
        .await
        .unwrap();
    let t = k
        .post_with(
            &k.key.clone(),
            "/v1/customer_tokens",
            json!({"customer_id": "c1", "marketplace": "US"}),
        )
        .await;
    let token = t.body["token"].as_str().unwrap().to_string();
    let a = k
        .post_with(
            &token,
            "/v1/triggers",
            json!({"campaign_id": id, "moment_id": "level_5", "device": {"type": "Android"}}),
        )
        .await;
    assert_eq!(
        (a.status, a.body["error"]["code"].as_str()),
        (403, Some("moment_not_client_reportable"))
    );
    assert_eq!(k.trigger(&id, "level_5", "c1").await.status, 200);
}

#[tokio::test]
async fn invalid_fixtures_are_refused_naming_the_field() {
    let k = Kit::start().await;
    let e = k
        .mock
        .load_campaign(Fixtures::campaign().budget_usd(10))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("validation_error"), "{e}");
    assert_eq!(e.field(), Some("campaigns[0].campaign.budget.amount"));
    let e = k
        .mock
        .load(
            Fixtures::new()
                .with_campaign(Fixtures::campaign())
                .with_campaign(
                    Fixtures::campaign()
                        .moment("first_workout")
                        .goal(0, Duration::from_secs(60)),
                ),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.field(),
        Some("campaigns[1].campaign.moments[0].goal.target"),
        "{e}"
    );
    let e = k.mock.load(Fixtures::item("sticker")).await.unwrap_err();
    assert_eq!(e.field(), Some("items[0].id"), "{e}");
}

// ---------------------------------------------------------------- journal and expectations

#[tokio::test]
async fn expectations_pass_and_fail_with_what_was_seen() {
    let k = Kit::start().await;
    let campaign = k.demo_campaign();
    let a = k.trigger(&campaign, "first_workout", "c1").await;
    assert_eq!(a.status, 200);
    assert_eq!(k.get("/v1/app").await.status, 200);
    let journal = k.mock.journal();
    journal
        .expect(Route::Trigger)
        .times(1)
        .verify()
        .await
        .unwrap();
    journal
        .expect(Route::Trigger)
        .with_status(200)
        .once()
        .verify()
        .await
        .unwrap();
    journal
        .expect(Route::GetApp)
        .at_least(1)
        .verify()
        .await
        .unwrap();
    journal
        .expect(Route::Redemption)
        .never()
        .verify()
        .await
        .unwrap();
    journal
        .expect(Route::Trigger)
        .between(1, 3)
        .verify()
        .await
        .unwrap();
    journal
        .expect(Route::Trigger)
        .at_most(1)
        .verify()
        .await
        .unwrap();
    assert_eq!(journal.count(Route::Trigger).await.unwrap(), 1);

    let trig = &journal.requests(Route::Trigger).await.unwrap()[0];
    assert_eq!(trig.route.as_deref(), Some("/v1/triggers"));
    assert!(trig.idempotency_key.as_deref().unwrap().starts_with("k-"));
    assert!(!trig.replayed);

    let e = journal
        .expect(Route::Trigger)
        .times(2)
        .verify()
        .await
        .unwrap_err();
    let Error::Unmet(unmet) = &e else {
        panic!("{e}")
    };
    assert_eq!(unmet.wanted, Times::Exactly(2));
    assert_eq!(unmet.matched.len(), 1);
    let text = e.to_string();
    assert!(
        text.starts_with("expected POST /v1/triggers exactly 2 times, it was called 1 time"),
        "{text}"
    );
    assert!(
        text.contains(&trig.request_id),
        "the matching request is listed: {text}"
    );
    assert!(
        text.contains("GET /v1/app → 200"),
        "other requests are listed: {text}"
    );
    assert!(
        !text.contains("/_mock/"),
        "control calls are left out: {text}"
    );

    let e = journal
        .expect(Route::Trigger)
        .with_status(503)
        .verify()
        .await
        .unwrap_err();
    assert!(
        e.to_string().starts_with(
            "expected POST /v1/triggers answered 503 at least 1 time, it was called 0 times"
        ),
        "{e}"
    );

    journal.clear().await.unwrap();
    journal
        .expect(Route::Trigger)
        .never()
        .verify()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_guard_that_is_met_drops_quietly() {
    let k = Kit::start().await;
    let _guard = k
        .mock
        .journal()
        .expect(Route::Trigger)
        .once()
        .verify_on_drop();
    assert_eq!(
        k.trigger(&k.demo_campaign(), "first_workout", "c1")
            .await
            .status,
        200
    );
    _guard.verify().await.unwrap();
}

#[tokio::test]
#[should_panic(expected = "expected POST /v1/triggers exactly 1 time, it was called 0 times")]
async fn an_unmet_guard_panics_on_drop() {
    let k = Kit::start().await;
    let _guard = k
        .mock
        .journal()
        .expect(Route::Trigger)
        .once()
        .verify_on_drop();
    assert_eq!(k.get("/v1/app").await.status, 200);
}

#[tokio::test]
#[should_panic(expected = "the test's own failure")]
async fn an_unmet_guard_does_not_panic_again_while_the_test_panics() {
    let k = Kit::start().await;
    let _guard = k
        .mock
        .journal()
        .expect(Route::Trigger)
        .once()
        .verify_on_drop();
    panic!("the test's own failure");
}

/// A mock served by a runtime of its own thread, as a mock in another process would be.
fn mock_elsewhere() -> (String, std::sync::mpsc::Sender<()>) {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let server = MockServer::start().await.unwrap();
            url_tx.send(server.base_url()).unwrap();
            tokio::task::spawn_blocking(move || stop_rx.recv())
                .await
                .ok();
            server.shutdown().await;
        });
    });
    (url_rx.recv().unwrap(), stop_tx)
}

#[tokio::test]
#[should_panic(expected = "expected POST /v1/triggers exactly 1 time, it was called 0 times")]
async fn a_guard_of_a_connected_mock_checks_over_http_on_drop() {
    let (url, _stop) = mock_elsewhere();
    let mock = Control::connect(format!("{url}/"));
    assert_eq!(mock.base_url(), url);
    let _guard = mock
        .journal()
        .expect(Route::Trigger)
        .once()
        .verify_on_drop();
    mock.journal()
        .expect(Route::Trigger)
        .never()
        .verify()
        .await
        .unwrap();
}

// ---------------------------------------------------------------- webhooks

/// A webhook receiver answering `status`, and its URL.
async fn receiver(status: u16) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move || async move { axum::http::StatusCode::from_u16(status).unwrap() },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn deliveries_are_listed_with_their_outcome() {
    let k = Kit::start().await;
    let ok = receiver(204).await;
    let failing = receiver(500).await;
    for (url, events) in [(&ok, json!([])), (&failing, json!(["reward.issued"]))] {
        let a = k
            .post_with(
                &k.key.clone(),
                "/v1/webhook_endpoints",
                json!({"url": url, "events": events}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    assert_eq!(
        k.trigger(&k.demo_campaign(), "first_workout", "c1")
            .await
            .status,
        200
    );
    let hooks = k.mock.webhooks();
    hooks.deliver_due().await.unwrap();
    let issued = hooks.deliveries_of("reward.issued").await.unwrap();
    assert_eq!(issued.len(), 2, "{issued:?}");
    let to_ok = issued.iter().find(|d| d.url == ok).unwrap();
    assert!(
        to_ok.succeeded && to_ok.status == Some(204) && to_ok.attempt == 1,
        "{to_ok:?}"
    );
    assert_eq!(to_ok.next_retry_at, None);
    let to_failing = issued.iter().find(|d| d.url == failing).unwrap();
    assert!(
        !to_failing.succeeded && to_failing.status == Some(500),
        "{to_failing:?}"
    );
    let retry = to_failing.next_retry_at.expect("a retry is scheduled");
    assert!(
        hooks
            .deliveries_of("reward.redeemed")
            .await
            .unwrap()
            .is_empty()
    );

    // The retry goes out when the clock reaches it.
    let now = k.mock.clock().now().await.unwrap();
    let wait = (retry - now).num_seconds().max(0) as u64;
    k.mock
        .clock()
        .advance(Duration::from_secs(wait))
        .await
        .unwrap();
    let attempts: Vec<_> = hooks
        .deliveries()
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.url == failing)
        .map(|d| d.attempt)
        .collect();
    assert_eq!(attempts, [1, 2]);
}

// ---------------------------------------------------------------- reset, demo, apps, connect

#[tokio::test]
async fn reset_drops_what_the_test_changed() {
    let k = Kit::start().await;
    let id = k.mock.load_campaign(Fixtures::campaign()).await.unwrap();
    let app = k.mock.new_app("Extra").await.unwrap();
    assert!(app.secret_key.starts_with("sk_test_") && app.app_id.starts_with("app_"));
    k.mock
        .faults()
        .inject(Fault::on(Route::Report).status(500))
        .await
        .unwrap();
    k.mock.set_mode(Mode::Test).await.unwrap();
    k.mock
        .clock()
        .advance(Duration::from_secs(86_400))
        .await
        .unwrap();
    assert_eq!(k.trigger(&id, "first_workout", "c1").await.status, 200);

    k.mock.reset().await.unwrap();
    assert_eq!(k.get(&format!("/v1/campaigns/{id}")).await.status, 404);
    assert!(k.mock.faults().list().await.unwrap().is_empty());
    assert_eq!(k.mock.mode().await.unwrap(), Mode::Live);
    let clock = k.mock.clock().state().await.unwrap();
    assert_eq!((clock.offset_seconds, clock.frozen), (0, false));
    k.mock
        .journal()
        .expect(Route::Trigger)
        .never()
        .verify()
        .await
        .unwrap();
    let demo = k.mock.demo().await.unwrap();
    assert_eq!(&demo.secret_key, &k.key);
    assert_eq!(demo.campaign_id, k.demo_campaign());
}

#[tokio::test]
async fn a_connected_client_drives_the_same_mock() {
    let k = Kit::start().await;
    let remote = Control::connect(k.server.base_url());
    remote.clock().freeze().await.unwrap();
    assert!(k.mock.clock().state().await.unwrap().frozen);
    let e = Control::connect("http://127.0.0.1:9")
        .clock()
        .now()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e}");
}

#[tokio::test]
async fn expectations_mounted_on_the_server_are_checked_when_asked() {
    let k = Kit::start().await;
    k.mock
        .journal()
        .expect(Route::Trigger)
        .once()
        .mount(&k.server);
    k.mock
        .journal()
        .expect(Route::GetApp)
        .never()
        .mount(&k.server);
    let e = k.server.verify().unwrap_err();
    assert!(
        e.to_string()
            .starts_with("expected POST /v1/triggers exactly 1 time, it was called 0 times"),
        "{e}"
    );
    assert_eq!(
        k.trigger(&k.demo_campaign(), "first_workout", "c1")
            .await
            .status,
        200
    );
    k.server.verify().unwrap();
    // Met: the server drops quietly.
}

#[tokio::test]
#[should_panic(
    expected = "1 unmet expectation(s) of the mock server:\nexpected GET /v1/app at least 1 time, it was called 0 times"
)]
async fn an_unmet_mounted_expectation_panics_when_the_server_drops() {
    let k = Kit::start().await;
    k.mock.journal().expect(Route::GetApp).mount(&k.server);
    k.mock
        .journal()
        .expect(Route::Trigger)
        .never()
        .mount(&k.server);
}

#[tokio::test]
#[should_panic(expected = "the test's own failure")]
async fn a_server_with_unmet_expectations_does_not_panic_again_while_the_test_panics() {
    let k = Kit::start().await;
    k.mock.journal().expect(Route::GetApp).mount(&k.server);
    panic!("the test's own failure");
}
