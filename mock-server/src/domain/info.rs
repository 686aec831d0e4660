//! Reward info: announce a challenge, consume nothing.

use crate::domain::clock::month_of;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::*;
use crate::domain::sandbox::Sandbox;
use crate::domain::trigger::select;

/// Describes the reward a customer would get (consumes nothing).
#[allow(clippy::too_many_arguments)]
pub fn reward_info(
    sb: &Sandbox,
    app_id: &str,
    campaign_id: &str,
    moment_id: &str,
    marketplace: &str,
    segment: Option<&str>,
    group: Option<&str>,
    customer: Option<&str>,
) -> ApiResult<RewardInfo> {
    let rec = sb.campaigns.own(app_id, campaign_id)?;
    let c = &rec.c;
    let m = c
        .moments
        .iter()
        .find(|m| m.id == moment_id)
        .ok_or_else(|| ApiError::not_found("moment", moment_id))?;
    let sel = select(c, marketplace, segment, group, customer)?;
    let month = month_of(sb.now());
    let money_left = sb.ledger.remaining_count(
        &rec.account_id,
        &c.id,
        c.budget.amount,
        &month,
        sel.cost.amount,
    );
    let stock: i64 = sel
        .items
        .iter()
        .map(|i| sb.catalog.stock(i, marketplace).max(0))
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
        offer: sb.catalog.offer(&sel.items, marketplace),
        cost_per_action: sel.cost,
        goal: m.goal.clone(),
    })
}
