//! The campaign form: every field of the API's campaign, named as the API names it
//! (`moments[0].goal.target`, `reward_groups[1].variants[0].weight`), so the API's validation error
//! lands beside the field its `param` names. Without JavaScript, "add a moment / group / variant"
//! posts the form back with one more blank slot; blank slots are ignored.

use chrono::{DateTime, NaiveDateTime, Utc};
use maud::{Markup, html};

use super::form::FormData;
use super::layout::{self, FormErrors};
use super::session::Console;
use crate::domain::errors::ApiError;
use crate::domain::model::*;
use crate::domain::money::{MARKETPLACES, Money};
use crate::domain::sandbox::Sandbox;

/// The form's values for an existing campaign.
pub fn values_of(c: &Campaign) -> FormData {
    let mut v: Vec<(String, String)> = vec![];
    let mut put = |k: String, val: String| v.push((k, val));
    put("name".into(), c.name.clone());
    put("brand_name".into(), c.brand_name.clone());
    put("start_at".into(), datetime_value(c.start_at));
    put("end_at".into(), datetime_value(c.end_at));
    put("budget.amount".into(), dollars_value(c.budget.amount));
    put(
        "cost_per_action.amount".into(),
        dollars_value(c.cost_per_action.amount),
    );
    for m in &c.marketplaces {
        put("marketplaces".into(), m.clone());
    }
    for (j, m) in c.moments.iter().enumerate() {
        let p = format!("moments[{j}]");
        put(format!("{p}.id"), m.id.clone());
        put(format!("{p}.name"), m.name.clone().unwrap_or_default());
        if m.client_reportable {
            put(format!("{p}.client_reportable"), "true".into());
        }
        if let Some(g) = &m.goal {
            put(format!("{p}.goal.target"), g.target.to_string());
            put(
                format!("{p}.goal.window_seconds"),
                g.window_seconds.to_string(),
            );
        }
        if let Some(f) = &m.frequency_cap {
            put(
                format!("{p}.frequency_cap.max_rewards"),
                f.max_rewards.to_string(),
            );
            put(
                format!("{p}.frequency_cap.period_seconds"),
                f.period_seconds.map(|s| s.to_string()).unwrap_or_default(),
            );
        }
    }
    for (i, g) in c.reward_groups.iter().enumerate() {
        let p = format!("reward_groups[{i}]");
        put(format!("{p}.id"), g.id.clone());
        put(format!("{p}.marketplace"), g.marketplace.clone());
        put(format!("{p}.segments"), g.segments.join(", "));
        for it in &g.items {
            put(format!("{p}.items"), it.clone());
        }
        put(
            format!("{p}.cost_per_action.amount"),
            g.cost_per_action
                .as_ref()
                .map(|m| dollars_value(m.amount))
                .unwrap_or_default(),
        );
        for (k, va) in g.variants.iter().enumerate() {
            let vp = format!("{p}.variants[{k}]");
            put(format!("{vp}.id"), va.id.clone());
            put(format!("{vp}.weight"), va.weight.to_string());
            for it in &va.items {
                put(format!("{vp}.items"), it.clone());
            }
            put(
                format!("{vp}.cost_per_action.amount"),
                va.cost_per_action
                    .as_ref()
                    .map(|m| dollars_value(m.amount))
                    .unwrap_or_default(),
            );
        }
    }
    put(
        "announcement_message".into(),
        c.announcement_message.clone(),
    );
    put("redemption_message".into(), c.redemption_message.clone());
    put(
        "landing_image_url".into(),
        c.landing_image_url.clone().unwrap_or_default(),
    );
    put(
        "reward_expiry_seconds".into(),
        c.reward_expiry_seconds.to_string(),
    );
    let f = &c.fraud;
    for (k, val) in [
        (
            "max_actions_per_customer_per_hour",
            f.max_actions_per_customer_per_hour,
        ),
        (
            "max_actions_per_device_per_hour",
            f.max_actions_per_device_per_hour,
        ),
        ("max_actions_per_ip_per_hour", f.max_actions_per_ip_per_hour),
        ("max_customers_per_device", f.max_customers_per_device),
    ] {
        put(
            format!("fraud.{k}"),
            val.map(|n| n.to_string()).unwrap_or_default(),
        );
    }
    FormData(v)
}

