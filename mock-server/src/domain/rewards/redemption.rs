//! Redemption over JSON (the twin of the landing page); exactly one of concurrent redemptions wins.

use std::sync::Arc;

use http::StatusCode;

use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::ids;
use crate::domain::model::*;
use crate::domain::rewards;
use crate::domain::sandbox::Sandbox;

/// The reward id of a link token, or 404.
pub fn reward_by_link(sb: &Sandbox, token: &str) -> ApiResult<Arc<str>> {
    // The token's reward is found by the id derived from it (live rewards, then the test ones),
    // and must hold this very token.
    let found = crate::domain::ids::LinkToken::parse(token).and_then(|t| {
        ["rwd_", "rwd_test_"].iter().find_map(|prefix| {
            sb.rewards
                .get(t.reward_id(prefix).as_str())
                .filter(|r| r.token.ct_eq(&t))
                .map(|r| r.id.clone())
        })
    });
    found.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "This reward link is not valid.",
        )
    })
}

/// Refuses links that do not work (expired, cancelled, blocked, flagged); `allow_redeemed` for views.
pub fn check_link(sb: &Sandbox, id: &str, allow_redeemed: bool) -> ApiResult<()> {
    let r = &sb.rewards[id];
    let now = sb.now();
    match r.status {
        s if s.is_redeemed() && !allow_redeemed => Err(ApiError::new(
            StatusCode::CONFLICT,
            "reward_already_redeemed",
            "This reward was already redeemed.",
        )),
        RewardStatus::Expired => Err(ApiError::new(
            StatusCode::GONE,
            "reward_expired",
            "This reward expired.",
        )),
        RewardStatus::Issued if r.expires_at <= now => Err(ApiError::new(
            StatusCode::GONE,
            "reward_expired",
            "This reward expired.",
        )),
        RewardStatus::Cancelled | RewardStatus::Blocked => Err(ApiError::new(
            StatusCode::CONFLICT,
            "reward_not_redeemable",
            "This reward was cancelled and can no longer be redeemed.",
        )),
        RewardStatus::Flagged => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "flagged_for_review",
            "This reward is held for review; its link works once it is released.",
        )),
        _ => Ok(()),
    }
}

/// The JSON view of a reward link.
pub fn redemption_view(sb: &Sandbox, id: &str) -> Redemption {
    let r = &sb.rewards[id];
    let offer = &r.issue.offer;
    let camp = sb.campaigns.get(&r.issue.campaign_id).map(|c| &c.c);
    let chosen = r
        .later()
        .chosen_item
        .as_ref()
        .and_then(|i| offer.items.iter().find(|o| *o.item_id == **i))
        .cloned();
    let requires_shipping = match &chosen {
        Some(c) => c.kind == ItemKind::Physical,
        None => offer.items.iter().any(|o| o.kind == ItemKind::Physical),
    };
    Redemption {
        object: "redemption".into(),
        reward_id: r.id.to_string(),
        status: r.status,
        brand_name: camp.map(|c| c.brand_name.clone()).unwrap_or_default(),
        redemption_message: camp
            .map(|c| c.redemption_message.clone())
            .unwrap_or_default(),
        image_url: camp.and_then(|c| c.landing_image_url.clone()),
        expires_at: r.expires_at,
        choices: offer.items.clone(),
        requires_shipping,
        redeemed_item: chosen,
        digital_code: r.later().digital_code.clone(),
    }
}

/// Redeems a link (atomic under the state lock).
pub fn redeem(sb: &mut Sandbox, token: &str, req: RedeemRequest) -> ApiResult<Redemption> {
    let id = reward_by_link(sb, token)?;
    check_link(sb, &id, false)?;
    let now = sb.now();
    let rec = &sb.rewards[&*id];
    let choice = rec
        .issue
        .offer
        .items
        .iter()
        .find(|o| o.item_id == req.item_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::validation("item_id", "`item_id` is not one of this reward's choices.")
        })?;
    if choice.kind == ItemKind::Physical {
        let a = req.shipping_address.as_ref().ok_or_else(|| {
            ApiError::validation(
                "shipping_address",
                "A shipping address is required for a physical item.",
            )
        })?;
        for (v, f) in [
            (&a.name, "name"),
            (&a.line1, "line1"),
            (&a.city, "city"),
            (&a.postal_code, "postal_code"),
            (&a.country, "country"),
        ] {
            if v.trim().is_empty() || v.chars().count() > 200 {
                return Err(ApiError::validation(
                    format!("shipping_address.{f}"),
                    format!("`{f}` must be 1–200 characters."),
                ));
            }
        }
    }
    let digital = matches!(choice.kind, ItemKind::Digital | ItemKind::Credit).then(|| {
        let mut b = [0u8; 8];
        ids::random_bytes(&mut b);
        hex::encode_upper(b)
    });
    if rec.test {
        // A test reward "redeems" without consuming anything.
        let mut v = redemption_view(sb, &id);
        v.status = RewardStatus::Redeemed;
        v.redeemed_item = Some(choice);
        v.digital_code = digital.map(|_| "TEST-CODE-0000".to_string());
        return Ok(v);
    }
    let market = rec.issue.marketplace.clone();
    let reserved = rec.reserved_item.clone();
    if reserved.as_deref() != Some(choice.item_id.as_str()) {
        if sb.catalog.stock(&choice.item_id, &market) <= 0 {
            return Err(ApiError::unprocessable(
                "inventory_exhausted",
                "This item is out of stock; choose another.",
            ));
        }
        sb.catalog.adjust_stock(&choice.item_id, &market, -1);
        if let Some(old) = &reserved {
            sb.catalog.adjust_stock(old, &market, 1);
        }
    }
    let item: Arc<str> = Arc::from(choice.item_id.as_str());
    sb.rewards
        .update(&id, |r| {
            r.reserved_item = Some(item.clone());
            r.status = RewardStatus::Redeemed;
            let later = r.later_mut();
            later.chosen_item = Some(item);
            later.shipping = req.shipping_address;
            later.digital_code = digital;
            later.redeemed_at = Some(now);
        })
        .expect("exists");
    if choice.kind == ItemKind::Physical {
        rewards::schedule_shipping(sb, &id, now);
    }
    sb.emit_reward(&id, "reward.redeemed", now);
    Ok(redemption_view(sb, &id))
}
