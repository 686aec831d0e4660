//! Rewards: the signed-in app's rewards, filtered and paginated as `GET /v1/rewards` lists them; a
//! reward's timeline; its actions (cancel; release or block in the fraud review queue) through the
//! domain functions the API calls.

use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::ConsoleState;
use super::layout::{self, Flash, Section};
use super::session::Console;
use crate::domain::errors::ApiError;
use crate::domain::fraud::reviews;
use crate::domain::model::{FraudReview, Reward, RewardStatus};
use crate::domain::rewards::{self, RewardFilter};
use crate::http::pagination::{decode_cursor, page};

/// Rewards per page of the list.
pub const PAGE_SIZE: usize = 50;

/// Every reward status, as the API names it.
pub const STATUSES: [RewardStatus; 8] = [
    RewardStatus::Issued,
    RewardStatus::Flagged,
    RewardStatus::Redeemed,
    RewardStatus::Shipped,
    RewardStatus::Delivered,
    RewardStatus::Expired,
    RewardStatus::Cancelled,
    RewardStatus::Blocked,
];

/// The API's name of a status.
pub fn status_name(s: RewardStatus) -> &'static str {
    match s {
        RewardStatus::Issued => "issued",
        RewardStatus::Redeemed => "redeemed",
        RewardStatus::Shipped => "shipped",
        RewardStatus::Delivered => "delivered",
        RewardStatus::Expired => "expired",
        RewardStatus::Cancelled => "cancelled",
        RewardStatus::Flagged => "flagged",
        RewardStatus::Blocked => "blocked",
    }
}

/// The reward pages' routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/rewards", get(list))
        .route("/console/rewards/{id}", get(show))
        .route("/console/rewards/{id}/cancel", post(cancel))
        .route("/console/rewards/{id}/release", post(release))
        .route("/console/rewards/{id}/block", post(block))
}

/// The list's filters, as its form sends them (empty fields are absent).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListParams {
    /// A status.
    pub status: Option<String>,
    /// A campaign.
    pub campaign_id: Option<String>,
    /// A moment.
    pub moment_id: Option<String>,
    /// A customer.
    pub customer_id: Option<String>,
    /// Where the page starts (a cursor of the API's kind).
    pub cursor: Option<String>,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ListParams {
    fn status(&self) -> Option<RewardStatus> {
        given(&self.status).and_then(|s| STATUSES.into_iter().find(|x| status_name(*x) == s))
    }

    fn filter(&self) -> RewardFilter<'_> {
        RewardFilter {
            campaign_id: given(&self.campaign_id),
            moment_id: given(&self.moment_id),
            customer_id: given(&self.customer_id),
            status: self.status(),
        }
    }

    /// The query string of these filters starting at `cursor`.
    fn at(&self, cursor: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("campaign_id", &self.campaign_id),
            ("moment_id", &self.moment_id),
            ("customer_id", &self.customer_id),
        ] {
            if let Some(v) = given(v) {
                q.append_pair(k, v);
            }
        }
        q.append_pair("cursor", cursor);
        q.finish()
    }
}

