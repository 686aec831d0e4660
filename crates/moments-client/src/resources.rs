//! The API grouped by resource. Get a handle from [`MomentsClient`] (`client.campaigns()`, …);
//! `with_options` applies [`RequestOptions`] to the calls made through that handle.

use bytes::Bytes;
use reqwest::Method;

use crate::client::MomentsClient;
use crate::config::RequestOptions;
use crate::error::Error;
use crate::models::*;
use crate::pagination::{ItemStream, paginate};
use crate::request::{AuthMode, Call};

macro_rules! handle {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone)]
        pub struct $name<'a> {
            client: &'a MomentsClient,
            opts: RequestOptions,
        }

        impl<'a> $name<'a> {
            pub(crate) fn new(client: &'a MomentsClient) -> Self {
                Self { client, opts: RequestOptions::default() }
            }

            /// Applies `opts` (idempotency key, retry policy, timeouts) to calls made through this handle.
            pub fn with_options(mut self, opts: RequestOptions) -> Self {
                self.opts = opts;
                self
            }
        }
    };
}

handle! {
    /// `GET /v1/app` and the app's secret keys (`/v1/api_keys`).
    Apps
}
handle! {
    /// `POST /v1/customer_tokens`.
    CustomerTokens
}
handle! {
    /// `/v1/catalog/items`.
    Catalog
}
handle! {
    /// `/v1/campaigns` and the lifecycle calls.
    Campaigns
}
handle! {
    /// `POST /v1/triggers` (the consuming call) and reward info.
    Moments
}
handle! {
    /// `/v1/rewards`.
    Rewards
}
handle! {
    /// `/v1/redemptions/{token}`: the JSON twin of the landing page; no credentials are sent.
    Redemptions
}
handle! {
    /// `GET /v1/customers/{customer_id}/progress`.
    ProgressApi
}
handle! {
    /// `/v1/fraud_reviews`.
    FraudReviews
}
handle! {
    /// `GET /v1/reports`.
    Reports
}
handle! {
    /// `/v1/webhook_endpoints`.
    WebhookEndpoints
}
handle! {
    /// The compatibility endpoints `POST /prod/GetRewardInfo` and `POST /prod/GetReward`, with
    /// `x-api-key` (set it with [`ClientBuilder::legacy_api_key`](crate::ClientBuilder::legacy_api_key)).
    Legacy
}

fn get(route: &'static str, segments: &[&str]) -> Call {
    Call::new(Method::GET, route, segments)
}

fn post(route: &'static str, segments: &[&str]) -> Call {
    Call::new(Method::POST, route, segments)
}

fn page_query(call: Call, limit: Option<u32>, cursor: Option<&String>) -> Call {
    call.query("limit", limit).query("cursor", cursor)
}

impl Apps<'_> {
    /// `GET /v1/app`: the app the credential belongs to.
    pub async fn get(&self) -> Result<App, Error> {
        self.client
            .call(get("/v1/app", &["v1", "app"]), &self.opts)
            .await
    }

    /// `GET /v1/api_keys`: the app's secret keys (masked).
    pub async fn list_api_keys(&self) -> Result<Page<ApiKey>, Error> {
        let call = get("/v1/api_keys", &["v1", "api_keys"]);
        self.client.call(call, &self.opts).await
    }

    /// `POST /v1/api_keys`: a new secret key; its `secret` is shown only in this answer.
    pub async fn create_api_key(&self, body: &ApiKeyCreate) -> Result<ApiKey, Error> {
        let call = post("/v1/api_keys", &["v1", "api_keys"]);
        self.client.call_json(call, body, &self.opts).await
    }

    /// `DELETE /v1/api_keys/{id}`: revokes a key (the calling key included).
    pub async fn revoke_api_key(&self, id: &str) -> Result<ApiKey, Error> {
        let call = Call::new(Method::DELETE, "/v1/api_keys/{id}", &["v1", "api_keys", id]);
        self.client.call(call, &self.opts).await
    }
}

impl CustomerTokens<'_> {
    /// `POST /v1/customer_tokens`: mints a short-lived token for one customer.
    ///
    /// ```no_run
    /// # async fn f(client: moments_client::MomentsClient) -> Result<(), moments_client::Error> {
    /// use moments_client::models::CustomerTokenCreate;
    /// let token = client
    ///     .customer_tokens()
    ///     .create(&CustomerTokenCreate::new("cust_42", "US").ttl_seconds(900))
    ///     .await?;
    /// // Hand `token.token` and `token.expires_in_seconds` to the app.
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, body: &CustomerTokenCreate) -> Result<CustomerToken, Error> {
        let call = post("/v1/customer_tokens", &["v1", "customer_tokens"]);
        self.client.call_json(call, body, &self.opts).await
    }
}

