//! The original service's two calls: `/prod/GetRewardInfo` and `/prod/GetReward`.

use std::num::NonZeroU32;

use axum::Json;
use axum::extract::State as S;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::domain::errors::ApiError;
use crate::domain::info;
use crate::domain::model::DeviceType;
use crate::domain::trigger;
use crate::domain::trigger::{Outcome, TriggerInput};

/// Request body of both compat calls.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompatRequest {
    /// App id.
    pub app_id: String,
    /// Moment id.
    pub moment_id: String,
    /// `Android`, `iOS`, `FireOS`, `Web`.
    pub device_type: DeviceType,
    /// Campaign id.
    pub campaign_id: String,
    /// Reward group (e.g. `US`).
    pub reward_group_id: String,
}

/// Answer of both compat calls (on failure the text carries the error and `errorCode` is set).
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompatResponse {
    /// Announcement, redemption message, or error text.
    pub reward_notification_text: Option<String>,
    /// Reward URL (GetReward) or null.
    pub reward_notification_url: Option<String>,
    /// Campaign end, RFC 3339.
    pub campaign_end_date: Option<String>,
    /// Image.
    pub reward_image_url: Option<String>,
    /// Rewards left.
    pub remaining_reward_count: Option<i64>,
    /// The v1 error code, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

fn fail(e: ApiError) -> Response {
    let body = CompatResponse {
        reward_notification_text: Some(e.message.clone()),
        reward_notification_url: None,
        campaign_end_date: None,
        reward_image_url: None,
        remaining_reward_count: None,
        error_code: Some(e.code.to_string()),
    };
    let mut r = (e.status, Json(body)).into_response();
    if let Some(s) = e.retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    r.extensions_mut().insert(crate::http::envelope::Enveloped);
    r
}

/// The original service's rate limit: calls per second per legacy key, across both endpoints.
pub const DEFAULT_RATE_PER_SECOND: NonZeroU32 = NonZeroU32::new(5).unwrap();

/// The compat rate limit, per legacy key, on real monotonic time: it protects the service, so the
/// virtual clock (frozen, advanced, set) does not move it. A GCRA limiter ([`governor`]) with a burst
/// of one second's calls.
pub struct CompatLimiter {
    limiter: governor::RateLimiter<
        String,
        governor::state::keyed::HashMapStateStore<String>,
        governor::clock::MonotonicClock,
    >,
    per_second: NonZeroU32,
}

impl CompatLimiter {
    /// `per_second` calls per second per key.
    pub fn new(per_second: NonZeroU32) -> CompatLimiter {
        CompatLimiter {
            limiter: governor::RateLimiter::hashmap_with_clock(
                governor::Quota::per_second(per_second),
                governor::clock::MonotonicClock,
            ),
            per_second,
        }
    }

    /// Takes one call of `key`'s allowance, or refuses with `429 rate_limited` and a `Retry-After`
    /// (whole seconds, rounded up) after which the same call is allowed.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| {
                use governor::clock::Clock as _;
                let wait = not_until.wait_time_from(governor::clock::MonotonicClock.now());
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "Rate exceeded: {} requests per second per key.",
                        self.per_second
                    ),
                )
                .retry_after(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
            })
    }
}

impl Default for CompatLimiter {
    fn default() -> Self {
        CompatLimiter::new(DEFAULT_RATE_PER_SECOND)
    }
}

fn run(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    consume: bool,
) -> Result<CompatResponse, ApiError> {
    let mut g = app.lock();
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if key.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "authentication_required",
            "Missing Authentication Token: send header x-api-key.",
        ));
    }
    let (app_id, account_id) = g
        .credentials
        .app_of_legacy_key(key)
        .map(|a| (a.id.clone(), a.account_id.clone()))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_api_key",
                "Forbidden: the API key is not valid.",
            )
        })?;

    // Applying a logged request again: it passed the limit when first handled.
    let limited = if crate::domain::applying::replaying() {
        Ok(())
    } else {
        app.0.compat_limiter.check(key)
    };
    if let Err(e) = limited {
        // Real time, outside the sandbox: a persistent store's log does not keep the refusal.
        crate::domain::applying::mark_unchanged();
        return Err(e);
    }
    let req: CompatRequest = crate::http::extract::parse_json(body)?;
    if req.app_id != app_id {
        return Err(
            ApiError::forbidden("The appId does not belong to this API key.").param("appId"),
        );
    }
    let camp = g.campaigns.own(&app_id, &req.campaign_id)?.c.clone();
    let group = camp
        .reward_groups
        .iter()
        .find(|x| x.id == req.reward_group_id)
        .ok_or_else(|| {
            ApiError::not_found("reward group", &req.reward_group_id).param("rewardGroupId")
        })?;
    let marketplace = group.marketplace.clone();
    if consume {
        let input = TriggerInput {
            app_id: app_id.clone(),
            account_id,
            campaign_id: req.campaign_id.clone(),
            moment_id: req.moment_id.clone(),
            customer_id: None,
            marketplace: marketplace.clone(),
            segment: None,
            device_type: req.device_type,
            device_id: None,
            ip: None,
            reward_group_id: Some(req.reward_group_id.clone()),
            quantity: 1,
            customer_token: false,
            occurred_at: None,
            fresh: crate::domain::ids::fresh_reward("rwd_"),
        };
        let Outcome::Reward(id) = trigger::run_trigger(&mut g, &input)? else {
            return Err(ApiError::unprocessable(
                "campaign_not_live",
                "Unexpected progress outcome.",
            ));
        };
        let url = g.rewards[&id].url(&g.base_url);
        let info = info::reward_info(
            &g,
            &app_id,
            &req.campaign_id,
            &req.moment_id,
            &marketplace,
            None,
            Some(&req.reward_group_id),
            None,
        )?;
        return Ok(CompatResponse {
            reward_notification_text: Some(camp.redemption_message.clone()),
            reward_notification_url: Some(url),
            campaign_end_date: Some(
                camp.end_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            reward_image_url: camp.landing_image_url.clone(),
            remaining_reward_count: Some(info.remaining_reward_count),
            error_code: None,
        });
    }
    let info = info::reward_info(
        &g,
        &app_id,
        &req.campaign_id,
        &req.moment_id,
        &marketplace,
        None,
        Some(&req.reward_group_id),
        None,
    )?;
    Ok(CompatResponse {
        reward_notification_text: Some(camp.announcement_message.clone()),
        reward_notification_url: None,
        campaign_end_date: Some(
            camp.end_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        reward_image_url: camp.landing_image_url.clone(),
        remaining_reward_count: Some(info.remaining_reward_count),
        error_code: None,
    })
}

/// `POST /prod/GetRewardInfo`
#[utoipa::path(post, path = "/prod/GetRewardInfo", tag = "compat", request_body = CompatRequest,
    params(("x-api-key" = String, Header, description = "The app's legacy key (mk_…)")),
    responses((status = 200, body = CompatResponse), (status = "4XX", body = CompatResponse)))]
pub async fn get_reward_info(S(app): S<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match run(&app, &headers, &body, false) {
        Ok(r) => Json(r).into_response(),
        Err(e) => fail(e),
    }
}

/// `POST /prod/GetReward`
#[utoipa::path(post, path = "/prod/GetReward", tag = "compat", request_body = CompatRequest,
    params(("x-api-key" = String, Header, description = "The app's legacy key (mk_…)")),
    responses((status = 200, body = CompatResponse), (status = "4XX", body = CompatResponse)))]
pub async fn get_reward(S(app): S<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match run(&app, &headers, &body, true) {
        Ok(r) => Json(r).into_response(),
        Err(e) => fail(e),
    }
}
