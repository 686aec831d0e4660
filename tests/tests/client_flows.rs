//! The brief's flows through `moments-client` against the in-process mock server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use moments_client::models::*;
use moments_client::{
    BoxError, ErrorCode, MomentsClient, Redemptions, RequestOptions, RetryPolicy, TokenGrant,
    TokenProvider,
};
use moments_e2e::mock::Mock;
use serde_json::{Value, json};

struct Env {
    /// The harness's mock (on the store `MOMENTS_E2E_STORE` names), alive as long as the `Env`.
    mock: Mock,
    client: MomentsClient,
}

impl Env {
    async fn start() -> Env {
        let mock = Mock::start().await;
        let client = MomentsClient::builder()
            .base_url(mock.server.base_url())
            .secret_key(mock.server.demo().secret_key.clone())
            .legacy_api_key(mock.server.demo().api_key.clone())
            .retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(5)
                    .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
            )
            .build()
            .unwrap();
        Env { mock, client }
    }

    fn campaign(&self) -> String {
        self.mock.server.demo().campaign_id.clone()
    }

    /// A call to the control API (with the demo secret key in a shared sandbox: [`Mock::call`]).
    async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let method = match method {
            "POST" | "DELETE" => method,
            _ => "GET",
        };
        let resp = self
            .mock
            .call(method, path, None, None, body.as_ref())
            .await;
        assert!(
            (200..300).contains(&resp.status),
            "{method} {path}: {}",
            resp.status
        );
        resp.body
    }

    async fn trigger(
        &self,
        moment: &str,
        customer: &str,
    ) -> Result<TriggerOutcome, moments_client::Error> {
        self.client
            .moments()
            .trigger(
                &TriggerRequest::new(self.campaign(), moment, DeviceType::Android)
                    .customer(customer, "US")
                    .device_id(format!("dev_{customer}")),
            )
            .await
    }

    async fn rewards_of(&self, customer: &str) -> Vec<Reward> {
        self.client
            .rewards()
            .list_stream(RewardListParams {
                customer_id: Some(customer.into()),
                campaign_id: Some(self.campaign()),
                limit: Some(1),
                ..Default::default()
            })
            .map(|r| r.unwrap())
            .collect()
            .await
    }
}