/// The form's values for a new campaign: a sketch that starts tomorrow and runs 30 days.
pub fn new_values(now: DateTime<Utc>) -> FormData {
    let start = now + chrono::Duration::days(1);
    FormData(vec![
        ("start_at".into(), datetime_value(start)),
        (
            "end_at".into(),
            datetime_value(start + chrono::Duration::days(30)),
        ),
        ("budget.amount".into(), "1000.00".into()),
        ("cost_per_action.amount".into(), "5.00".into()),
        ("marketplaces".into(), "US".into()),
        ("moments[0].id".into(), String::new()),
        ("reward_groups[0].id".into(), "US".into()),
        ("reward_groups[0].marketplace".into(), "US".into()),
    ])
}

fn datetime_value(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Whether two times differ at the form's precision (whole seconds).
fn moved(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    a.timestamp() != b.timestamp()
}

fn dollars_value(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The most rows of the form's moments and reward groups: the API's most reward groups (it takes at most
/// 50 moments).
pub const MAX_ROWS: usize = 100;
/// The most variants of one reward group the form edits.
pub const MAX_VARIANTS: usize = 20;

/// The most rows of the list a numbered field name's last index counts (`…variants[k]` or another list).
fn cap_of(list: &str) -> usize {
    if list.ends_with("variants") {
        MAX_VARIANTS
    } else {
        MAX_ROWS
    }
}

/// How many numbered slots `prefix[i].` the form has (at least `min`, at most its list's cap: [`check_rows`]
/// refuses a form naming a slot beyond it).
fn slots(f: &FormData, prefix: &str, min: usize) -> usize {
    let cap = cap_of(prefix);
    f.0.iter()
        .filter_map(|(k, _)| k.strip_prefix(prefix)?.strip_prefix('[')?.split_once(']'))
        .filter_map(|(n, _)| n.parse::<usize>().ok())
        .filter(|n| *n < cap)
        .map(|n| n + 1)
        .max()
        .unwrap_or(0)
        .max(min)
}

/// Refuses a field numbered beyond its list's cap ([`MAX_ROWS`], [`MAX_VARIANTS`]), naming it, so no row of the
/// form is dropped unread.
fn check_rows(f: &FormData) -> Result<(), ApiError> {
    for (key, _) in &f.0 {
        let mut rest = key.as_str();
        while let Some((list, after)) = rest.split_once('[') {
            let Some((n, tail)) = after.split_once(']') else {
                break;
            };
            let cap = cap_of(list);
            if n.parse::<usize>().map_or(true, |n| n >= cap) {
                return Err(ApiError::validation(
                    key.clone(),
                    format!("The form takes at most {cap} rows here, numbered from 0."),
                ));
            }
            rest = tail;
        }
    }
    Ok(())
}

fn blank(f: &FormData, prefix: &str) -> bool {
    f.0.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .all(|(_, v)| v.trim().is_empty())
}

fn text(f: &FormData, name: &str) -> String {
    f.get(name).trim().to_owned()
}

fn opt_text(f: &FormData, name: &str) -> Option<String> {
    Some(text(f, name)).filter(|s| !s.is_empty())
}

fn opt_int(f: &FormData, name: &str) -> Result<Option<i64>, ApiError> {
    match opt_text(f, name) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::validation(name, "Give a whole number.")),
    }
}

fn int(f: &FormData, name: &str) -> Result<i64, ApiError> {
    opt_int(f, name)?.ok_or_else(|| ApiError::validation(name, "Required."))
}

/// `12`, `12.5`, `12.50` dollars as cents.
fn cents(s: &str) -> Option<i64> {
    let s = s.trim().trim_start_matches('$').replace(',', "");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if frac.len() > 2 || whole.is_empty() && frac.is_empty() {
        return None;
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    (w >= 0).then(|| w.checked_mul(100)?.checked_add(f))?
}

fn opt_money(f: &FormData, name: &str) -> Result<Option<Money>, ApiError> {
    match opt_text(f, name) {
        None => Ok(None),
        Some(s) => cents(&s)
            .map(|c| Some(Money::usd(c)))
            .ok_or_else(|| ApiError::validation(name, "Give an amount in dollars, like 12.50.")),
    }
}

fn money(f: &FormData, name: &str) -> Result<Money, ApiError> {
    opt_money(f, name)?.ok_or_else(|| ApiError::validation(name, "Required."))
}

fn time(f: &FormData, name: &str) -> Result<DateTime<Utc>, ApiError> {
    let s = text(f, name);
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M").map(|t| t.and_utc()))
        .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S").map(|t| t.and_utc()))
        .map_err(|_| {
            ApiError::validation(name, "Give a date and time (UTC), like 2026-01-31T09:00.")
        })
}

/// The API's create body from the form; a field that cannot be read is a validation error naming it.
pub fn parse(f: &FormData) -> Result<CampaignCreate, ApiError> {
    check_rows(f)?;
    let mut moments = vec![];
    for j in 0..slots(f, "moments", 0) {
        let p = format!("moments[{j}]");
        if blank(f, &format!("{p}.")) {
            continue;
        }
        let goal = match (
            opt_int(f, &format!("{p}.goal.target"))?,
            opt_int(f, &format!("{p}.goal.window_seconds"))?,
        ) {
            (None, None) => None,
            (t, w) => Some(Goal {
                target: t.ok_or_else(|| {
                    ApiError::validation(format!("{p}.goal.target"), "Give the goal's target too.")
                })?,
                window_seconds: w.ok_or_else(|| {
                    ApiError::validation(
                        format!("{p}.goal.window_seconds"),
                        "Give the goal's window too.",
                    )
                })?,
            }),
        };
        let frequency_cap = match opt_int(f, &format!("{p}.frequency_cap.max_rewards"))? {
            None => None,
            Some(max_rewards) => Some(FrequencyCap {
                max_rewards,
                period_seconds: opt_int(f, &format!("{p}.frequency_cap.period_seconds"))?,
            }),
        };
        moments.push(Moment {
            id: text(f, &format!("{p}.id")),
            name: opt_text(f, &format!("{p}.name")),
            client_reportable: f.get(&format!("{p}.client_reportable")) == "true",
            goal,
            frequency_cap,
        });
    }
    let mut reward_groups = vec![];
    for i in 0..slots(f, "reward_groups", 0) {
        let p = format!("reward_groups[{i}]");
        if text(f, &format!("{p}.id")).is_empty() {
            continue;
        }
        let mut variants = vec![];
        for k in 0..slots(f, &format!("{p}.variants"), 0) {
            let vp = format!("{p}.variants[{k}]");
            if text(f, &format!("{vp}.id")).is_empty() {
                continue;
            }
            variants.push(Variant {
                id: text(f, &format!("{vp}.id")),
                weight: int(f, &format!("{vp}.weight"))?,
                items: f
                    .all(&format!("{vp}.items"))
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                cost_per_action: opt_money(f, &format!("{vp}.cost_per_action.amount"))?,
            });
        }
        reward_groups.push(RewardGroup {
            id: text(f, &format!("{p}.id")),
            marketplace: text(f, &format!("{p}.marketplace")),
            segments: f
                .get(&format!("{p}.segments"))
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            items: f
                .all(&format!("{p}.items"))
                .into_iter()
                .map(str::to_owned)
                .collect(),
            cost_per_action: opt_money(f, &format!("{p}.cost_per_action.amount"))?,
            variants,
        });
    }
    let fraud_fields = [
        "max_actions_per_customer_per_hour",
        "max_actions_per_device_per_hour",
        "max_actions_per_ip_per_hour",
        "max_customers_per_device",
    ];
    let fraud = if fraud_fields
        .iter()
        .all(|k| text(f, &format!("fraud.{k}")).is_empty())
    {
        None
    } else {
        Some(FraudSettings {
            max_actions_per_customer_per_hour: opt_int(
                f,
                "fraud.max_actions_per_customer_per_hour",
            )?,
            max_actions_per_device_per_hour: opt_int(f, "fraud.max_actions_per_device_per_hour")?,
            max_actions_per_ip_per_hour: opt_int(f, "fraud.max_actions_per_ip_per_hour")?,
            max_customers_per_device: opt_int(f, "fraud.max_customers_per_device")?,
        })
    };
    Ok(CampaignCreate {
        name: text(f, "name"),
        brand_name: text(f, "brand_name"),
        start_at: time(f, "start_at")?,
        end_at: time(f, "end_at")?,
        budget: money(f, "budget.amount")?,
        cost_per_action: money(f, "cost_per_action.amount")?,
        marketplaces: f
            .all("marketplaces")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        reward_groups,
        moments,
        announcement_message: text(f, "announcement_message"),
        redemption_message: text(f, "redemption_message"),
        landing_image_url: opt_text(f, "landing_image_url"),
        reward_expiry_seconds: opt_int(f, "reward_expiry_seconds")?,
        fraud,
    })
}

/// The PATCH body that moves `current` to `next`: only the fields that differ, so a campaign that
/// is approved or live can be edited where the API allows it.
pub fn changes(current: &Campaign, next: CampaignCreate) -> CampaignUpdate {
    fn differ<T: serde::Serialize, U: serde::Serialize>(a: &T, b: &U) -> bool {
        serde_json::to_value(a).ok() != serde_json::to_value(b).ok()
    }
    let moments_now: Vec<Moment> = next
        .moments
        .iter()
        .cloned()
        .map(|mut m| {
            m.frequency_cap.get_or_insert(FrequencyCap {
                max_rewards: 1,
                period_seconds: None,
            });
            m
        })
        .collect();
    CampaignUpdate {
        name: (next.name != current.name).then_some(next.name),
        brand_name: (next.brand_name != current.brand_name).then_some(next.brand_name),
        start_at: moved(next.start_at, current.start_at).then_some(next.start_at),
        end_at: moved(next.end_at, current.end_at).then_some(next.end_at),
        budget: (next.budget != current.budget).then_some(next.budget),
        cost_per_action: (next.cost_per_action != current.cost_per_action)
            .then_some(next.cost_per_action),
        marketplaces: (next.marketplaces != current.marketplaces).then_some(next.marketplaces),
        reward_groups: differ(&next.reward_groups, &current.reward_groups)
            .then_some(next.reward_groups),
        moments: differ(&moments_now, &current.moments).then_some(next.moments),
        announcement_message: (next.announcement_message != current.announcement_message)
            .then_some(next.announcement_message),
        redemption_message: (next.redemption_message != current.redemption_message)
            .then_some(next.redemption_message),
        landing_image_url: next
            .landing_image_url
            .filter(|u| Some(u) != current.landing_image_url.as_ref()),
        reward_expiry_seconds: next
            .reward_expiry_seconds
            .filter(|s| *s != current.reward_expiry_seconds),
        fraud: next.fraud.filter(|fr| differ(fr, &current.fraud)),
    }
}

/// Maps an error's `param` to the form field showing it (`marketplaces[2]` → `marketplaces`,
/// `reward_groups[0].items[1]` → `reward_groups[0].items`).
pub fn field_of(param: &str) -> String {
    match param.rfind('[') {
        Some(at) if param.ends_with(']') => param[..at].to_owned(),
        _ => param.to_owned(),
    }
}

/// The form's errors from the API's answer.
pub fn errors_of(e: &ApiError, f: &FormData) -> FormErrors {
    let has = |k: &str| f.0.iter().any(|(n, _)| n == k);
    // A money field is shown as its amount (`budget` → `budget.amount`).
    let field = e.param.as_deref().map(field_of).map(|p| {
        let amount = format!("{p}.amount");
        if !has(&p) && has(&amount) { amount } else { p }
    });
    let known = field
        .as_deref()
        .filter(|p| has(p) || is_list_field(p))
        .map(|p| vec![p]);
    let e = ApiError {
        param: field.clone(),
        ..e.clone()
    };
    FormErrors::from_api(&e, known.as_deref().unwrap_or(&[]))
}

fn is_list_field(p: &str) -> bool {
    p == "marketplaces" || p == "moments" || p == "reward_groups" || p.ends_with(".items")
}

fn textarea(errors: &FormErrors, label: &str, name: &str, value: &str) -> Markup {
    let id = layout::field_id(name);
    let err_id = format!("{id}-error");
    let error = errors.of(name);
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            label for=(id) { (label) }
            textarea id=(id) name=(name) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| err_id.as_str())] { (value) }
            @if let Some(e) = error { p class="field-error" id=(err_id) { (e) } }
        }
    }
}