/// `GET /console/rewards`: the filter form and one page of rewards, newest first.
async fn list(c: Console, Query(p): Query<ListParams>) -> Response {
    let cursor = match given(&p.cursor).map(decode_cursor).transpose() {
        Ok(cursor) => cursor,
        Err(e) => return layout::api_error_page(&e),
    };
    // As the API: a status it does not know is refused, not read as "any status".
    if given(&p.status).is_some() && p.status().is_none() {
        return layout::api_error_page(&ApiError::validation("status", "Unknown reward status."));
    }
    let (rows, moments) = {
        let g = c.app.lock();
        let moments: Vec<(String, String)> = g
            .campaigns
            .of_app(c.app_id())
            .iter()
            .flat_map(|r| r.c.moments.iter().map(|m| m.id.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|m| (m.clone(), m))
            .collect();
        let it = rewards::list_of(&g, c.app_id(), p.filter()).map(|r| (r.seq, r.view(&g.base_url)));
        (page(it, cursor, PAGE_SIZE), moments)
    };
    let none = layout::FormErrors::default();
    let mut status_opts = vec![(String::new(), "Any status".to_owned())];
    status_opts.extend(
        STATUSES
            .iter()
            .map(|s| (status_name(*s).to_owned(), status_name(*s).to_owned())),
    );
    let mut moment_opts = vec![(String::new(), "Any moment".to_owned())];
    moment_opts.extend(moments);
    let body = html! {
        h1 { "Rewards" }
        form method="get" action="/console/rewards" class="filters" {
            div class="grid" {
                (layout::select(&none, "Status", "status", &status_opts, given(&p.status).unwrap_or("")))
                (layout::select(&none, "Moment", "moment_id", &moment_opts, given(&p.moment_id).unwrap_or("")))
                (layout::input(&none, "Customer", "customer_id", given(&p.customer_id).unwrap_or(""), "text"))
                (layout::input(&none, "Campaign id", "campaign_id", given(&p.campaign_id).unwrap_or(""), "text"))
            }
            div class="actions" { button type="submit" { "Filter" } a href="/console/rewards" { "Clear filters" } }
        }
        // The live region updated by htmx every few seconds, and a reload without script.
        div id="reward-list" hx-get={ "/console/rewards?" (p.at(given(&p.cursor).unwrap_or(""))) }
            hx-trigger="every 2s" hx-select="#reward-list" hx-swap="outerHTML" {
            (reward_table(&rows.data))
            @if rows.data.is_empty() { p class="muted" { "No rewards match." } }
            @if let Some(next) = &rows.next_cursor {
                p { a href={ "/console/rewards?" (p.at(next)) } rel="next" { "Older rewards" } }
            }
        }
    };
    layout::page(&c, Section::Rewards, "Rewards", body)
}

fn reward_table(rows: &[Reward]) -> Markup {
    html! {
        div class="table-wrap" {
            table id="rewards" {
                thead { tr {
                    th scope="col" { "Reward" } th scope="col" { "Status" } th scope="col" { "Customer" }
                    th scope="col" { "Moment" } th scope="col" { "Marketplace" } th scope="col" { "Campaign" }
                    th scope="col" { "Issued" } th scope="col" class="num" { "Cost" }
                } }
                tbody {
                    @for r in rows {
                        tr data-reward=(r.id) {
                            td { a href={ "/console/rewards/" (r.id) } { code { (r.id) } } }
                            td { span class={ "status status-" (status_name(r.status)) } { (status_name(r.status)) } }
                            td { (r.customer_id.as_deref().unwrap_or("–")) }
                            td { (r.moment_id) }
                            td { (r.marketplace) }
                            td { a href={ "/console/campaigns/" (r.campaign_id) } { (r.campaign_id) } }
                            td { (time(r.created_at)) }
                            td class="num" { (layout::dollars(r.cost.amount)) }
                        }
                    }
                }
            }
        }
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// One event of a reward's life.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// What happened (`issued`, `flagged`, `released`, `blocked`, `redeemed`, …).
    pub what: &'static str,
    /// When.
    pub at: DateTime<Utc>,
    /// More about it (the flag's reason, the item chosen).
    pub note: Option<String>,
}

/// A reward's timeline, oldest first: issued, flagged and the review's decision, redeemed, shipped,
/// delivered, expired, cancelled.
pub fn timeline(r: &Reward, review: Option<&FraudReview>) -> Vec<Step> {
    let step = |what, at: Option<DateTime<Utc>>, note: Option<String>| {
        at.map(|at| Step { what, at, note })
    };
    let mut steps: Vec<Step> = [
        step("issued", Some(r.created_at), None),
        step(
            "flagged",
            r.flag
                .as_ref()
                .map(|_| review.map_or(r.created_at, |v| v.created_at)),
            r.flag.as_ref().map(|f| f.reason_code.clone()),
        ),
        r.flag.as_ref().and_then(|f| match f.decision.as_str() {
            "released" => step("released", f.decided_at, None),
            "blocked" => step("blocked", f.decided_at, None),
            _ => None,
        }),
        step("redeemed", r.redeemed_at, None),
        step("shipped", r.shipped_at, None),
        step("delivered", r.delivered_at, None),
        step("expired", r.expired_at, None),
        step("cancelled", r.cancelled_at, None),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Stable: events at the same instant keep the order above.
    steps.sort_by_key(|s| s.at);
    steps
}

/// `GET /console/rewards/{id}`: the reward, its timeline and the actions its status allows.
async fn show(c: Console, Path(id): Path<String>) -> Response {
    let found = {
        let g = c.app.lock();
        rewards::visible_reward(&g, &c.principal, &id).map(|r| {
            let review = g.reviews.get(&id).cloned();
            let actions = Actions {
                cancel: rewards::cancellable(r),
                release: review.as_ref().is_some_and(|v| reviews::releasable(v, r)),
                block: review.is_some() && reviews::blockable(r),
            };
            (r.view(&g.base_url), review, actions)
        })
    };
    let (r, review, actions) = match found {
        Ok(found) => found,
        Err(e) => return layout::api_error_page(&e),
    };
    let steps = timeline(&r, review.as_ref());
    let base = format!("/console/rewards/{}", r.id);
    let body = html! {
        p { a href="/console/rewards" { "← Rewards" } }
        h1 { "Reward " code { (r.id) } }
        p { "Status: " span id="reward-status" class={ "status status-" (status_name(r.status)) } { (status_name(r.status)) }
            @if r.test { " (test reward)" } }
        div class="actions" {
            @if actions.cancel { (layout::action_button(&c, &format!("{base}/cancel"), "Cancel reward", "danger")) }
            @if actions.release { (layout::action_button(&c, &format!("{base}/release"), "Release (fraud review)", "secondary")) }
            @if actions.block { (layout::action_button(&c, &format!("{base}/block"), "Block (fraud review)", "danger")) }
        }
        h2 { "Timeline" }
        ol class="timeline" id="timeline" {
            @for s in &steps {
                li data-step=(s.what) {
                    strong { (s.what) } " "
                    time datetime=(s.at.to_rfc3339()) { (time(s.at)) }
                    @if let Some(n) = &s.note { " – " (n) }
                }
            }
        }
        h2 { "Details" }
        dl class="details" {
            dt { "Campaign" } dd { a href={ "/console/campaigns/" (r.campaign_id) } { (r.campaign_id) } }
            dt { "Moment" } dd { (r.moment_id) }
            dt { "Customer" } dd { (r.customer_id.as_deref().unwrap_or("–")) }
            dt { "Marketplace" } dd { (r.marketplace) }
            dt { "Segment" } dd { (r.segment.as_deref().unwrap_or("–")) }
            dt { "Variant" } dd { (r.variant_id.as_deref().unwrap_or("–")) }
            dt { "Device" } dd { (format!("{:?}", r.device_type)) }
            dt { "Cost" } dd { (layout::dollars(r.cost.amount)) }
            dt { "Expires" } dd { (time(r.expires_at)) }
            dt { "Link" } dd { a href=(r.url) { "Landing page" } }
        }
        h3 { "Offer" }
        ul {
            @for item in &r.offer.items {
                li { (item.title) " " span class="muted" { "(" (item.item_id) ")" } }
            }
        }
        @if let Some(v) = &review {
            h3 { "Fraud review" }
            p { "Reason " code { (v.reason_code) } ", decision " strong { (v.decision) } }
        }
    };
    layout::page(&c, Section::Rewards, &format!("Reward {}", r.id), body)
}

/// The actions a reward's status allows.
struct Actions {
    cancel: bool,
    release: bool,
    block: bool,
}

/// Runs a reward action and goes back to the reward, with its outcome as the flash message.
fn act(c: &Console, id: &str, done: &str, result: Result<(), ApiError>) -> Response {
    c.flash(match result {
        Ok(()) => Flash::notice(done),
        Err(e) => Flash::error(format!("{} ({})", e.message, e.code)),
    });
    layout::redirect(&format!("/console/rewards/{}", urlencode(id)))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `POST /console/rewards/{id}/cancel`: as `POST /v1/rewards/{id}/cancel`.
async fn cancel(c: Console, Path(id): Path<String>) -> Response {
    let r = rewards::cancel_reward(&mut c.app.lock(), c.app_id(), &id).map(|_| ());
    act(&c, &id, "Reward cancelled; its cost was refunded.", r)
}

/// `POST /console/rewards/{id}/release`: as `POST /v1/fraud_reviews/{id}/release`.
async fn release(c: Console, Path(id): Path<String>) -> Response {
    let r = reviews::release(&mut c.app.lock(), c.app_id(), &id).map(|_| ());
    act(&c, &id, "Reward released: its link works.", r)
}

/// `POST /console/rewards/{id}/block`: as `POST /v1/fraud_reviews/{id}/block`.
async fn block(c: Console, Path(id): Path<String>) -> Response {
    let r = reviews::block(&mut c.app.lock(), c.app_id(), &id).map(|_| ());
    act(&c, &id, "Reward blocked; its cost was refunded.", r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_api_name() {
        for s in STATUSES {
            let api = serde_json::to_value(s).expect("serializes");
            assert_eq!(api.as_str(), Some(status_name(s)));
        }
    }

    #[test]
    fn the_filters_keep_their_values_across_pages() {
        let p = ListParams {
            status: Some("redeemed".into()),
            customer_id: Some("a b&c".into()),
            moment_id: Some(String::new()),
            ..ListParams::default()
        };
        assert_eq!(p.status(), Some(RewardStatus::Redeemed));
        assert_eq!(
            p.at("YzE6MTA"),
            "status=redeemed&customer_id=a+b%26c&cursor=YzE6MTA"
        );
        let f = p.filter();
        assert_eq!((f.customer_id, f.moment_id), (Some("a b&c"), None));
        let unknown = ListParams {
            status: Some("lost".into()),
            ..ListParams::default()
        };
        assert_eq!(unknown.status(), None);
    }
}
