//! Campaigns: validation, the lifecycle table, clock-driven live/finished, and routes.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use http::StatusCode;

use crate::domain::clock::month_of;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::fraud::rules::{self as fraud_rules, Limits};
use crate::domain::ids;
use crate::domain::model::*;
use crate::domain::money::{MARKETPLACES, Money};
use crate::domain::principal::valid_label;
use crate::domain::sandbox::{DueKind, Sandbox};
use crate::domain::shard::FastMap;

/// A campaign as stored.
#[derive(Clone, Debug)]
pub struct CampaignRec {
    /// Sequence for ordering.
    pub seq: u64,
    /// Account.
    pub account_id: String,
    /// The public view without spend (spend is computed).
    pub c: Campaign,
    /// Months for which `campaign.budget_exhausted` was emitted.
    pub exhausted_months: HashSet<String>,
}

/// The campaigns, by id: what each says, its account, and the months it ran out of budget in.
#[derive(Default)]
pub struct Campaigns {
    by_id: FastMap<String, CampaignRec>,
}

impl Campaigns {
    /// A campaign.
    pub fn get(&self, id: &str) -> Option<&CampaignRec> {
        self.by_id.get(id)
    }

    /// A campaign, to change.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut CampaignRec> {
        self.by_id.get_mut(id)
    }

    /// Whether a campaign has this id.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Stores a campaign under its id.
    pub fn insert(&mut self, rec: CampaignRec) {
        self.by_id.insert(rec.c.id.clone(), rec);
    }

    /// A campaign of this app, or `404 resource_not_found` (another app's campaign does not exist for it).
    pub fn own(&self, app_id: &str, id: &str) -> ApiResult<&CampaignRec> {
        self.by_id
            .get(id)
            .filter(|c| c.c.app_id == app_id)
            .ok_or_else(|| ApiError::not_found("campaign", id))
    }

    /// An app's campaigns, oldest first.
    pub fn of_app(&self, app_id: &str) -> Vec<&CampaignRec> {
        let mut v: Vec<&CampaignRec> = self
            .by_id
            .values()
            .filter(|c| c.c.app_id == app_id)
            .collect();
        v.sort_by_key(|c| c.seq);
        v
    }
}

impl std::ops::Index<&str> for Campaigns {
    type Output = CampaignRec;
    fn index(&self, id: &str) -> &CampaignRec {
        &self.by_id[id]
    }
}

impl CampaignRec {
    /// The status the clock calls for an approved or live campaign at `at`.
    pub fn clock_status(&self, at: DateTime<Utc>) -> CampaignStatus {
        if at >= self.c.end_at {
            CampaignStatus::Finished
        } else if at >= self.c.start_at {
            CampaignStatus::Live
        } else {
            CampaignStatus::Approved
        }
    }
}

fn len_ok(s: &str, min: usize, max: usize) -> bool {
    let n = s.chars().count();
    n >= min && n <= max
}

fn check_usd(m: &Money, param: &str) -> ApiResult<()> {
    if m.currency != "USD" {
        return Err(ApiError::validation(
            format!("{param}.currency"),
            "Budgets and costs are in USD.",
        ));
    }
    Ok(())
}

/// Fills defaults of a create body into a campaign view.
fn to_campaign(id: String, app_id: String, c: CampaignCreate, now: DateTime<Utc>) -> Campaign {
    let f = c.fraud.unwrap_or_default();
    Campaign {
        object: "campaign".into(),
        id,
        app_id,
        status: CampaignStatus::Draft,
        name: c.name,
        brand_name: c.brand_name,
        start_at: c.start_at,
        end_at: c.end_at,
        budget: c.budget,
        cost_per_action: c.cost_per_action,
        marketplaces: c.marketplaces,
        reward_groups: c.reward_groups,
        moments: c
            .moments
            .into_iter()
            .map(|mut m| {
                m.frequency_cap.get_or_insert(FrequencyCap {
                    max_rewards: 1,
                    period_seconds: None,
                });
                m
            })
            .collect(),
        announcement_message: c.announcement_message,
        redemption_message: c.redemption_message,
        landing_image_url: c.landing_image_url,
        reward_expiry_seconds: c.reward_expiry_seconds.unwrap_or(2_592_000),
        fraud: Limits::of(&f).settings(),
        rejection_reason: None,
        spend: CampaignSpend {
            month: month_of(now),
            spent: Money::usd(0),
            refunded: Money::usd(0),
            remaining: Money::usd(0),
        },
        created_at: now,
        updated_at: now,
    }
}

