//! `POST /v1/triggers`: validates the wire request, runs the domain's trigger pipeline and answers.

use axum::Json;
use axum::extract::{ConnectInfo, State as S};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::domain::errors::ApiResult;
use crate::domain::journal::Attribution;
use crate::domain::model::*;
use crate::domain::sandbox::RewardRec;
use crate::domain::trigger;
use crate::domain::trigger::{Outcome, validate_trigger};
use crate::http::auth::Auth;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::JsonBody;
use crate::http::layers::idempotency::{self, Answer};
use crate::http::layers::journal::{OccurredAt, Touched};

/// `POST /v1/triggers`
#[utoipa::path(post, path = "/v1/triggers", tag = "triggers", request_body = Trigger,
    params(("Idempotency-Key" = String, Header, description = "Required: 1–255 printable ASCII characters")),
    responses((status = 200, body = TriggerResult), (status = "4XX", body = ErrorEnvelope)))]
pub async fn trigger(
    S(app): S<AppState>,
    Auth(p): Auth,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    ticket: Option<axum::Extension<idempotency::Ticket>>,
    JsonBody(b): JsonBody<Trigger>,
) -> ApiResult<Response> {
    let input = validate_trigger(&p, &b, peer.map(|c| c.0.0.ip()))?;
    let mut g = app.lock();
    let outcome = trigger::run_trigger(&mut g, &input)?;
    let mut resp = match outcome {
        Outcome::Reward(id) => {
            // A copy of the record (a few reference counts) is written out after the lock is released.
            let mut r = RewardRec::clone(&g.rewards[&id]);
            if r.test {
                r = trigger::test_reward_for(
                    &mut g,
                    &r,
                    input.customer_id.as_deref(),
                    input.segment.as_deref(),
                    input.occurred_at,
                );
            }
            drop(g);
            let body = r.trigger_answer_json(&app.0.demo.base_url, r.status, r.flag.as_deref());
            // Stored under its key: a reference to the reward, rendered again on a replay (see
            // `idempotency::Answer`), instead of the answer's bytes. A test reward is shared by its
            // group's callers, so its answer (naming this caller) is stored as sent.
            if let Some(t) = &ticket {
                let replay = if r.test {
                    Answer::Bytes(Box::new(body.clone().into()))
                } else {
                    Answer::Reward {
                        status: r.status,
                        flag: r.flag.clone(),
                        id: id.clone(),
                    }
                };
                idempotency::store_now(&app, t, StatusCode::OK, replay);
            }
            let mut resp = (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response();
            if ticket.is_some() {
                resp.extensions_mut().insert(idempotency::Stored);
            }
            resp.extensions_mut().insert(Touched(Attribution {
                app_id: Some(r.issue.app_id.clone()),
                reward_id: Some(id),
            }));
            resp
        }
        Outcome::Progress(pr) => Json(TriggerResult {
            object: "trigger_result".into(),
            outcome: "progress".into(),
            campaign_id: input.campaign_id,
            moment_id: input.moment_id,
            customer_id: input.customer_id.unwrap_or_default(),
            reward: None,
            progress: Some(pr),
        })
        .into_response(),
    };
    if let Some(at) = input.occurred_at {
        resp.extensions_mut().insert(OccurredAt(at));
    }
    Ok(resp)
}
