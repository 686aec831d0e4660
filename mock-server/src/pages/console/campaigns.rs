//! Campaigns: the list (status, dates, spend this month), a campaign's page (the lifecycle actions
//! its status allows, this month's budget as a gauge, the landing page preview, reward info per
//! marketplace) and the create and edit form (`campaign_form`). Every change is the API's own call.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::ConsoleState;
use super::campaign_form;
use super::form::FormData;
use super::layout::{self, Flash, FormErrors, Section};
use super::session::Console;
use crate::domain::campaigns::{self, ACTIONS};
use crate::domain::clock::month_of;
use crate::domain::info::reward_info;
use crate::domain::ledger::{ACCOUNT_CAP, CAMPAIGN_CAP};
use crate::domain::model::*;

/// The campaign pages' routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/campaigns", get(list).post(create))
        .route("/console/campaigns/new", get(new_form).post(create))
        .route("/console/campaigns/{id}", get(show))
        .route("/console/campaigns/{id}/edit", get(edit_form).post(update))
        .route("/console/campaigns/{id}/actions/{action}", post(act))
}

fn status_badge(s: CampaignStatus) -> Markup {
    html! { span class={ "status status-" (s.as_str()) } { (s.as_str()) } }
}

async fn list(c: Console) -> Response {
    let rows: Vec<Campaign> = {
        let g = c.app.lock();
        g.campaigns
            .of_app(c.app_id())
            .iter()
            .rev()
            .filter_map(|r| campaigns::campaign_view(&g, &r.c.id))
            .collect()
    };
    let body = html! {
        h1 { "Campaigns" }
        p { a href="/console/campaigns/new" { "New campaign" } }
        @if rows.is_empty() {
            p { "No campaign yet." }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="muted" { "Newest first; spend is this month's (UTC), net of refunds." }
                    thead { tr { th { "Name" } th { "Status" } th { "Starts" } th { "Ends" } th class="num" { "Spent this month" } th class="num" { "Budget" } } }
                    tbody {
                        @for k in &rows {
                            tr {
                                td { a href={ "/console/campaigns/" (k.id) } { (k.name) } br; code class="muted" { (k.id) } }
                                td { (status_badge(k.status)) }
                                td { (k.start_at.format("%Y-%m-%d %H:%M")) }
                                td { (k.end_at.format("%Y-%m-%d %H:%M")) }
                                td class="num" { (layout::dollars(k.spend.spent.amount)) }
                                td class="num" { (layout::dollars(k.budget.amount)) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(&c, Section::Campaigns, "Campaigns", body)
}

fn action_label(a: &str) -> &'static str {
    match a {
        "submit" => "Submit for approval",
        "approve" => "Approve (as the reviewer)",
        "reject" => "Reject (as the reviewer)",
        "pause" => "Pause",
        "resume" => "Resume",
        _ => "End",
    }
}

/// This month's budget as a gauge, in three bars: the campaign's net spend, refunds and what remains
/// against its budget; the budget against the $5,000 campaign cap; the account's net spend against
/// the $15,000 cap. Any amount above zero stays visible (at least 2 px).
fn gauge(spent: i64, refunded: i64, budget: i64, account_spent: i64) -> Markup {
    const W: f64 = 560.0;
    let x = |cents: i64, of: i64| {
        if cents <= 0 || of <= 0 {
            0.0
        } else {
            (cents.min(of) as f64 / of as f64 * W).round().max(2.0)
        }
    };
    let spent_w = x(spent, budget);
    let label = format!(
        "Spent {} of a {} budget ({} remaining, {} refunded); the budget against the {} campaign cap; the account spent {} of its {} cap",
        layout::dollars(spent),
        layout::dollars(budget),
        layout::dollars((budget - spent).max(0)),
        layout::dollars(refunded),
        layout::dollars(CAMPAIGN_CAP),
        layout::dollars(account_spent),
        layout::dollars(ACCOUNT_CAP)
    );
    html! {
        svg class="gauge" viewBox="0 0 600 170" role="img" aria-label=(label) {
            title { (label) }
            text x="0" y="14" font-size="13" fill="#1b1f24" { "Against the budget (" (layout::dollars(budget)) ")" }
            rect x="0" y="20" width=(W) height="24" fill="#d0d7de" {}
            rect x="0" y="20" width=(spent_w) height="24" fill="#0b5cad" {}
            rect x="0" y="48" width=(x(refunded, budget)) height="8" fill="#9a6700" {}
            text x="0" y="84" font-size="13" fill="#1b1f24" { "The budget against the " (layout::dollars(CAMPAIGN_CAP)) " campaign cap" }
            rect x="0" y="90" width=(W) height="14" fill="#f6f8fa" stroke="#d0d7de" {}
            rect x="0" y="90" width=(x(budget, CAMPAIGN_CAP)) height="14" fill="#57606a" {}
            text x="0" y="134" font-size="13" fill="#1b1f24" { "The account's spend against the " (layout::dollars(ACCOUNT_CAP)) " cap" }
            rect x="0" y="140" width=(W) height="14" fill="#f6f8fa" stroke="#d0d7de" {}
            rect x="0" y="140" width=(x(account_spent, ACCOUNT_CAP)) height="14" fill="#0b5cad" {}
        }
        ul class="legend" {
            li { span class="swatch sw-spent" {} "spent (net)" }
            li { span class="swatch sw-remaining" {} "remaining budget" }
            li { span class="swatch sw-refunded" {} "refunded" }
        }
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    moment: Option<String>,
}

async fn show(c: Console, Path(id): Path<String>, Query(q): Query<ShowQuery>) -> Response {
    let g = c.app.lock();
    let rec = match g.campaigns.own(c.app_id(), &id) {
        Ok(r) => r,
        Err(e) => return layout::api_error_page(&e),
    };
    let now = g.now();
    let actions = campaigns::allowed_actions(rec, now);
    let k = campaigns::campaign_view(&g, &id).expect("exists");
    let month = month_of(now);
    let account = g.ledger.account(&rec.account_id, &month).net();
    let moment = q
        .moment
        .filter(|m| k.moments.iter().any(|x| &x.id == m))
        .or_else(|| k.moments.first().map(|m| m.id.clone()))
        .unwrap_or_default();
    let infos: Vec<(String, Result<RewardInfo, String>)> = k
        .marketplaces
        .iter()
        .map(|m| {
            let info = reward_info(&g, c.app_id(), &id, &moment, m, None, None, None)
                .map_err(|e| e.message);
            (m.clone(), info)
        })
        .collect();
    drop(g);
    let preview = infos.iter().find_map(|(m, i)| Some((m, i.as_ref().ok()?)));
    let body = html! {
        h1 { (k.name) " " (status_badge(k.status)) }
        dl class="facts" {
            dt { "Id" } dd { code { (k.id) } }
            dt { "Brand" } dd { (k.brand_name) }
            dt { "Runs" } dd { (k.start_at.format("%Y-%m-%d %H:%M UTC")) " – " (k.end_at.format("%Y-%m-%d %H:%M UTC")) }
            dt { "Cost per action" } dd { (layout::dollars(k.cost_per_action.amount)) }
            dt { "Marketplaces" } dd { (k.marketplaces.join(", ")) }
            @if let Some(r) = &k.rejection_reason { dt { "Rejected because" } dd { (r) } }
        }
        section aria-labelledby="act-h" {
            h2 id="act-h" { "Actions" }
            div class="actions" {
                @if campaigns::editable(k.status) {
                    a href={ "/console/campaigns/" (k.id) "/edit" } { "Edit" }
                }
                @for a in actions.iter().filter(|a| **a != "reject") {
                    (layout::action_button(&c, &format!("/console/campaigns/{}/actions/{a}", k.id), action_label(a), if *a == "end" { "danger" } else { "" }))
                }
            }
            @if actions.contains(&"reject") {
                form method="post" action={ "/console/campaigns/" (k.id) "/actions/reject" } {
                    (layout::csrf_field(&c))
                    (layout::input_with_error("Reason for the rejection", "reason", "", "text", None, false))
                    button type="submit" class="danger" { (action_label("reject")) }
                }
            }
            @if actions.is_empty() { p { "No lifecycle action applies to a " (k.status.as_str()) " campaign." } }
        }
        section aria-labelledby="budget-h" {
            h2 id="budget-h" { "Budget this month (" (k.spend.month) ")" }
            (gauge(k.spend.spent.amount, k.spend.refunded.amount, k.budget.amount, account))
            dl class="facts" {
                dt { "Spent (net)" } dd { (layout::dollars(k.spend.spent.amount)) }
                dt { "Refunded" } dd { (layout::dollars(k.spend.refunded.amount)) }
                dt { "Remaining" } dd { (layout::dollars(k.spend.remaining.amount)) }
                dt { "Budget" } dd { (layout::dollars(k.budget.amount)) }
                dt { "Campaign cap" } dd { (layout::dollars(CAMPAIGN_CAP)) }
                dt { "Account " code { (c.account_id()) } " spent" } dd { (layout::dollars(account)) " of " (layout::dollars(ACCOUNT_CAP)) }
            }
        }
        section aria-labelledby="info-h" {
            h2 id="info-h" { "Reward info per marketplace" }
            form method="get" action={ "/console/campaigns/" (k.id) } class="grid" {
                (layout::select(&FormErrors::default(), "Moment", "moment",
                    &k.moments.iter().map(|m| (m.id.clone(), m.name.clone().unwrap_or_else(|| m.id.clone()))).collect::<Vec<_>>(), &moment))
                div class="field" { span { "\u{a0}" } button type="submit" class="secondary" { "Show" } }
            }
            div class="table-wrap" {
                table {
                    thead { tr { th { "Marketplace" } th { "Group / variant" } th { "Announcement" } th { "Offer" } th class="num" { "Cost" } th class="num" { "Rewards left" } } }
                    tbody {
                        @for (m, info) in &infos {
                            tr {
                                td { (m) }
                                @match info {
                                    Ok(i) => {
                                        td { code { (i.reward_group_id) } @if let Some(v) = &i.variant_id { " / " code { (v) } } }
                                        td { (i.announcement_message) }
                                        td { ul { @for o in &i.offer.items { li { (o.title) " (" (o.value.to_string()) ")" } } } }
                                        td class="num" { (layout::dollars(i.cost_per_action.amount)) }
                                        td class="num" { (i.remaining_reward_count) }
                                    }
                                    Err(e) => { td colspan="5" { (e) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some((m, info)) = preview {
            section aria-labelledby="preview-h" {
                h2 id="preview-h" { "Landing page preview (" (m) ")" }
                div class="card preview" {
                    h3 { (k.brand_name) }
                    p { (k.redemption_message) }
                    @if let Some(img) = k.landing_image_url.as_deref().filter(|u| u.starts_with("https://")) {
                        img src=(img) alt=(k.brand_name);
                    }
                    fieldset disabled {
                        legend { "Choose your reward" }
                        @for (n, o) in info.offer.items.iter().enumerate() {
                            div class="field check" {
                                input type="radio" id={ "pv-" (n) } name="preview_item" checked[n == 0];
                                label for={ "pv-" (n) } { (o.title) " " small { "(value " (o.value.to_string()) ")" } }
                            }
                        }
                    }
                    p class="muted" { "A customer's reward link shows this page, with the items of their group." }
                }
            }
        }
        section aria-labelledby="def-h" {
            h2 id="def-h" { "Definition" }
            h3 { "Moments" }
            div class="table-wrap" { table {
                thead { tr { th { "Id" } th { "Name" } th { "Reported by" } th { "Goal" } th { "Frequency cap" } } }
                tbody { @for m in &k.moments { tr {
                    td { code { (m.id) } }
                    td { (m.name.as_deref().unwrap_or("—")) }
                    td { (if m.client_reportable { "app or server" } else { "server only" }) }
                    td { @if let Some(g) = &m.goal { (g.target) " in " (g.window_seconds) " s" } @else { "—" } }
                    td { @if let Some(f) = &m.frequency_cap { (f.max_rewards) " per " @if let Some(p) = f.period_seconds { (p) " s" } @else { "campaign" } } }
                } } }
            } }
            h3 { "Reward groups" }
            div class="table-wrap" { table {
                thead { tr { th { "Id" } th { "Marketplace" } th { "Segments" } th { "Items" } th { "Variants (weight)" } } }
                tbody { @for gr in &k.reward_groups { tr {
                    td { code { (gr.id) } }
                    td { (gr.marketplace) }
                    td { @if gr.segments.is_empty() { "default" } @else { (gr.segments.join(", ")) } }
                    td { (gr.items.join(", ")) }
                    td { (gr.variants.iter().map(|v| format!("{} ({})", v.id, v.weight)).collect::<Vec<_>>().join(", ")) }
                } } }
            } }
            h3 { "Fraud settings" }
            dl class="facts" {
                dt { "Actions per customer per hour" } dd { (k.fraud.max_actions_per_customer_per_hour.unwrap_or_default()) }
                dt { "Actions per device per hour" } dd { (k.fraud.max_actions_per_device_per_hour.unwrap_or_default()) }
                dt { "Actions per IP per hour" } dd { (k.fraud.max_actions_per_ip_per_hour.unwrap_or_default()) }
                dt { "Customers per device" } dd { (k.fraud.max_customers_per_device.unwrap_or_default()) }
                dt { "Reward expiry" } dd { (k.reward_expiry_seconds) " s" }
            }
        }
    };
    layout::page(&c, Section::Campaigns, &k.name, body)
}

fn form_page(
    c: &Console,
    title: &str,
    action: &str,
    f: &FormData,
    errors: &FormErrors,
    add: Option<&str>,
    status: StatusCode,
) -> Response {
    let (form, locked) = {
        let g = c.app.lock();
        // Editing an approved, live or suspended campaign: say which fields the API keeps.
        let editing = action
            .strip_prefix("/console/campaigns/")
            .and_then(|r| r.strip_suffix("/edit"));
        let locked = editing
            .and_then(|id| g.campaigns.own(c.app_id(), id).ok())
            .is_some_and(|r| {
                matches!(
                    r.c.status,
                    CampaignStatus::Approved | CampaignStatus::Live | CampaignStatus::Suspended
                )
            });
        (campaign_form::render(c, &g, action, f, errors, add), locked)
    };
    let body = html! {
        h1 { (title) }
        @if locked {
            p class="card" {
                "Once approved, these fields keep their values: "
                (campaigns::LOCKED_ONCE_APPROVED.join(", "))
                ". The others can change."
            }
        }
        (form)
    };
    let mut r = layout::page(c, Section::Campaigns, title, body);
    *r.status_mut() = status;
    r
}

async fn new_form(c: Console) -> Response {
    let f = campaign_form::new_values(c.app.0.clock.now());
    form_page(
        &c,
        "New campaign",
        "/console/campaigns/new",
        &f,
        &FormErrors::default(),
        None,
        StatusCode::OK,
    )
}

/// Whether the form is posted back to be shown again rather than saved, and with which slot added:
/// an "add" button (`moment`, `group`, `variant:N`), or `refresh` (a group's marketplace changed).
fn added(f: &FormData) -> Option<String> {
    match f.get("op") {
        "" | "save" => None,
        op => Some(op.strip_prefix("add_").unwrap_or(op).to_owned()),
    }
}

async fn create(c: Console, f: FormData) -> Response {
    if let Some(add) = added(&f) {
        return form_page(
            &c,
            "New campaign",
            "/console/campaigns/new",
            &f,
            &FormErrors::default(),
            Some(&add),
            StatusCode::OK,
        );
    }
    let result = campaign_form::parse(&f).and_then(|body| {
        let mut g = c.app.lock();
        campaigns::insert_campaign(&mut g, c.app_id(), body, None)
    });
    match result {
        Ok(id) => {
            c.flash(Flash::notice("Campaign created as a draft."));
            layout::redirect(&format!("/console/campaigns/{id}"))
        }
        Err(e) => {
            let errors = campaign_form::errors_of(&e, &f);
            form_page(
                &c,
                "New campaign",
                "/console/campaigns/new",
                &f,
                &errors,
                None,
                e.status,
            )
        }
    }
}

async fn edit_form(c: Console, Path(id): Path<String>) -> Response {
    let k = {
        let g = c.app.lock();
        if let Err(e) = g.campaigns.own(c.app_id(), &id) {
            return layout::api_error_page(&e);
        }
        campaigns::campaign_view(&g, &id).expect("exists")
    };
    let f = campaign_form::values_of(&k);
    form_page(
        &c,
        &format!("Edit {}", k.name),
        &format!("/console/campaigns/{id}/edit"),
        &f,
        &FormErrors::default(),
        None,
        StatusCode::OK,
    )
}

async fn update(c: Console, Path(id): Path<String>, f: FormData) -> Response {
    let action = format!("/console/campaigns/{id}/edit");
    let title = "Edit campaign";
    if let Some(add) = added(&f) {
        return form_page(
            &c,
            title,
            &action,
            &f,
            &FormErrors::default(),
            Some(&add),
            StatusCode::OK,
        );
    }
    let result = campaign_form::parse(&f).and_then(|next| {
        let mut g = c.app.lock();
        let current = g.campaigns.own(c.app_id(), &id).map(|r| r.c.clone())?;
        campaigns::update_campaign(
            &mut g,
            c.app_id(),
            &id,
            campaign_form::changes(&current, next),
        )
    });
    match result {
        Ok(_) => {
            c.flash(Flash::notice("Campaign saved."));
            layout::redirect(&format!("/console/campaigns/{id}"))
        }
        Err(e) if e.code == "resource_not_found" => layout::api_error_page(&e),
        Err(e) => {
            let errors = campaign_form::errors_of(&e, &f);
            form_page(&c, title, &action, &f, &errors, None, e.status)
        }
    }
}

async fn act(c: Console, Path((id, action)): Path<(String, String)>, f: FormData) -> Response {
    let Some(action) = ACTIONS.into_iter().find(|a| *a == action) else {
        return layout::error_page(
            StatusCode::NOT_FOUND,
            "No such action",
            "Campaigns have no such lifecycle action.",
        );
    };
    let reason = (action == "reject").then(|| f.get("reason").to_owned());
    let result = {
        let mut g = c.app.lock();
        campaigns::transition(&mut g, c.app_id(), &id, action, reason)
    };
    match result {
        Ok(k) => {
            c.flash(Flash::notice(format!(
                "{}: the campaign is {}.",
                action_label(action),
                k.status.as_str()
            )));
            layout::redirect(&format!("/console/campaigns/{id}"))
        }
        Err(e) if e.code == "resource_not_found" => layout::api_error_page(&e),
        Err(e) => {
            c.flash(Flash::error(e.message));
            layout::redirect(&format!("/console/campaigns/{id}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::gauge;

    #[test]
    fn the_gauge_scales_spend_to_the_budget_and_keeps_small_amounts_visible() {
        // $5 of a $1,000 budget: 2.8 px of 560, drawn 3 px; the account's $5 of $15,000 drawn 2 px.
        let svg = gauge(500, 0, 100_000, 500).into_string();
        assert!(svg.contains(r#"y="20" width="3" height="24""#), "{svg}");
        assert!(
            svg.contains(r#"y="48" width="0""#),
            "no refund, no bar: {svg}"
        );
        assert!(
            svg.contains(r#"y="90" width="112""#),
            "$1,000 of the $5,000 cap: {svg}"
        );
        assert!(svg.contains(r#"y="140" width="2""#), "{svg}");
        assert!(
            svg.contains("Spent $5.00 of a $1,000.00 budget ($995.00 remaining, $0.00 refunded)")
        );
        // Spend at the budget fills the bar; refunds are drawn on the same scale.
        let svg = gauge(100_000, 50_000, 100_000, 0).into_string();
        assert!(svg.contains(r#"y="20" width="560" height="24""#), "{svg}");
        assert!(svg.contains(r#"y="48" width="280""#), "{svg}");
    }
}