/// Validates a full campaign definition (as a view with defaults filled in).
pub fn validate_campaign(sb: &Sandbox, c: &Campaign) -> ApiResult<()> {
    if !len_ok(&c.name, 1, 200) {
        return Err(ApiError::validation(
            "name",
            "`name` must be 1–200 characters.",
        ));
    }
    if !len_ok(&c.brand_name, 1, 100) {
        return Err(ApiError::validation(
            "brand_name",
            "`brand_name` must be 1–100 characters.",
        ));
    }
    if c.end_at <= c.start_at {
        return Err(ApiError::validation(
            "end_at",
            "`end_at` must be after `start_at`.",
        ));
    }
    check_usd(&c.budget, "budget")?;
    crate::domain::ledger::check_budget(c.budget.amount)?;
    check_usd(&c.cost_per_action, "cost_per_action")?;
    if c.cost_per_action.amount <= 0 || c.cost_per_action.amount > c.budget.amount {
        return Err(ApiError::validation(
            "cost_per_action.amount",
            "`cost_per_action` must be > 0 and ≤ the budget.",
        ));
    }
    if c.marketplaces.is_empty() || c.marketplaces.len() > 13 {
        return Err(ApiError::validation("marketplaces", "1–13 marketplaces."));
    }
    let mut seen = HashSet::new();
    for (i, m) in c.marketplaces.iter().enumerate() {
        if !MARKETPLACES.contains(&m.as_str()) || !seen.insert(m) {
            return Err(ApiError::validation(
                format!("marketplaces[{i}]"),
                format!("Unknown or repeated marketplace `{m}`."),
            ));
        }
    }
    if c.reward_groups.is_empty() || c.reward_groups.len() > 100 {
        return Err(ApiError::validation(
            "reward_groups",
            "1–100 reward groups.",
        ));
    }
    let mut gids = HashSet::new();
    for (i, g) in c.reward_groups.iter().enumerate() {
        let p = format!("reward_groups[{i}]");
        if !valid_label(&g.id) || !gids.insert(&g.id) {
            return Err(ApiError::validation(
                format!("{p}.id"),
                "Reward group ids match ^[A-Za-z0-9_-]{1,64}$ and are unique.",
            ));
        }
        if !c.marketplaces.contains(&g.marketplace) {
            return Err(ApiError::validation(
                format!("{p}.marketplace"),
                "The group's marketplace is not targeted.",
            ));
        }
        for (j, s) in g.segments.iter().enumerate() {
            if !valid_label(s) {
                return Err(ApiError::validation(
                    format!("{p}.segments[{j}]"),
                    "Segments match ^[A-Za-z0-9_-]{1,64}$.",
                ));
            }
        }
        if let Some(cpa) = &g.cost_per_action {
            check_usd(cpa, &format!("{p}.cost_per_action"))?;
            if cpa.amount <= 0 || cpa.amount > c.budget.amount {
                return Err(ApiError::validation(
                    format!("{p}.cost_per_action.amount"),
                    "Must be > 0 and ≤ the budget.",
                ));
            }
        }
        let check_items = |items: &[String], ip: String| -> ApiResult<()> {
            if items.is_empty() || items.len() > 10 {
                return Err(ApiError::validation(ip, "1–10 items."));
            }
            for (k, it) in items.iter().enumerate() {
                match sb.catalog.item(it) {
                    None => {
                        return Err(ApiError::validation(
                            format!("{ip}[{k}]"),
                            format!("Unknown item `{it}`."),
                        ));
                    }
                    Some(item) if !item.prices.contains_key(&g.marketplace) => {
                        return Err(ApiError::validation(
                            format!("{ip}[{k}]"),
                            format!("Item `{it}` is not sold in {}.", g.marketplace),
                        ));
                    }
                    _ => {}
                }
            }
            Ok(())
        };
        if g.variants.is_empty() {
            check_items(&g.items, format!("{p}.items"))?;
        } else {
            let mut vids = HashSet::new();
            for (k, v) in g.variants.iter().enumerate() {
                let vp = format!("{p}.variants[{k}]");
                if !valid_label(&v.id) || !vids.insert(&v.id) {
                    return Err(ApiError::validation(
                        format!("{vp}.id"),
                        "Variant ids are labels, unique in the group.",
                    ));
                }
                if !(1..=10_000).contains(&v.weight) {
                    return Err(ApiError::validation(
                        format!("{vp}.weight"),
                        "`weight` must be 1–10000.",
                    ));
                }
                check_items(&v.items, format!("{vp}.items"))?;
                if let Some(cpa) = &v.cost_per_action {
                    check_usd(cpa, &format!("{vp}.cost_per_action"))?;
                    if cpa.amount <= 0 || cpa.amount > c.budget.amount {
                        return Err(ApiError::validation(
                            format!("{vp}.cost_per_action.amount"),
                            "Must be > 0 and ≤ the budget.",
                        ));
                    }
                }
            }
        }
    }
    for m in &c.marketplaces {
        if !c.reward_groups.iter().any(|g| &g.marketplace == m) {
            return Err(ApiError::validation(
                "reward_groups",
                format!("Marketplace {m} has no reward group."),
            ));
        }
    }
    if c.moments.is_empty() || c.moments.len() > 50 {
        return Err(ApiError::validation("moments", "1–50 moments."));
    }
    let mut mids = HashSet::new();
    for (i, m) in c.moments.iter().enumerate() {
        let p = format!("moments[{i}]");
        if !valid_label(&m.id) || !mids.insert(&m.id) {
            return Err(ApiError::validation(
                format!("{p}.id"),
                "Moment ids match ^[A-Za-z0-9_-]{1,64}$ and are unique.",
            ));
        }
        if let Some(g) = &m.goal {
            if !(1..=1_000_000).contains(&g.target) {
                return Err(ApiError::validation(
                    format!("{p}.goal.target"),
                    "`target` must be 1–1000000.",
                ));
            }
            if !(1..=31_536_000 * 10).contains(&g.window_seconds) {
                return Err(ApiError::validation(
                    format!("{p}.goal.window_seconds"),
                    "`window_seconds` must be positive.",
                ));
            }
        }
        if let Some(f) = &m.frequency_cap {
            if !(1..=1000).contains(&f.max_rewards) {
                return Err(ApiError::validation(
                    format!("{p}.frequency_cap.max_rewards"),
                    "`max_rewards` must be 1–1000.",
                ));
            }
            if let Some(ps) = f.period_seconds
                && ps <= 0
            {
                return Err(ApiError::validation(
                    format!("{p}.frequency_cap.period_seconds"),
                    "Must be positive or null.",
                ));
            }
        }
    }
    if !len_ok(&c.announcement_message, 1, 500) {
        return Err(ApiError::validation(
            "announcement_message",
            "1–500 characters.",
        ));
    }
    if !len_ok(&c.redemption_message, 1, 500) {
        return Err(ApiError::validation(
            "redemption_message",
            "1–500 characters.",
        ));
    }
    if let Some(u) = &c.landing_image_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(ApiError::validation(
            "landing_image_url",
            "Must be an http(s) URL.",
        ));
    }
    if !(3600..=31_536_000).contains(&c.reward_expiry_seconds) {
        return Err(ApiError::validation(
            "reward_expiry_seconds",
            "Must be 3600–31536000.",
        ));
    }
    fraud_rules::validate(&c.fraud)?;
    Ok(())
}

