//! An example brand backend built on `moments-client`.
//!
//! - `POST /customer-token`: mints a customer token for the logged-in user (the demo takes the user
//!   id from the `x-user-id` header; a real backend takes it from its session).
//! - `POST /webhooks/moments`: verifies the `Moments-Signature` of a webhook and logs the event.
//! - `POST /workouts/complete`: reports the `first_workout` moment for the user.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use moments_client::models::{
    CustomerTokenCreate, DeviceType, EventObject, Outcome, TriggerRequest,
};
use moments_client::{MomentsClient, RequestOptions, webhooks};
use serde::Deserialize;
use serde_json::json;

/// What the service needs.
#[derive(Clone)]
pub struct AppState {
    /// The Moments client, with the brand's secret key.
    pub client: MomentsClient,
    /// The campaign whose moments this app reports.
    pub campaign_id: String,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: Arc<str>,
    /// The marketplace of the demo's users.
    pub marketplace: String,
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/customer-token", post(customer_token))
        .route("/webhooks/moments", post(webhook))
        .route("/workouts/complete", post(workout_complete))
        .with_state(state)
}

fn user_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-user-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn login_required() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "log in first (x-user-id)"})),
    )
        .into_response()
}

/// Maps a Moments error to this service's answer, keeping the request id for support.
fn upstream_error(e: moments_client::Error) -> Response {
    tracing::warn!(error = %e, request_id = e.request_id(), "Moments call failed");
    let status = match e.status() {
        Some(s @ 400..=499) => StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY),
        _ if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    let body = json!({
        "error": e.code().map(|c| c.as_str().to_owned()).unwrap_or_else(|| "upstream_unavailable".into()),
        "retryable": e.is_retryable(),
        "request_id": e.request_id(),
    });
    (status, Json(body)).into_response()
}

async fn customer_token(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let Some(user) = user_id(&headers) else {
        return login_required();
    };
    let req = CustomerTokenCreate::new(user, s.marketplace.clone()).ttl_seconds(900);
    match s.client.customer_tokens().create(&req).await {
        // The app's token provider gets exactly what it needs; never log the token.
        Ok(t) => Json(json!({"token": t.token, "expires_in_seconds": t.expires_in_seconds}))
            .into_response(),
        Err(e) => upstream_error(e),
    }
}

async fn webhook(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(sig) = headers
        .get(webhooks::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match webhooks::construct_event(&body, sig, &s.webhook_secret) {
        Ok(event) => {
            let about = match event.object() {
                EventObject::Reward(r) => format!("reward {} ({})", r.id, r.status),
                EventObject::Campaign(c) => format!("campaign {} ({})", c.id, c.status),
                _ => "other".to_owned(),
            };
            tracing::info!(event_id = %event.id, event_type = %event.event_type, %about, "webhook received");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "webhook rejected");
            StatusCode::BAD_REQUEST.into_response()
        }
    }
}

/// Body of `POST /workouts/complete`.
#[derive(Debug, Deserialize)]
pub struct WorkoutDone {
    /// The app's id for the workout: it makes the report idempotent, so the app may retry.
    pub workout_id: String,
    /// The device's platform (`Android`, `iOS`, `FireOS`, `Web`).
    #[serde(default)]
    pub device_type: Option<String>,
    /// A stable install id, for fraud controls.
    #[serde(default)]
    pub device_id: Option<String>,
}

async fn workout_complete(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(w): Json<WorkoutDone>,
) -> Response {
    let Some(user) = user_id(&headers) else {
        return login_required();
    };
    let device = DeviceType::from(w.device_type.as_deref().unwrap_or("Web"));
    let mut req = TriggerRequest::new(&s.campaign_id, "first_workout", device)
        .customer(&user, &s.marketplace);
    if let Some(d) = &w.device_id {
        req = req.device_id(d);
    }
    // One key per workout: a retried report of the same workout never earns a second reward.
    let opts = RequestOptions::new().idempotency_key(format!("workout:{user}:{}", w.workout_id));
    match s.client.moments().with_options(opts).trigger(&req).await {
        Ok(o) => {
            tracing::info!(user = %user, outcome = %o.result.outcome, replayed = o.replayed, "workout reported");
            let body = match o.result.outcome {
                Outcome::Reward => {
                    json!({"outcome": "reward", "reward_url": o.reward().map(|r| r.url.clone()),
                                          "replayed": o.replayed})
                }
                Outcome::Progress => {
                    json!({"outcome": "progress", "current": o.progress().map(|p| p.current),
                                            "target": o.progress().map(|p| p.target)})
                }
                other => json!({"outcome": other.as_str()}),
            };
            Json(body).into_response()
        }
        Err(e) => upstream_error(e),
    }
}
