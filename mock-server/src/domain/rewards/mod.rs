//! Rewards: statuses, expiry with refund, shipping on the clock, cancel, lists, progress.

pub mod record;
pub mod redemption;
pub mod render;

use axum::Json;
use axum::extract::{Path, State as S};
use chrono::{DateTime, Duration, Utc};

use crate::app::AppState;
use crate::domain::errors::{ApiError, ApiResult, ErrorEnvelope};
use crate::domain::model::*;
use crate::domain::sandbox::{DueKind, RewardRec, State};
use crate::http::auth::{Auth, Principal, SecretAuth, TokenFact};
use crate::http::extract::QueryMap;
use crate::http::pagination::{List, page};

impl State {
    /// Refunds an unredeemed reward's cost and releases its stock reservation.
    pub fn refund_reward(&mut self, id: &str) {
        let Some(r) = self.rewards.get_mut(id) else {
            return;
        };
        if r.refunded || r.test {
            return;
        }
        r.refunded = true;
        let (issue, month) = (r.issue.clone(), r.charged_month.clone());
        let reserved = r.reserved_item.take();
        let (acct, cmp, cost, market) = (
            &issue.account_id,
            &issue.campaign_id,
            issue.cost.amount,
            &issue.marketplace,
        );
        self.ledger.refund(acct, cmp, &month, cost);
        if let Some(item) = reserved {
            self.catalog.adjust_stock(&item, market, 1);
        }
    }

    /// Expires a reward that is still unredeemed at `at`.
    pub fn expire_reward(&mut self, id: &str, at: DateTime<Utc>) {
        let Some(r) = self.rewards.get_mut(id) else {
            return;
        };
        if !matches!(r.status, RewardStatus::Issued | RewardStatus::Flagged) || r.expires_at > at {
            return;
        }
        r.status = RewardStatus::Expired;
        r.later_mut().expired_at = Some(at);
        self.refund_reward(id);
        self.emit_reward(id, "reward.expired", at);
    }

    /// Ships a redeemed physical reward.
    pub fn ship_reward(&mut self, id: &str, at: DateTime<Utc>) {
        let Some(r) = self.rewards.get_mut(id) else {
            return;
        };
        if r.status != RewardStatus::Redeemed {
            return;
        }
        r.status = RewardStatus::Shipped;
        r.later_mut().shipped_at = Some(at);
        self.emit_reward(id, "reward.shipped", at);
    }

    /// Delivers a shipped reward.
    pub fn deliver_reward(&mut self, id: &str, at: DateTime<Utc>) {
        let Some(r) = self.rewards.get_mut(id) else {
            return;
        };
        if r.status != RewardStatus::Shipped {
            return;
        }
        r.status = RewardStatus::Delivered;
        r.later_mut().delivered_at = Some(at);
        self.emit_reward(id, "reward.delivered", at);
    }

    /// Schedules shipment (2 days) and delivery (5 days) after redemption.
    pub fn schedule_shipping(&mut self, id: &str, redeemed_at: DateTime<Utc>) {
        self.schedule(redeemed_at + Duration::days(2), DueKind::Ship(id.into()));
        self.schedule(redeemed_at + Duration::days(5), DueKind::Deliver(id.into()));
    }

    /// A reward visible to the caller, or 404.
    pub fn visible_reward(&self, p: &Principal, id: &str) -> ApiResult<&RewardRec> {
        let r = self
            .rewards
            .get(id)
            .filter(|r| *r.issue.app_id == *p.app_id())
            .ok_or_else(|| ApiError::not_found("reward", id))?;
        // A test reward serves every customer of its reward group (one marketplace); anything else
        // is read by its own customer only.
        let own = match p {
            Principal::Secret { .. } => true,
            Principal::Customer {
                customer_id,
                marketplace,
                ..
            } => {
                if r.test {
                    *r.issue.marketplace == **marketplace
                } else {
                    r.customer_id.as_deref() == Some(customer_id.as_str())
                }
            }
        };
        if !own {
            return Err(ApiError::not_found("reward", id));
        }
        Ok(r)
    }

    /// Cancels an issued or flagged reward and refunds it.
    pub fn cancel_reward(&mut self, app_id: &str, id: &str) -> ApiResult<Reward> {
        let now = self.now();
        let r = self
            .rewards
            .get(id)
            .filter(|r| *r.issue.app_id == *app_id)
            .ok_or_else(|| ApiError::not_found("reward", id))?;
        if !matches!(r.status, RewardStatus::Issued | RewardStatus::Flagged) || r.test {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "reward_not_cancellable",
                "Only an issued or flagged reward can be cancelled.",
            )
            .param("status"));
        }
        let r = self.rewards.get_mut(id).expect("checked");
        r.status = RewardStatus::Cancelled;
        r.later_mut().cancelled_at = Some(now);
        if let Some((_, rev)) = self.reviews.get_mut(id)
            && rev.decision == "held"
        {
            rev.decision = "blocked".into();
            rev.decided_at = Some(now);
        }
        self.refund_reward(id);
        Ok(self.rewards[id].view(&self.base_url))
    }
}