fn item_list_call(p: &ItemListParams) -> Call {
    let call = get("/v1/catalog/items", &["v1", "catalog", "items"])
        .query("marketplace", p.marketplace.as_ref())
        .query("kind", p.kind.as_ref())
        .query("q", p.q.as_ref());
    page_query(call, p.limit, p.cursor.as_ref())
}

impl Catalog<'_> {
    /// `GET /v1/catalog/items`: one page of items, ordered by id.
    pub async fn list(&self, params: &ItemListParams) -> Result<Page<Item>, Error> {
        self.client.call(item_list_call(params), &self.opts).await
    }

    /// Every item matching `params`, across pages.
    pub fn list_stream(&self, params: ItemListParams) -> ItemStream<Item> {
        let (client, opts) = (self.client.clone(), self.opts.clone());
        paginate(params.cursor.clone(), move |cursor| {
            let (client, opts) = (client.clone(), opts.clone());
            let p = ItemListParams {
                cursor,
                ..params.clone()
            };
            async move { client.call(item_list_call(&p), &opts).await }
        })
    }

    /// `GET /v1/catalog/items/{id}`.
    pub async fn get(&self, id: &str) -> Result<Item, Error> {
        let call = get("/v1/catalog/items/{id}", &["v1", "catalog", "items", id]);
        self.client.call(call, &self.opts).await
    }
}

fn campaign_list_call(p: &CampaignListParams) -> Call {
    let call = get("/v1/campaigns", &["v1", "campaigns"]).query("status", p.status.as_ref());
    page_query(call, p.limit, p.cursor.as_ref())
}

impl Campaigns<'_> {
    /// `POST /v1/campaigns`: a new campaign in `draft`.
    pub async fn create(&self, body: &CampaignCreate) -> Result<Campaign, Error> {
        let call = post("/v1/campaigns", &["v1", "campaigns"]);
        self.client.call_json(call, body, &self.opts).await
    }

    /// `GET /v1/campaigns/{id}`.
    pub async fn get(&self, id: &str) -> Result<Campaign, Error> {
        let call = get("/v1/campaigns/{id}", &["v1", "campaigns", id]);
        self.client.call(call, &self.opts).await
    }

    /// `GET /v1/campaigns`: one page.
    pub async fn list(&self, params: &CampaignListParams) -> Result<Page<Campaign>, Error> {
        self.client
            .call(campaign_list_call(params), &self.opts)
            .await
    }

    /// Every campaign matching `params`, across pages.
    pub fn list_stream(&self, params: CampaignListParams) -> ItemStream<Campaign> {
        let (client, opts) = (self.client.clone(), self.opts.clone());
        paginate(params.cursor.clone(), move |cursor| {
            let (client, opts) = (client.clone(), opts.clone());
            let p = CampaignListParams {
                cursor,
                ..params.clone()
            };
            async move { client.call(campaign_list_call(&p), &opts).await }
        })
    }

    /// `PATCH /v1/campaigns/{id}`: changes the given fields (not retried: `PATCH` carries no key).
    pub async fn update(&self, id: &str, body: &CampaignUpdate) -> Result<Campaign, Error> {
        let call = Call::new(
            Method::PATCH,
            "/v1/campaigns/{id}",
            &["v1", "campaigns", id],
        );
        self.client.call_json(call, body, &self.opts).await
    }

    async fn transition(
        &self,
        id: &str,
        route: &'static str,
        verb: &str,
    ) -> Result<Campaign, Error> {
        let call = post(route, &["v1", "campaigns", id, verb]);
        self.client.call(call, &self.opts).await
    }

    /// `POST /v1/campaigns/{id}/submit`: `draft`/`rejected` → `pending_approval`.
    pub async fn submit(&self, id: &str) -> Result<Campaign, Error> {
        self.transition(id, "/v1/campaigns/{id}/submit", "submit")
            .await
    }

    /// `POST /v1/campaigns/{id}/approve`: → `approved` (or `live`/`finished` by the clock).
    pub async fn approve(&self, id: &str) -> Result<Campaign, Error> {
        self.transition(id, "/v1/campaigns/{id}/approve", "approve")
            .await
    }

    /// `POST /v1/campaigns/{id}/reject`: → `rejected` with a reason.
    pub async fn reject(&self, id: &str, reason: &str) -> Result<Campaign, Error> {
        #[derive(serde::Serialize)]
        struct Body<'r> {
            reason: &'r str,
        }
        let call = post(
            "/v1/campaigns/{id}/reject",
            &["v1", "campaigns", id, "reject"],
        );
        self.client
            .call_json(call, &Body { reason }, &self.opts)
            .await
    }

    /// `POST /v1/campaigns/{id}/pause`: → `suspended`.
    pub async fn pause(&self, id: &str) -> Result<Campaign, Error> {
        self.transition(id, "/v1/campaigns/{id}/pause", "pause")
            .await
    }

    /// `POST /v1/campaigns/{id}/resume`: → `approved`, `live` or `finished` by the clock.
    pub async fn resume(&self, id: &str) -> Result<Campaign, Error> {
        self.transition(id, "/v1/campaigns/{id}/resume", "resume")
            .await
    }

    /// `POST /v1/campaigns/{id}/end`: → `finished`.
    pub async fn end(&self, id: &str) -> Result<Campaign, Error> {
        self.transition(id, "/v1/campaigns/{id}/end", "end").await
    }
}