fn checkbox(label: &str, name: &str, value: &str, checked: bool) -> Markup {
    let id = format!("{}-{}", layout::field_id(name), layout::field_id(value));
    html! {
        div class="field check" {
            input id=(id) type="checkbox" name=(name) value=(value) checked[checked];
            label for=(id) { (label) }
        }
    }
}

fn list_error(errors: &FormErrors, name: &str) -> Markup {
    html! {
        @if let Some(e) = errors.of(name) {
            p class="field-error" role="alert" { (e) }
        }
    }
}

/// The catalog items to pick from, with their images and their price in `marketplace` (every
/// price when it is not chosen yet), checked as `name`'s values in `f`: the chosen ones first, in
/// their fallback order, so posting the form back keeps it.
fn item_picker(
    sb: &Sandbox,
    f: &FormData,
    errors: &FormErrors,
    name: &str,
    marketplace: &str,
) -> Markup {
    let chosen = f.all(name);
    let legend = format!("Items, in fallback order ({} chosen)", chosen.len());
    // The chosen items first, in their order (the fallback order), then the others in the catalog's.
    let ordered: Vec<&Item> = chosen
        .iter()
        .filter_map(|id| sb.catalog.item(id))
        .chain(sb.catalog.items().filter(|it| {
            !chosen.contains(&it.id.as_str())
                && (marketplace.is_empty() || it.prices.contains_key(marketplace))
        }))
        .collect();
    html! {
        details open[!chosen.is_empty() || errors.of(name).is_some()] {
            summary { (legend) }
            (list_error(errors, name))
            div class="items" {
                @for it in ordered {
                    @let id = format!("{}-{}", layout::field_id(name), layout::field_id(&it.id));
                    div class="item" {
                        @if let Some(src) = it.image_url.as_deref().filter(|u| u.starts_with("https://")) {
                            img src=(src) alt="" width="120" height="80" loading="lazy";
                        }
                        div class="field check" {
                            input id=(id) type="checkbox" name=(name) value=(it.id) checked[chosen.contains(&it.id.as_str())];
                            label for=(id) { (it.title) }
                        }
                        p class="muted" {
                            code { (it.id) } " · " (format!("{:?}", it.kind).to_lowercase()) " · "
                            @if marketplace.is_empty() {
                                (it.prices.iter().map(|(m, p)| format!("{m} {p}")).collect::<Vec<_>>().join(", "))
                            } @else if let Some(p) = it.prices.get(marketplace) {
                                (p.to_string())
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A reward group's marketplace: changing it shows that marketplace's items and prices. With htmx
/// the change posts the form back (`op=refresh`) and swaps it in place; without, the button beside
/// the select does the same.
fn market_select(
    errors: &FormErrors,
    action: &str,
    name: &str,
    options: &[(String, String)],
    selected: &str,
) -> Markup {
    let id = layout::field_id(name);
    let err_id = format!("{id}-error");
    let error = errors.of(name);
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            label for=(id) { "Marketplace" }
            select id=(id) name=(name) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| err_id.as_str())]
                hx-post=(action) hx-trigger="change" hx-vals=r#"{"op":"refresh"}"#
                hx-target="closest form" hx-select=".campaign-form" hx-swap="outerHTML" {
                @for (v, t) in options {
                    option value=(v) selected[v == selected] { (t) }
                }
            }
            @if let Some(e) = error {
                p class="field-error" id=(err_id) { (e) }
            }
            button type="submit" name="op" value="refresh" class="secondary" { "Show its items" }
        }
    }
}

/// The form: `action` posts it, `f` holds the values shown, `add` the slot an "add" button asked for.
pub fn render(
    c: &Console,
    sb: &Sandbox,
    action: &str,
    f: &FormData,
    errors: &FormErrors,
    add: Option<&str>,
) -> Markup {
    let inp =
        |label: &str, name: &str, kind: &str| layout::input(errors, label, name, f.get(name), kind);
    let extra = |what: &str| usize::from(add == Some(what));
    let n_moments = (slots(f, "moments", 1) + extra("moment")).min(MAX_ROWS);
    let n_groups = (slots(f, "reward_groups", 1) + extra("group")).min(MAX_ROWS);
    let chosen_markets = f.all("marketplaces");
    let market_options: Vec<(String, String)> =
        std::iter::once((String::new(), "(choose)".to_owned()))
            .chain(MARKETPLACES.iter().map(|m| (m.to_string(), m.to_string())))
            .collect();
    html! {
        (errors.general_box())
        form method="post" action=(action) class="campaign-form" novalidate {
            (layout::csrf_field(c))
            div class="actions" { button type="submit" name="op" value="save" { "Save campaign" } }
            fieldset {
                legend { "Campaign" }
                div class="grid" {
                    (inp("Name", "name", "text"))
                    (inp("Brand name", "brand_name", "text"))
                    (inp("Starts (UTC)", "start_at", "datetime-local"))
                    (inp("Ends (UTC)", "end_at", "datetime-local"))
                    (inp("Monthly budget (USD, at most $5,000.00)", "budget.amount", "text"))
                    (inp("Cost per action (USD)", "cost_per_action.amount", "text"))
                    (inp("Reward expiry (seconds; 3600–31536000, default 30 days)", "reward_expiry_seconds", "number"))
                    (inp("Landing image URL (https)", "landing_image_url", "url"))
                }
                (textarea(errors, "Announcement message (reward info)", "announcement_message", f.get("announcement_message")))
                (textarea(errors, "Redemption message (landing page)", "redemption_message", f.get("redemption_message")))
            }
            fieldset {
                legend { "Marketplaces" }
                (list_error(errors, "marketplaces"))
                div class="grid" {
                    @for m in MARKETPLACES {
                        (checkbox(m, "marketplaces", m, chosen_markets.contains(&m)))
                    }
                }
            }
            fieldset {
                legend { "Moments" }
                (list_error(errors, "moments"))
                @for j in 0..n_moments {
                    @let p = format!("moments[{j}]");
                    fieldset {
                        legend { "Moment " (j + 1) }
                        div class="grid" {
                            (inp("Moment id", &format!("{p}.id"), "text"))
                            (inp("Display name", &format!("{p}.name"), "text"))
                            (inp("Goal: actions needed (blank: every action counts)", &format!("{p}.goal.target"), "number"))
                            (inp("Goal: window (seconds)", &format!("{p}.goal.window_seconds"), "number"))
                            (inp("Frequency cap: rewards per customer (blank: 1)", &format!("{p}.frequency_cap.max_rewards"), "number"))
                            (inp("Frequency cap: period (seconds; blank: the campaign's life)", &format!("{p}.frequency_cap.period_seconds"), "number"))
                        }
                        (checkbox("Customer tokens (the app) may report it", &format!("{p}.client_reportable"), "true", f.get(&format!("{p}.client_reportable")) == "true"))
                    }
                }
                button type="submit" name="op" value="add_moment" class="secondary" { "Add a moment" }
            }
            fieldset {
                legend { "Reward groups" }
                (list_error(errors, "reward_groups"))
                @for i in 0..n_groups {
                    @let p = format!("reward_groups[{i}]");
                    @let market = f.get(&format!("{p}.marketplace"));
                    @let n_variants = (slots(f, &format!("{p}.variants"), 0) + extra(&format!("variant:{i}"))).min(MAX_VARIANTS);
                    fieldset {
                        legend { "Reward group " (i + 1) }
                        div class="grid" {
                            (inp("Group id", &format!("{p}.id"), "text"))
                            (market_select(errors, action, &format!("{p}.marketplace"), &market_options, market))
                            (inp("Segments (comma-separated; blank: the default group)", &format!("{p}.segments"), "text"))
                            (inp("Own cost per action (USD, optional)", &format!("{p}.cost_per_action.amount"), "text"))
                        }
                        (item_picker(sb, f, errors, &format!("{p}.items"), market))
                        @for k in 0..n_variants {
                            @let vp = format!("{p}.variants[{k}]");
                            fieldset {
                                legend { "A/B variant " (k + 1) " of group " (i + 1) }
                                div class="grid" {
                                    (inp("Variant id", &format!("{vp}.id"), "text"))
                                    (inp("Weight (1–10000)", &format!("{vp}.weight"), "number"))
                                    (inp("Own cost per action (USD, optional)", &format!("{vp}.cost_per_action.amount"), "text"))
                                }
                                (item_picker(sb, f, errors, &format!("{vp}.items"), market))
                            }
                        }
                        button type="submit" name="op" value={ "add_variant:" (i) } class="secondary" { "Add an A/B variant to group " (i + 1) }
                    }
                }
                button type="submit" name="op" value="add_group" class="secondary" { "Add a reward group" }
            }
            fieldset {
                legend { "Fraud settings (blank: the defaults)" }
                div class="grid" {
                    (inp("Actions per customer per hour (default 20)", "fraud.max_actions_per_customer_per_hour", "number"))
                    (inp("Actions per device per hour (default 30)", "fraud.max_actions_per_device_per_hour", "number"))
                    (inp("Actions per IP per hour (default 100)", "fraud.max_actions_per_ip_per_hour", "number"))
                    (inp("Customers per device (default 3)", "fraud.max_customers_per_device", "number"))
                }
            }
            div class="actions" { button type="submit" name="op" value="save" { "Save campaign" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormData {
        FormData(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_row_beyond_the_cap_is_refused_naming_it_and_slots_stay_bounded() {
        let f = form(&[("moments[99999999].id", "x"), ("name", "n")]);
        let err = parse(&f).unwrap_err();
        assert_eq!(
            err.param.as_deref(),
            Some("moments[99999999].id"),
            "{err:?}"
        );
        assert_eq!(slots(&f, "moments", 1), 1, "the far index adds no slots");
        let f = form(&[("reward_groups[0].variants[20].id", "v")]);
        let err = parse(&f).unwrap_err();
        assert_eq!(
            err.param.as_deref(),
            Some("reward_groups[0].variants[20].id"),
            "{err:?}"
        );
        let f = form(&[(&format!("moments[{}].id", usize::MAX), "x")]);
        assert!(
            parse(&f).is_err(),
            "an index at usize::MAX is refused, not overflowed"
        );
        assert_eq!(slots(&f, "moments", 0), 0);
        let f = form(&[
            ("moments[99].id", "x"),
            ("reward_groups[0].variants[19].id", "v"),
        ]);
        assert_eq!(
            (
                slots(&f, "moments", 0),
                slots(&f, "reward_groups[0].variants", 0)
            ),
            (100, 20)
        );
        assert!(check_rows(&f).is_ok());
    }

    #[test]
    fn dollars_read_as_cents() {
        assert_eq!(cents("12"), Some(1200));
        assert_eq!(cents("12.5"), Some(1250));
        assert_eq!(cents("$1,000.05"), Some(100_005));
        assert_eq!(cents(".5"), Some(50));
        assert_eq!(cents("1.234"), None);
        assert_eq!(cents("-1"), None);
        assert_eq!(cents("abc"), None);
    }

    #[test]
    fn errors_name_the_field_showing_them() {
        assert_eq!(field_of("marketplaces[2]"), "marketplaces");
        assert_eq!(
            field_of("reward_groups[0].items[1]"),
            "reward_groups[0].items"
        );
        assert_eq!(field_of("moments[0].goal.target"), "moments[0].goal.target");
    }

    #[test]
    fn a_form_reads_as_the_api_body_and_blank_slots_are_ignored() {
        let f = form(&[
            ("name", "Spring"),
            ("brand_name", "Brand"),
            ("start_at", "2026-03-01T00:00"),
            ("end_at", "2026-04-01T00:00"),
            ("budget.amount", "1000"),
            ("cost_per_action.amount", "2.50"),
            ("marketplaces", "US"),
            ("marketplaces", "UK"),
            ("moments[0].id", "m1"),
            ("moments[0].goal.target", "5"),
            ("moments[0].goal.window_seconds", "86400"),
            ("moments[0].client_reportable", "true"),
            ("moments[1].id", ""),
            ("moments[1].name", ""),
            ("reward_groups[0].id", "US"),
            ("reward_groups[0].marketplace", "US"),
            ("reward_groups[0].items", "itm_a"),
            ("reward_groups[0].items", "itm_b"),
            ("reward_groups[0].variants[0].id", "A"),
            ("reward_groups[0].variants[0].weight", "70"),
            ("reward_groups[0].variants[0].items", "itm_a"),
            ("reward_groups[1].id", ""),
            ("announcement_message", "Hi"),
            ("redemption_message", "Enjoy"),
        ]);
        let c = parse(&f).unwrap();
        assert_eq!((c.budget.amount, c.cost_per_action.amount), (100_000, 250));
        assert_eq!(c.marketplaces, ["US", "UK"]);
        assert_eq!(c.moments.len(), 1);
        assert!(c.moments[0].client_reportable);
        assert_eq!(c.moments[0].goal.as_ref().unwrap().target, 5);
        assert_eq!(c.reward_groups.len(), 1);
        assert_eq!(c.reward_groups[0].items, ["itm_a", "itm_b"]);
        assert_eq!(c.reward_groups[0].variants[0].weight, 70);
        assert!(c.fraud.is_none() && c.landing_image_url.is_none());
        let e = parse(&form(&[("start_at", "soon")])).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("start_at"));
    }
}