/// Validates and inserts a draft campaign; returns its id.
pub fn insert_campaign(
    sb: &mut Sandbox,
    app_id: &str,
    body: CampaignCreate,
    id: Option<String>,
) -> ApiResult<String> {
    if let Some(f) = &body.fraud {
        fraud_rules::validate(f)?;
    }
    let id = id.unwrap_or_else(|| ids::new_id("cmp_"));
    if sb.campaigns.contains(&id) {
        return Err(ApiError::validation(
            "id",
            format!("Campaign {id} already exists."),
        ));
    }
    let c = to_campaign(id.clone(), app_id.into(), body, sb.now());
    validate_campaign(sb, &c)?;
    let account_id = sb
        .credentials
        .app(app_id)
        .map(|a| a.account_id.clone())
        .unwrap_or_default();
    let seq = sb.next_seq();
    sb.campaigns.insert(CampaignRec {
        seq,
        account_id,
        c,
        exhausted_months: HashSet::new(),
    });
    Ok(id)
}

/// Schedules start/end transitions for a campaign.
pub fn schedule_campaign(sb: &mut Sandbox, id: &str) {
    if let Some(c) = sb.campaigns.get(id) {
        let (s, e) = (c.c.start_at, c.c.end_at);
        sb.schedule(s, DueKind::CampaignStart(id.into()));
        sb.schedule(e, DueKind::CampaignEnd(id.into()));
    }
}