impl Moments<'_> {
    /// `POST /v1/triggers`: reports an action. Answers a reward, or the progress of a goal moment.
    ///
    /// An `Idempotency-Key` is made for the call (or taken from [`RequestOptions::idempotency_key`])
    /// and sent on every attempt, so retries never issue a second reward.
    ///
    /// ```no_run
    /// # async fn f(client: moments_client::MomentsClient) -> Result<(), moments_client::Error> {
    /// use moments_client::models::{DeviceType, TriggerRequest};
    /// let outcome = client
    ///     .moments()
    ///     .trigger(&TriggerRequest::new("cmp_123", "first_workout", DeviceType::Android).customer("cust_42", "US"))
    ///     .await?;
    /// if let Some(reward) = outcome.reward() {
    ///     println!("reward link: {}", reward.url);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn trigger(&self, request: &TriggerRequest) -> Result<TriggerOutcome, Error> {
        let call = post("/v1/triggers", &["v1", "triggers"]).json(request)?;
        self.send_trigger(call).await
    }

    /// `POST /v1/triggers` with a body already encoded (sent byte for byte, e.g. from an outbox,
    /// so a later attempt with the same idempotency key is replayed, not a conflict).
    pub async fn trigger_raw(&self, body: impl Into<Bytes>) -> Result<TriggerOutcome, Error> {
        let call = post("/v1/triggers", &["v1", "triggers"]).raw_body(body.into());
        self.send_trigger(call).await
    }

    async fn send_trigger(&self, call: Call) -> Result<TriggerOutcome, Error> {
        let answer = self.client.send(call, &self.opts).await?;
        Ok(TriggerOutcome {
            result: answer.decode()?,
            replayed: answer.replayed,
            idempotency_key: answer.idempotency_key.unwrap_or_default(),
            request_id: answer.request_id,
        })
    }

    /// `GET /v1/campaigns/{id}/moments/{moment_id}/reward_info`: describes the reward, consumes nothing.
    pub async fn reward_info(
        &self,
        campaign_id: &str,
        moment_id: &str,
        params: &RewardInfoParams,
    ) -> Result<RewardInfo, Error> {
        let call = get(
            "/v1/campaigns/{id}/moments/{moment_id}/reward_info",
            &[
                "v1",
                "campaigns",
                campaign_id,
                "moments",
                moment_id,
                "reward_info",
            ],
        )
        .query("marketplace", params.marketplace.as_ref())
        .query("segment", params.segment.as_ref());
        self.client.call(call, &self.opts).await
    }
}

fn reward_list_call(p: &RewardListParams) -> Call {
    let call = get("/v1/rewards", &["v1", "rewards"])
        .query("campaign_id", p.campaign_id.as_ref())
        .query("moment_id", p.moment_id.as_ref())
        .query("customer_id", p.customer_id.as_ref())
        .query("status", p.status.as_ref());
    page_query(call, p.limit, p.cursor.as_ref())
}

