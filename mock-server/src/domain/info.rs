//! Reward info: announce a challenge, consume nothing.

use axum::Json;
use axum::extract::{Path, State as S};

use crate::domain::clock::month_of;
use crate::domain::errors::{ApiError, ApiResult, ErrorEnvelope};
use crate::domain::model::*;
use crate::domain::money::marketplace_currency;
use crate::domain::sandbox::State;
use crate::domain::trigger::select;
use crate::http::auth::{Auth, TokenFact};
use crate::http::extract::QueryMap;

impl State {
    /// Describes the reward a customer would get (consumes nothing).
    #[allow(clippy::too_many_arguments)]
    pub fn reward_info(
        &self,
        app_id: &str,
        campaign_id: &str,
        moment_id: &str,
        marketplace: &str,
        segment: Option<&str>,
        group: Option<&str>,
        customer: Option<&str>,
    ) -> ApiResult<RewardInfo> {
        let rec = self.own_campaign(app_id, campaign_id)?;
        let c = &rec.c;
        let m = c
            .moments
            .iter()
            .find(|m| m.id == moment_id)
            .ok_or_else(|| ApiError::not_found("moment", moment_id))?;
        let sel = select(c, marketplace, segment, group, customer)?;
        let month = month_of(self.now());
        let money_left = self.ledger.remaining_count(
            &rec.account_id,
            &c.id,
            c.budget.amount,
            &month,
            sel.cost.amount,
        );
        let stock: i64 = sel
            .items
            .iter()
            .map(|i| self.catalog.stock(i, marketplace).max(0))
            .sum();
        Ok(RewardInfo {
            object: "reward_info".into(),
            campaign_id: c.id.clone(),
            moment_id: m.id.clone(),
            campaign_status: c.status,
            reward_group_id: sel.group_id.clone(),
            variant_id: sel.variant_id.clone(),
            announcement_message: c.announcement_message.clone(),
            image_url: c.landing_image_url.clone(),
            campaign_end_at: c.end_at,
            remaining_reward_count: money_left.min(stock),
            offer: self.catalog.offer(&sel.items, marketplace),
            cost_per_action: sel.cost,
            goal: m.goal.clone(),
        })
    }
}

/// `GET /v1/campaigns/{id}/moments/{moment_id}/reward_info`
#[utoipa::path(get, path = "/v1/campaigns/{id}/moments/{moment_id}/reward_info", tag = "campaigns",
    params(("id" = String, Path), ("moment_id" = String, Path), ("marketplace" = Option<String>, Query), ("segment" = Option<String>, Query)),
    responses((status = 200, body = RewardInfo), (status = "4XX", body = ErrorEnvelope)))]
pub async fn reward_info(
    S(app): S<crate::app::AppState>,
    Auth(p): Auth,
    Path((id, moment)): Path<(String, String)>,
    q: QueryMap,
) -> ApiResult<Json<RewardInfo>> {
    // With a customer token the marketplace and segment are the token's; naming others is refused.
    let market = p
        .scoped(TokenFact::Marketplace, "marketplace", q.get("marketplace"))?
        .ok_or_else(|| ApiError::validation("marketplace", "`marketplace` is required."))?
        .to_owned();
    if marketplace_currency(&market).is_none() {
        return Err(ApiError::validation(
            "marketplace",
            "Unknown marketplace code.",
        ));
    }
    let segment = p
        .scoped(TokenFact::Segment, "segment", q.get("segment"))?
        .map(str::to_owned);
    if let Some(s) = &segment
        && !crate::http::auth::valid_label(s)
    {
        return Err(ApiError::validation(
            "segment",
            "Segments match ^[A-Za-z0-9_-]{1,64}$.",
        ));
    }
    let customer = p.customer().map(str::to_owned);
    let g = app.lock();
    g.reward_info(
        p.app_id(),
        &id,
        &moment,
        &market,
        segment.as_deref(),
        None,
        customer.as_deref(),
    )
    .map(Json)
}