/// Applies a clock-driven status change (start/end reached).
pub fn apply_clock_status(sb: &mut Sandbox, id: &str, at: DateTime<Utc>) {
    let Some(rec) = sb.campaigns.get(id) else {
        return;
    };
    if !matches!(
        rec.c.status,
        CampaignStatus::Approved | CampaignStatus::Live
    ) {
        return;
    }
    let next = rec.clock_status(at);
    if next != rec.c.status {
        set_status(sb, id, next, at);
    }
}

/// Sets a status and emits `campaign.state_changed`.
pub fn set_status(sb: &mut Sandbox, id: &str, status: CampaignStatus, at: DateTime<Utc>) {
    let Some(rec) = sb.campaigns.get_mut(id) else {
        return;
    };
    let prev = rec.c.status;
    if prev == status {
        return;
    }
    rec.c.status = status;
    rec.c.updated_at = at;
    let app = rec.c.app_id.clone();
    let view = campaign_view(sb, id);
    sb.emit(
        &app,
        "campaign.state_changed",
        serde_json::to_value(view).unwrap_or_default(),
        Some(prev.as_str().into()),
        at,
    );
}

/// The campaign with this month's spend.
pub fn campaign_view(sb: &Sandbox, id: &str) -> Option<Campaign> {
    let rec = sb.campaigns.get(id)?;
    let month = month_of(sb.now());
    let s = sb.ledger.spend_view(id, rec.c.budget.amount, &month);
    let mut c = rec.c.clone();
    c.spend = CampaignSpend {
        month,
        spent: Money::usd(s.spent),
        refunded: Money::usd(s.refunded),
        remaining: Money::usd(s.remaining),
    };
    Some(c)
}

/// The lifecycle actions, in the order a campaign meets them.
pub const ACTIONS: [&str; 6] = ["submit", "approve", "reject", "pause", "resume", "end"];

/// The status `action` moves the campaign to at `now`, if its status allows the action.
fn next_status(rec: &CampaignRec, action: &str, now: DateTime<Utc>) -> Option<CampaignStatus> {
    use CampaignStatus::*;
    Some(match (action, rec.c.status) {
        ("submit", Draft | Rejected) => PendingApproval,
        ("approve", PendingApproval) => rec.clock_status(now),
        ("reject", PendingApproval) => Rejected,
        ("pause", Approved | Live) => Suspended,
        ("resume", Suspended) => rec.clock_status(now),
        ("end", s) if s != Finished => Finished,
        _ => return None,
    })
}

/// The lifecycle actions [`transition`] allows on the campaign at `now`, in [`ACTIONS`] order.
pub fn allowed_actions(rec: &CampaignRec, now: DateTime<Utc>) -> Vec<&'static str> {
    ACTIONS
        .into_iter()
        .filter(|a| next_status(rec, a, now).is_some())
        .collect()
}

/// Applies a lifecycle call.
pub fn transition(
    sb: &mut Sandbox,
    app_id: &str,
    id: &str,
    action: &str,
    reason: Option<String>,
) -> ApiResult<Campaign> {
    let rec = sb.campaigns.own(app_id, id)?;
    let now = sb.now();
    let cur = rec.c.status;
    let Some(next) = next_status(rec, action, now) else {
        return Err(ApiError::transition(format!(
            "Cannot {action} a campaign in status `{}`.",
            cur.as_str()
        )));
    };
    if action == "reject" {
        let r = reason.unwrap_or_default();
        if !len_ok(&r, 1, 1000) {
            return Err(ApiError::validation(
                "reason",
                "`reason` must be 1–1000 characters.",
            ));
        }
        sb.campaigns
            .get_mut(id)
            .expect("checked")
            .c
            .rejection_reason = Some(r);
    }
    if action == "submit" {
        sb.campaigns
            .get_mut(id)
            .expect("checked")
            .c
            .rejection_reason = None;
    }
    if action == "approve" {
        schedule_campaign(sb, id);
    }
    set_status(sb, id, next, now);
    Ok(campaign_view(sb, id).expect("exists"))
}