impl Rewards<'_> {
    /// `GET /v1/rewards/{id}`.
    pub async fn get(&self, id: &str) -> Result<Reward, Error> {
        let call = get("/v1/rewards/{id}", &["v1", "rewards", id]);
        self.client.call(call, &self.opts).await
    }

    /// `GET /v1/rewards`: one page, newest first.
    pub async fn list(&self, params: &RewardListParams) -> Result<Page<Reward>, Error> {
        self.client.call(reward_list_call(params), &self.opts).await
    }

    /// Every reward matching `params`, across pages.
    pub fn list_stream(&self, params: RewardListParams) -> ItemStream<Reward> {
        let (client, opts) = (self.client.clone(), self.opts.clone());
        paginate(params.cursor.clone(), move |cursor| {
            let (client, opts) = (client.clone(), opts.clone());
            let p = RewardListParams {
                cursor,
                ..params.clone()
            };
            async move { client.call(reward_list_call(&p), &opts).await }
        })
    }

    /// `POST /v1/rewards/{id}/cancel`: cancels an `issued` or `flagged` reward; its cost is refunded.
    pub async fn cancel(&self, id: &str) -> Result<Reward, Error> {
        let call = post("/v1/rewards/{id}/cancel", &["v1", "rewards", id, "cancel"]);
        self.client.call(call, &self.opts).await
    }
}

impl Redemptions<'_> {
    /// The token of a reward URL (`<base>/r/<token>`).
    pub fn token_from_url(url: &str) -> Option<&str> {
        let (_, token) = url.rsplit_once("/r/")?;
        let token = token.split(['?', '#']).next()?;
        (!token.is_empty() && !token.contains('/')).then_some(token)
    }

    /// `GET /v1/redemptions/{token}`.
    pub async fn get(&self, token: &str) -> Result<Redemption, Error> {
        let call =
            get("/v1/redemptions/{token}", &["v1", "redemptions", token]).auth(AuthMode::None);
        self.client.call(call, &self.opts).await
    }

    /// `POST /v1/redemptions/{token}`: redeems the reward for an item.
    pub async fn redeem(&self, token: &str, body: &RedeemRequest) -> Result<Redemption, Error> {
        let call =
            post("/v1/redemptions/{token}", &["v1", "redemptions", token]).auth(AuthMode::None);
        self.client.call_json(call, body, &self.opts).await
    }
}

impl ProgressApi<'_> {
    /// `GET /v1/customers/{customer_id}/progress`: one entry per goal moment the customer acted on.
    pub async fn list(
        &self,
        customer_id: &str,
        campaign_id: Option<&str>,
    ) -> Result<Page<Progress>, Error> {
        let call = get(
            "/v1/customers/{customer_id}/progress",
            &["v1", "customers", customer_id, "progress"],
        )
        .query("campaign_id", campaign_id);
        self.client.call(call, &self.opts).await
    }

    /// The token's own customer's progress (`customer_id` = `me`).
    pub async fn mine(&self, campaign_id: Option<&str>) -> Result<Page<Progress>, Error> {
        self.list("me", campaign_id).await
    }
}

fn fraud_list_call(p: &FraudReviewListParams) -> Call {
    let call = get("/v1/fraud_reviews", &["v1", "fraud_reviews"])
        .query("status", p.status.as_ref())
        .query("campaign_id", p.campaign_id.as_ref());
    page_query(call, p.limit, p.cursor.as_ref())
}

impl FraudReviews<'_> {
    /// `GET /v1/fraud_reviews`: one page.
    pub async fn list(&self, params: &FraudReviewListParams) -> Result<Page<FraudReview>, Error> {
        self.client.call(fraud_list_call(params), &self.opts).await
    }

    /// Every fraud review matching `params`, across pages.
    pub fn list_stream(&self, params: FraudReviewListParams) -> ItemStream<FraudReview> {
        let (client, opts) = (self.client.clone(), self.opts.clone());
        paginate(params.cursor.clone(), move |cursor| {
            let (client, opts) = (client.clone(), opts.clone());
            let p = FraudReviewListParams {
                cursor,
                ..params.clone()
            };
            async move { client.call(fraud_list_call(&p), &opts).await }
        })
    }

    /// `POST /v1/fraud_reviews/{reward_id}/release`: the reward becomes `issued`.
    pub async fn release(&self, reward_id: &str) -> Result<FraudReview, Error> {
        let call = post(
            "/v1/fraud_reviews/{reward_id}/release",
            &["v1", "fraud_reviews", reward_id, "release"],
        );
        self.client.call(call, &self.opts).await
    }

    /// `POST /v1/fraud_reviews/{reward_id}/block`: the reward becomes `blocked` and is refunded.
    pub async fn block(&self, reward_id: &str) -> Result<FraudReview, Error> {
        let call = post(
            "/v1/fraud_reviews/{reward_id}/block",
            &["v1", "fraud_reviews", reward_id, "block"],
        );
        self.client.call(call, &self.opts).await
    }
}