/// `GET /v1/rewards`
#[utoipa::path(get, path = "/v1/rewards", tag = "rewards",
    params(("campaign_id" = Option<String>, Query), ("moment_id" = Option<String>, Query), ("customer_id" = Option<String>, Query),
           ("status" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = RewardList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn list(
    S(app): S<AppState>,
    Auth(p): Auth,
    q: QueryMap,
) -> ApiResult<Json<List<Reward>>> {
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let status: Option<RewardStatus> = match q.get("status") {
        None => None,
        Some(s) => Some(
            serde_json::from_value(serde_json::Value::String(s.into()))
                .map_err(|_| ApiError::validation("status", "Unknown reward status."))?,
        ),
    };
    let customer = p
        .scoped(TokenFact::Customer, "customer_id", q.get("customer_id"))?
        .map(str::to_string);
    let (cmp, moment) = (q.get("campaign_id"), q.get("moment_id"));
    let g = app.lock();
    let it = g
        .reward_order
        .iter()
        .rev()
        .filter_map(|id| g.rewards.get(id))
        .filter(|r| {
            *r.issue.app_id == *p.app_id()
                && cmp.is_none_or(|c| &*r.issue.campaign_id == c)
                && moment.is_none_or(|m| &*r.issue.moment_id == m)
                && customer
                    .as_deref()
                    .is_none_or(|c| r.customer_id.as_deref() == Some(c))
                && status.is_none_or(|s| r.status == s)
        });
    Ok(Json(page(
        it.map(|r| (r.seq, r.view(&g.base_url))),
        cursor,
        limit,
    )))
}

/// `GET /v1/rewards/{id}`
#[utoipa::path(get, path = "/v1/rewards/{id}", tag = "rewards", params(("id" = String, Path)),
    responses((status = 200, body = Reward), (status = "4XX", body = ErrorEnvelope)))]
pub async fn get(
    S(app): S<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Reward>> {
    let mut g = app.lock_yielding().await;
    let r = g.visible_reward(&p, &id)?;
    match &p {
        // A test reward read with a token names the token's customer, as its trigger answered.
        Principal::Customer {
            customer_id,
            segment,
            ..
        } if r.test => {
            let r = r.clone();
            let r = g.test_reward_for(&r, Some(customer_id), segment.as_deref(), None);
            Ok(Json(r.view(&g.base_url)))
        }
        _ => Ok(Json(r.view(&g.base_url))),
    }
}

/// `POST /v1/rewards/{id}/cancel`
#[utoipa::path(post, path = "/v1/rewards/{id}/cancel", tag = "rewards", params(("id" = String, Path)),
    responses((status = 200, body = Reward), (status = "4XX", body = ErrorEnvelope)))]
pub async fn cancel(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Reward>> {
    let mut g = app.lock();
    g.cancel_reward(p.app_id(), &id).map(Json)
}

/// `GET /v1/customers/{customer_id}/progress`
#[utoipa::path(get, path = "/v1/customers/{customer_id}/progress", tag = "progress",
    params(("customer_id" = String, Path), ("campaign_id" = Option<String>, Query)),
    responses((status = 200, body = ProgressList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn progress(
    S(app): S<AppState>,
    Auth(p): Auth,
    Path(customer): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<List<Progress>>> {
    // `me` is the token's customer; any other id must be it.
    let named = (customer != "me").then_some(customer.as_str());
    let customer = p
        .scoped(TokenFact::Customer, "customer_id", named)?
        .unwrap_or(customer.as_str())
        .to_string();
    let g = app.lock();
    let now = g.now();
    let mut out = Vec::new();
    let mut camps: Vec<_> = g
        .campaigns
        .values()
        .filter(|c| c.c.app_id == p.app_id())
        .collect();
    camps.sort_by_key(|c| c.seq);
    for c in camps {
        if q.get("campaign_id").is_some_and(|id| id != c.c.id) {
            continue;
        }
        for m in &c.c.moments {
            let Some(goal) = &m.goal else { continue };
            let key = (c.c.id.clone(), m.id.clone(), customer.clone());
            if let Some(standing) = g.goals.standing(&key, goal, now) {
                out.push(standing.progress(key, goal));
            }
        }
    }
    Ok(Json(List {
        object: "list",
        has_more: false,
        next_cursor: None,
        data: out,
    }))
}