#[tokio::test]
async fn trigger_to_redemption_with_a_secret_key() {
    let env = Env::start().await;
    let app = env.client.apps().get().await.unwrap();
    assert_eq!(app.id, env.mock.server.demo().app_id);

    let items: Vec<Item> = env
        .client
        .catalog()
        .list_stream(ItemListParams {
            marketplace: Some("US".into()),
            limit: Some(2),
            ..Default::default()
        })
        .map(|i| i.unwrap())
        .collect()
        .await;
    assert!(items.len() > 2, "several pages of the seeded catalog");

    let info = env
        .client
        .moments()
        .reward_info(
            &env.campaign(),
            "first_workout",
            &RewardInfoParams {
                marketplace: Some("US".into()),
                segment: None,
            },
        )
        .await
        .unwrap();
    assert!(info.remaining_reward_count > 0);

    let outcome = env.trigger("first_workout", "cust_flow").await.unwrap();
    assert_eq!(outcome.result.outcome, Outcome::Reward);
    assert!(!outcome.replayed);
    assert!(
        outcome
            .request_id
            .as_deref()
            .is_some_and(|r| r.starts_with("req_"))
    );
    let reward = outcome.reward().unwrap().clone();
    assert_eq!(reward.status, RewardStatus::Issued);
    assert!(reward.cost.amount > 0);

    // The frequency cap: a second, different trigger is refused with a typed error.
    let err = env.trigger("first_workout", "cust_flow").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::FrequencyCapReached));
    assert!(err.request_id().is_some());

    // Redeem a digital item over the JSON twin of the landing page.
    let token = Redemptions::token_from_url(&reward.url).unwrap().to_owned();
    let page = env.client.redemptions().get(&token).await.unwrap();
    let digital = page
        .choices
        .iter()
        .find(|c| c.kind == ItemKind::Digital)
        .expect("a digital choice");
    let redeemed = env
        .client
        .redemptions()
        .redeem(
            &token,
            &RedeemRequest {
                item_id: digital.item_id.clone(),
                shipping_address: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(redeemed.status, RewardStatus::Redeemed);
    let again = env
        .client
        .redemptions()
        .redeem(
            &token,
            &RedeemRequest {
                item_id: digital.item_id.clone(),
                shipping_address: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some(&ErrorCode::RewardAlreadyRedeemed));

    let fetched = env.client.rewards().get(&reward.id).await.unwrap();
    assert_eq!(fetched.status, RewardStatus::Redeemed);
    let cancel = env.client.rewards().cancel(&reward.id).await.unwrap_err();
    assert_eq!(cancel.code(), Some(&ErrorCode::RewardNotCancellable));

    let report = env
        .client
        .reports()
        .get(&ReportParams {
            campaign_id: Some(env.campaign()),
            group_by: Some(GroupBy::Moment),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(report.totals.rewards_issued >= 1 && report.totals.rewards_redeemed >= 1);
}

#[tokio::test]
async fn a_goal_moment_answers_progress_until_met() {
    let env = Env::start().await;
    for i in 1..5u64 {
        let o = env.trigger("five_workouts", "cust_goal").await.unwrap();
        assert_eq!(o.result.outcome, Outcome::Progress);
        assert_eq!(o.progress().unwrap().current, i);
        assert_eq!(o.progress().unwrap().target, 5);
    }
    let progress = env
        .client
        .progress()
        .list("cust_goal", Some(&env.campaign()))
        .await
        .unwrap();
    assert_eq!(progress.data[0].current, 4);
    let o = env.trigger("five_workouts", "cust_goal").await.unwrap();
    assert_eq!(o.result.outcome, Outcome::Reward);
    assert_eq!(env.rewards_of("cust_goal").await.len(), 1);
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_first_answer() {
    let env = Env::start().await;
    let req = TriggerRequest::new(env.campaign(), "first_workout", DeviceType::Ios)
        .customer("cust_idem", "US");
    let opts = RequestOptions::new().idempotency_key("order-1234");
    let a = env
        .client
        .moments()
        .with_options(opts.clone())
        .trigger(&req)
        .await
        .unwrap();
    let b = env
        .client
        .moments()
        .with_options(opts.clone())
        .trigger(&req)
        .await
        .unwrap();
    assert!(!a.replayed);
    assert!(b.replayed);
    assert_eq!(a.reward().unwrap().id, b.reward().unwrap().id);
    let other = req.clone().quantity(2);
    let err = env
        .client
        .moments()
        .with_options(opts)
        .trigger(&other)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::IdempotencyConflict));
    assert_eq!(env.rewards_of("cust_idem").await.len(), 1);
}

#[tokio::test]
async fn two_503s_and_a_connection_reset_still_issue_exactly_one_reward() {
    let env = Env::start().await;
    env.control(
        "POST",
        "/_mock/faults",
        Some(json!({"route": "POST /v1/triggers", "count": 2, "status": 503})),
    )
    .await;
    env.control(
        "POST",
        "/_mock/faults",
        Some(json!({"route": "POST /v1/triggers", "count": 1, "action": "reset"})),
    )
    .await;
    let o = env.trigger("first_workout", "cust_faults").await.unwrap();
    assert_eq!(o.result.outcome, Outcome::Reward);
    let rewards = env.rewards_of("cust_faults").await;
    assert_eq!(rewards.len(), 1);
    assert_eq!(rewards[0].id, o.reward().unwrap().id);

    // Every attempt carried the same key.
    let journal = env.control("GET", "/_mock/journal", None).await;
    let entries = journal
        .get("data")
        .or(Some(&journal))
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let keys: Vec<&str> = entries
        .iter()
        .filter(|e| e["path"] == "/v1/triggers")
        .filter_map(|e| e["idempotency_key"].as_str())
        .collect();
    assert_eq!(keys.len(), 4, "{journal}");
    assert!(keys.iter().all(|k| *k == o.idempotency_key));
}

#[tokio::test]
async fn rate_limiting_is_retried_after_the_server_says() {
    let env = Env::start().await;
    env.control(
        "POST",
        "/_mock/faults",
        Some(json!({"route": "GET /v1/app", "count": 1, "action": "rate_limit", "retry_after_seconds": 0})),
    )
    .await;
    env.control("DELETE", "/_mock/journal", None).await;
    let app = env.client.apps().get().await.unwrap();
    assert_eq!(app.id, env.mock.server.demo().app_id);
    let journal = env.control("GET", "/_mock/journal", None).await;
    let entries = journal
        .get("data")
        .or(Some(&journal))
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let statuses: Vec<i64> = entries
        .iter()
        .filter(|e| e["path"] == "/v1/app")
        .filter_map(|e| e["status"].as_i64())
        .collect();
    assert_eq!(statuses, [429, 200], "{journal}");
}

struct BackendTokens {
    backend: MomentsClient,
    customer: String,
    calls: AtomicU32,
}

#[moments_client::async_trait]
impl TokenProvider for BackendTokens {
    async fn fetch_token(&self) -> Result<TokenGrant, BoxError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let t = self
            .backend
            .customer_tokens()
            .create(&CustomerTokenCreate::new(&self.customer, "US").ttl_seconds(900))
            .await?;
        Ok(t.into())
    }
}

#[tokio::test]
async fn a_mobile_client_reports_through_customer_tokens() {
    let env = Env::start().await;
    let provider = Arc::new(BackendTokens {
        backend: env.client.clone(),
        customer: "cust_app".into(),
        calls: AtomicU32::new(0),
    });
    let app = MomentsClient::builder()
        .base_url(env.mock.server.base_url())
        .token_provider(provider.clone())
        .build()
        .unwrap();
    let info = app
        .moments()
        .reward_info(
            &env.campaign(),
            "first_workout",
            &RewardInfoParams::default(),
        )
        .await
        .unwrap();
    assert_eq!(info.moment_id, "first_workout");
    let o = app
        .moments()
        .trigger(&TriggerRequest::new(
            env.campaign(),
            "first_workout",
            DeviceType::Android,
        ))
        .await
        .unwrap();
    assert_eq!(o.reward().unwrap().customer_id.as_deref(), Some("cust_app"));
    let err = app
        .moments()
        .trigger(&TriggerRequest::new(
            env.campaign(),
            "level_5",
            DeviceType::Android,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::MomentNotClientReportable));
    let mine = app
        .rewards()
        .list(&RewardListParams::default())
        .await
        .unwrap();
    assert_eq!(mine.data.len(), 1);
    let forbidden = app.campaigns().get(&env.campaign()).await.unwrap_err();
    assert_eq!(forbidden.status(), Some(403));
    assert_eq!(
        provider.calls.load(Ordering::SeqCst),
        1,
        "one token for every call"
    );
}

#[tokio::test]
async fn an_expired_customer_token_is_fetched_again() {
    let env = Env::start().await;
    let provider = Arc::new(BackendTokens {
        backend: env.client.clone(),
        customer: "cust_exp".into(),
        calls: AtomicU32::new(0),
    });
    let app = MomentsClient::builder()
        .base_url(env.mock.server.base_url())
        .token_provider(provider.clone())
        .build()
        .unwrap();
    app.progress().mine(None).await.unwrap();
    // The server's clock moves past the token's expiry; the client's monotonic clock does not.
    env.control(
        "POST",
        "/_mock/clock/advance",
        Some(json!({"seconds": 1000})),
    )
    .await;
    app.progress().mine(None).await.unwrap();
    assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_campaign_runs_its_lifecycle() {
    let env = Env::start().await;
    let clock = env.control("GET", "/_mock/clock", None).await;
    let now: chrono::DateTime<chrono::Utc> = clock["now"].as_str().unwrap().parse().unwrap();
    let create = CampaignCreate {
        name: "Client lifecycle".into(),
        brand_name: "Demo Fitness".into(),
        start_at: now + chrono::Duration::seconds(60),
        end_at: now + chrono::Duration::days(30),
        budget: Money::usd(50_000),
        cost_per_action: Money::usd(500),
        marketplaces: vec!["US".into()],
        reward_groups: vec![RewardGroup::new("US", "US", vec!["itm_echo_dot".into()])],
        moments: vec![Moment {
            client_reportable: true,
            ..Moment::new("signup")
        }],
        announcement_message: "Sign up and win".into(),
        redemption_message: "Enjoy".into(),
        landing_image_url: None,
        reward_expiry_seconds: None,
        fraud: None,
    };
    let c = env.client.campaigns().create(&create).await.unwrap();
    assert_eq!(c.status, CampaignStatus::Draft);
    let err = env.client.campaigns().approve(&c.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidStateTransition));
    assert_eq!(err.api_error().unwrap().param.as_deref(), Some("status"));
    let c = env
        .client
        .campaigns()
        .update(
            &c.id,
            &CampaignUpdate {
                name: Some("Renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(c.name, "Renamed");
    assert_eq!(
        env.client.campaigns().submit(&c.id).await.unwrap().status,
        CampaignStatus::PendingApproval
    );
    assert_eq!(
        env.client.campaigns().approve(&c.id).await.unwrap().status,
        CampaignStatus::Approved
    );

    // Test mode: the same test reward on every call, nothing consumed.
    let req = TriggerRequest::new(&c.id, "signup", DeviceType::Web).customer("cust_lc", "US");
    let a = env.client.moments().trigger(&req).await.unwrap();
    let b = env.client.moments().trigger(&req).await.unwrap();
    assert!(a.reward().unwrap().test);
    assert_eq!(a.reward().unwrap().url, b.reward().unwrap().url);

    env.control("POST", "/_mock/clock/advance", Some(json!({"seconds": 60})))
        .await;
    assert_eq!(
        env.client.campaigns().get(&c.id).await.unwrap().status,
        CampaignStatus::Live
    );
    assert_eq!(
        env.client.campaigns().pause(&c.id).await.unwrap().status,
        CampaignStatus::Suspended
    );
    assert_eq!(
        env.client.campaigns().resume(&c.id).await.unwrap().status,
        CampaignStatus::Live
    );
    assert_eq!(
        env.client.campaigns().end(&c.id).await.unwrap().status,
        CampaignStatus::Finished
    );
    let listed: Vec<Campaign> = env
        .client
        .campaigns()
        .list_stream(CampaignListParams {
            status: Some(CampaignStatus::Finished),
            limit: Some(1),
            ..Default::default()
        })
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert!(listed.iter().any(|x| x.id == c.id));

    let draft = env.client.campaigns().create(&create).await.unwrap();
    env.client.campaigns().submit(&draft.id).await.unwrap();
    let rejected = env
        .client
        .campaigns()
        .reject(&draft.id, "image too small")
        .await
        .unwrap();
    assert_eq!(rejected.status, CampaignStatus::Rejected);
    assert_eq!(
        rejected.rejection_reason.as_deref(),
        Some("image too small")
    );
}

#[tokio::test]
async fn keys_webhook_endpoints_and_fraud_reviews() {
    let env = Env::start().await;
    let key = env
        .client
        .apps()
        .create_api_key(&ApiKeyCreate {
            name: Some("rotation".into()),
        })
        .await
        .unwrap();
    let secret = key.secret.clone().expect("secret shown once");
    let rotated = MomentsClient::builder()
        .base_url(env.mock.server.base_url())
        .secret_key(secret)
        .build()
        .unwrap();
    rotated.apps().get().await.unwrap();
    let keys = env.client.apps().list_api_keys().await.unwrap();
    assert!(keys.data.iter().all(|k| k.secret.is_none()));
    let revoked = env.client.apps().revoke_api_key(&key.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    let err = rotated.apps().get().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidApiKey));

    let ep = env
        .client
        .webhook_endpoints()
        .create(&WebhookEndpointCreate {
            url: "http://127.0.0.1:9/hook".into(),
            events: vec![EventType::RewardIssued],
        })
        .await
        .unwrap();
    assert!(
        ep.secret
            .as_deref()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    assert!(
        env.client
            .webhook_endpoints()
            .get(&ep.id)
            .await
            .unwrap()
            .secret
            .is_none()
    );
    assert!(
        env.client
            .webhook_endpoints()
            .list()
            .await
            .unwrap()
            .data
            .iter()
            .any(|e| e.id == ep.id)
    );
    assert!(
        env.client
            .webhook_endpoints()
            .delete(&ep.id)
            .await
            .unwrap()
            .deleted
    );

    let reviews = env
        .client
        .fraud_reviews()
        .list(&FraudReviewListParams::default())
        .await
        .unwrap();
    assert!(reviews.data.is_empty());
    let err = env
        .client
        .fraud_reviews()
        .release("rwd_nope")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ResourceNotFound));
}

#[tokio::test]
async fn the_compatibility_endpoints_work_through_the_client() {
    let env = Env::start().await;
    let demo = env.mock.server.demo();
    let req = LegacyRewardRequest {
        app_id: demo.app_id.clone(),
        moment_id: "first_workout".into(),
        device_type: DeviceType::FireOs,
        campaign_id: demo.campaign_id.clone(),
        reward_group_id: "US".into(),
    };
    let info = env.client.legacy().get_reward_info(&req).await.unwrap();
    assert!(info.reward_notification_url.is_none());
    assert!(info.reward_notification_text.is_some());
    let got = env.client.legacy().get_reward(&req).await.unwrap();
    assert!(
        got.reward_notification_url
            .as_deref()
            .is_some_and(|u| u.contains("/r/"))
    );
    let bad = LegacyRewardRequest {
        reward_group_id: "XX".into(),
        ..req
    };
    let err = env.client.legacy().get_reward(&bad).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some(&ErrorCode::ResourceNotFound));
    assert!(err.request_id().is_some());
}