impl Reports<'_> {
    /// `GET /v1/reports`: a campaign's report, or the account's when `campaign_id` is `None`.
    pub async fn get(&self, params: &ReportParams) -> Result<Report, Error> {
        let fmt = |d: &chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let call = get("/v1/reports", &["v1", "reports"])
            .query("campaign_id", params.campaign_id.as_ref())
            .query("from", params.from.as_ref().map(fmt))
            .query("to", params.to.as_ref().map(fmt))
            .query("group_by", params.group_by.as_ref());
        self.client.call(call, &self.opts).await
    }
}

impl WebhookEndpoints<'_> {
    /// `POST /v1/webhook_endpoints`: the answer carries the signing `secret`, shown only once.
    pub async fn create(&self, body: &WebhookEndpointCreate) -> Result<WebhookEndpoint, Error> {
        let call = post("/v1/webhook_endpoints", &["v1", "webhook_endpoints"]);
        self.client.call_json(call, body, &self.opts).await
    }

    /// `GET /v1/webhook_endpoints`.
    pub async fn list(&self) -> Result<Page<WebhookEndpoint>, Error> {
        let call = get("/v1/webhook_endpoints", &["v1", "webhook_endpoints"]);
        self.client.call(call, &self.opts).await
    }

    /// `GET /v1/webhook_endpoints/{id}`.
    pub async fn get(&self, id: &str) -> Result<WebhookEndpoint, Error> {
        let call = get(
            "/v1/webhook_endpoints/{id}",
            &["v1", "webhook_endpoints", id],
        );
        self.client.call(call, &self.opts).await
    }

    /// `DELETE /v1/webhook_endpoints/{id}`.
    pub async fn delete(&self, id: &str) -> Result<WebhookEndpoint, Error> {
        let call = Call::new(
            Method::DELETE,
            "/v1/webhook_endpoints/{id}",
            &["v1", "webhook_endpoints", id],
        );
        self.client.call(call, &self.opts).await
    }

    /// `POST /v1/webhook_endpoints/{id}/rotate_secret`: a new signing `secret`, shown only in this
    /// answer. For `overlap` (whole seconds, a fraction rounded up; `None`: the server's default,
    /// 24 h; at most 7 days; zero: the old secret stops at once) deliveries carry a `v1=` signature
    /// with each secret, so a receiver verifying with either keeps working while the new one is
    /// deployed; `previous_secret_expires_at` says until when.
    ///
    /// ```no_run
    /// # async fn f(client: moments_client::MomentsClient) -> Result<(), moments_client::Error> {
    /// use std::time::Duration;
    /// let ep = client
    ///     .webhook_endpoints()
    ///     .rotate_secret("whe_123", Some(Duration::from_secs(3600)))
    ///     .await?;
    /// // Store `ep.secret`; until `ep.previous_secret_expires_at` the old secret verifies too.
    /// # Ok(()) }
    /// ```
    pub async fn rotate_secret(
        &self,
        id: &str,
        overlap: Option<std::time::Duration>,
    ) -> Result<WebhookEndpoint, Error> {
        let call = post(
            "/v1/webhook_endpoints/{id}/rotate_secret",
            &["v1", "webhook_endpoints", id, "rotate_secret"],
        );
        let body = WebhookSecretRotate {
            expires_in_seconds: overlap
                .map(|d| d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))),
        };
        self.client.call_json(call, &body, &self.opts).await
    }
}

impl Legacy<'_> {
    /// `POST /prod/GetRewardInfo`: describes the reward, consumes nothing (retried when safe).
    pub async fn get_reward_info(
        &self,
        body: &LegacyRewardRequest,
    ) -> Result<LegacyRewardResponse, Error> {
        let call = post("/prod/GetRewardInfo", &["prod", "GetRewardInfo"])
            .auth(AuthMode::Legacy)
            .naturally_idempotent(true);
        self.client.call_json(call, body, &self.opts).await
    }

    /// `POST /prod/GetReward`: issues a reward. The original endpoint has no idempotency key, so
    /// it is retried only when the request certainly had no effect (connection refused, `429`).
    pub async fn get_reward(
        &self,
        body: &LegacyRewardRequest,
    ) -> Result<LegacyRewardResponse, Error> {
        let call = post("/prod/GetReward", &["prod", "GetReward"]).auth(AuthMode::Legacy);
        self.client.call_json(call, body, &self.opts).await
    }
}