/// The fields that cannot change once a campaign is approved (approved, live or suspended).
pub const LOCKED_ONCE_APPROVED: [&str; 6] = [
    "brand_name",
    "start_at",
    "cost_per_action",
    "marketplaces",
    "reward_groups",
    "moments",
];

/// Whether a campaign in `status` may be edited ([`update_campaign`]); once approved, only some fields.
pub fn editable(status: CampaignStatus) -> bool {
    !matches!(
        status,
        CampaignStatus::PendingApproval | CampaignStatus::Finished
    )
}

/// Applies a PATCH.
pub fn update_campaign(
    sb: &mut Sandbox,
    app_id: &str,
    id: &str,
    u: CampaignUpdate,
) -> ApiResult<Campaign> {
    use CampaignStatus::*;
    let rec = sb.campaigns.own(app_id, id)?;
    let now = sb.now();
    let status = rec.c.status;
    let limited = matches!(status, Approved | Live | Suspended);
    if !editable(status) {
        return Err(ApiError::transition(format!(
            "A campaign in status `{}` cannot be edited.",
            status.as_str()
        )));
    }
    if limited {
        let set = [
            u.brand_name.is_some(),
            u.start_at.is_some(),
            u.cost_per_action.is_some(),
            u.marketplaces.is_some(),
            u.reward_groups.is_some(),
            u.moments.is_some(),
        ];
        if let Some((f, _)) = LOCKED_ONCE_APPROVED.iter().zip(set).find(|(_, set)| *set) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "invalid_state_transition",
                format!(
                    "`{f}` cannot change once the campaign is `{}`.",
                    status.as_str()
                ),
            )
            .param(*f));
        }
    }
    let mut c = rec.c.clone();
    if let Some(v) = u.name {
        c.name = v;
    }
    if let Some(v) = u.brand_name {
        c.brand_name = v;
    }
    if let Some(v) = u.start_at {
        c.start_at = v;
    }
    if let Some(v) = u.end_at {
        if limited && v <= now {
            return Err(ApiError::validation(
                "end_at",
                "`end_at` may not be in the past.",
            ));
        }
        c.end_at = v;
    }
    if let Some(v) = u.budget {
        if limited {
            let spent = sb.ledger.campaign(id, &month_of(now)).net();
            if v.amount < spent {
                return Err(ApiError::validation(
                    "budget.amount",
                    "The budget may not go below this month's spend.",
                ));
            }
        }
        c.budget = v;
    }
    if let Some(v) = u.cost_per_action {
        c.cost_per_action = v;
    }
    if let Some(v) = u.marketplaces {
        c.marketplaces = v;
    }
    if let Some(v) = u.reward_groups {
        c.reward_groups = v;
    }
    if let Some(v) = u.moments {
        c.moments = v
            .into_iter()
            .map(|mut m| {
                m.frequency_cap.get_or_insert(FrequencyCap {
                    max_rewards: 1,
                    period_seconds: None,
                });
                m
            })
            .collect();
    }
    if let Some(v) = u.announcement_message {
        c.announcement_message = v;
    }
    if let Some(v) = u.redemption_message {
        c.redemption_message = v;
    }
    if let Some(v) = u.landing_image_url {
        c.landing_image_url = Some(v);
    }
    if let Some(v) = u.reward_expiry_seconds {
        c.reward_expiry_seconds = v;
    }
    if let Some(v) = u.fraud {
        fraud_rules::validate(&v)?;
        c.fraud = Limits::of(&v).settings();
    }
    validate_campaign(sb, &c)?;
    c.updated_at = now;
    let end_changed = c.end_at != rec.c.end_at;
    sb.campaigns.get_mut(id).expect("checked").c = c;
    if end_changed && limited {
        let e = sb.campaigns[id].c.end_at;
        sb.schedule(e, DueKind::CampaignEnd(id.into()));
    }
    Ok(campaign_view(sb, id).expect("exists"))
}
