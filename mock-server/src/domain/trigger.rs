//! The consuming call: checks in the documented order, then issue.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use http::StatusCode;
use sha2::{Digest, Sha256};

use crate::domain::campaigns;
use crate::domain::clock::month_of;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::fraud::rules::{Counted, Limits, Velocity};
use crate::domain::ids;
use crate::domain::model::*;
use crate::domain::money::{Money, marketplace_currency};
use crate::domain::principal::{Principal, TokenFact, valid_customer_id, valid_label};
use crate::domain::rewards::record;
use crate::domain::rewards::record::IssueParts;
use crate::domain::sandbox::{ActionKey, DueKind, RewardRec, Sandbox, TestRewardKey};

/// The reward group and variant chosen for a customer.
#[derive(Clone, Debug)]
pub struct Selection {
    /// Group id.
    pub group_id: String,
    /// Variant id.
    pub variant_id: Option<String>,
    /// Items in fallback order.
    pub items: Vec<String>,
    /// Cost (variant, else group, else campaign).
    pub cost: Money,
}

/// Deterministic A/B bucket: SHA-256(campaign_id ":" customer_id), first 8 bytes big-endian, mod total.
pub fn ab_bucket(campaign_id: &str, customer_id: &str, total: u64) -> u64 {
    let h = Sha256::digest(format!("{campaign_id}:{customer_id}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    u64::from_be_bytes(b) % total.max(1)
}

/// Picks the reward group (and variant) per the documented selection rules.
pub fn select(
    c: &Campaign,
    marketplace: &str,
    segment: Option<&str>,
    forced: Option<&str>,
    customer: Option<&str>,
) -> ApiResult<Selection> {
    if !c.marketplaces.iter().any(|m| m == marketplace) {
        return Err(ApiError::unprocessable(
            "marketplace_not_allowed",
            format!("The campaign does not target {marketplace}."),
        ));
    }
    let group = if let Some(f) = forced {
        let g = c
            .reward_groups
            .iter()
            .find(|g| g.id == f)
            .ok_or_else(|| ApiError::not_found("reward group", f).param("reward_group_id"))?;
        if g.marketplace != marketplace {
            return Err(ApiError::unprocessable(
                "marketplace_not_allowed",
                format!(
                    "Reward group {f} is for {}, not {marketplace}.",
                    g.marketplace
                ),
            )
            .param("reward_group_id"));
        }
        g
    } else {
        let in_m = || {
            c.reward_groups
                .iter()
                .filter(|g| g.marketplace == marketplace)
        };
        let by_seg = segment.and_then(|s| in_m().find(|g| g.segments.iter().any(|x| x == s)));
        by_seg
            .or_else(|| in_m().find(|g| g.segments.is_empty()))
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "segment_not_targeted",
                    "No reward group serves this customer's segment in this marketplace.",
                )
            })?
    };
    let base_cost = group
        .cost_per_action
        .clone()
        .unwrap_or_else(|| c.cost_per_action.clone());
    if group.variants.is_empty() {
        return Ok(Selection {
            group_id: group.id.clone(),
            variant_id: None,
            items: group.items.clone(),
            cost: base_cost,
        });
    }
    let total: u64 = group.variants.iter().map(|v| v.weight as u64).sum();
    // Without a customer (compat calls, anonymous info) the first variant is shown.
    let pick = customer
        .map(|cust| ab_bucket(&c.id, cust, total))
        .unwrap_or(0);
    let mut acc = 0u64;
    let mut chosen = &group.variants[0];
    for v in &group.variants {
        acc += v.weight as u64;
        if pick < acc {
            chosen = v;
            break;
        }
    }
    Ok(Selection {
        group_id: group.id.clone(),
        variant_id: Some(chosen.id.clone()),
        items: chosen.items.clone(),
        cost: chosen.cost_per_action.clone().unwrap_or(base_cost),
    })
}

/// Everything a validated trigger needs.
pub struct TriggerInput {
    /// App.
    pub app_id: String,
    /// Account.
    pub account_id: String,
    /// Campaign.
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// Customer (None for compat).
    pub customer_id: Option<String>,
    /// Marketplace.
    pub marketplace: String,
    /// Segment.
    pub segment: Option<String>,
    /// Device type.
    pub device_type: DeviceType,
    /// Device id.
    pub device_id: Option<String>,
    /// IP.
    pub ip: Option<String>,
    /// Forced group.
    pub reward_group_id: Option<String>,
    /// Quantity.
    pub quantity: i64,
    /// Whether a customer token is calling.
    pub customer_token: bool,
    /// When the action happened on the device, as the request said (kept on the reward).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Id and link token for the reward, if one is issued ([`ids::fresh_reward`]): drawn before the state is
    /// locked.
    pub fresh: (Arc<str>, ids::LinkToken),
}

/// What the rest of the pipeline needs of the campaign and moment, copied out so the state can
/// change.
struct Plan {
    /// Test mode: the campaign is approved and not yet live, or the mock is in test mode.
    test: bool,
    /// The reward group and variant selected for the caller.
    selection: Selection,
    /// The moment's goal.
    goal: Option<Goal>,
    /// The moment's frequency cap.
    cap: FrequencyCap,
    /// The campaign's fraud limits.
    limits: Limits,
    /// The campaign's monthly budget.
    budget: i64,
    /// How long a reward stays redeemable.
    expiry_seconds: i64,
    /// The campaign's end.
    end_at: DateTime<Utc>,
}

/// What differs between a test reward and an issued one ([`Sandbox::store_reward`]).
struct RewardParts<'a> {
    fresh: (Arc<str>, ids::LinkToken),
    prefix: &'static str,
    test: bool,
    cost: &'a Money,
    /// Whether the record names the trigger's customer, segment, device and `occurred_at` (a test
    /// reward is shared, so it names none).
    customer: bool,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    month: &'a str,
    reserved_item: Option<&'a str>,
    flag: Option<Box<RewardFlag>>,
}

/// Outcome of a trigger.
pub enum Outcome {
    /// A reward (id).
    Reward(Arc<str>),
    /// Goal progress.
    Progress(Progress),
}

/// Runs a trigger (v1 or compat) through the checks of `docs/api.md`, in its order; the first
/// failure wins. `Ok` outcomes have changed state; errors changed nothing except velocity
/// counters (which count every trigger that passed the velocity check).
pub fn run_trigger(sb: &mut Sandbox, t: &TriggerInput) -> ApiResult<Outcome> {
    let now = sb.now();
    // Campaign → moment → marketplace → reward group and variant.
    let plan = plan(sb, t)?;
    if plan.test {
        return Ok(Outcome::Reward(test_reward(sb, t, &plan, now)));
    }
    check_velocity(sb, t, &plan, now)?;
    if let Some(progress) = count_toward_goal(sb, t, &plan, now) {
        return Ok(Outcome::Progress(progress));
    }
    let cap_key = check_frequency_cap(sb, t, &plan, now)?;
    let item = pick_item(sb, t, &plan)?;
    let month = month_of(now);
    sb.ledger.charge(
        &t.account_id,
        &t.campaign_id,
        plan.budget,
        &month,
        plan.selection.cost.amount,
    )?;
    Ok(Outcome::Reward(issue_reward(
        sb, t, &plan, &item, &month, cap_key, now,
    )))
}

/// The campaign (live, or approved: test mode), the moment (client-reportable for a customer
/// token), and the reward group and variant selected for the caller.
fn plan(sb: &Sandbox, t: &TriggerInput) -> ApiResult<Plan> {
    // Borrowed, not cloned: this runs under the one lock on every trigger.
    let c = &sb.campaigns.own(&t.app_id, &t.campaign_id)?.c;
    let test = sb.test_mode
        || match c.status {
            CampaignStatus::Live => false,
            CampaignStatus::Approved => true,
            s => {
                return Err(ApiError::unprocessable(
                    "campaign_not_live",
                    format!("Campaign {} is `{}`, not live.", c.id, s.as_str()),
                ));
            }
        };
    let moment = c
        .moments
        .iter()
        .find(|m| m.id == t.moment_id)
        .ok_or_else(|| ApiError::not_found("moment", &t.moment_id).param("moment_id"))?;
    if t.customer_token && !moment.client_reportable {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "moment_not_client_reportable",
            format!(
                "Moment {} may only be reported by the brand's server.",
                moment.id
            ),
        ));
    }
    let selection = select(
        c,
        &t.marketplace,
        t.segment.as_deref(),
        t.reward_group_id.as_deref(),
        t.customer_id.as_deref(),
    )?;
    Ok(Plan {
        test,
        selection,
        goal: moment.goal.clone(),
        cap: moment.frequency_cap.clone().unwrap_or(FrequencyCap {
            max_rewards: 1,
            period_seconds: None,
        }),
        limits: Limits::of(&c.fraud),
        budget: c.budget.amount,
        expiry_seconds: c.reward_expiry_seconds,
        end_at: c.end_at,
    })
}

/// Velocity per customer, device and IP: each applies only to a trigger that names its key
/// (compat calls name none of them, as the original service had no such limit).
fn check_velocity(
    sb: &mut Sandbox,
    t: &TriggerInput,
    plan: &Plan,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let cid = t.campaign_id.as_str();
    let windows: Vec<Counted> = [
        (Velocity::Customer, t.customer_id.as_deref()),
        (Velocity::Device, t.device_id.as_deref()),
        (Velocity::Ip, t.ip.as_deref()),
    ]
    .into_iter()
    .filter_map(|(kind, key)| {
        key.map(|k| {
            let digest = sb.digest(&[cid, kind.as_str(), k]);
            (digest, kind, kind.limit(&plan.limits))
        })
    })
    .collect();
    sb.fraud.count_velocity(&windows, now)
}

/// For a goal moment: counts the action in the customer's sliding window, and answers the
/// progress while the goal is not met (the goal's actions are consumed when the reward issues).
fn count_toward_goal(
    sb: &mut Sandbox,
    t: &TriggerInput,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Option<Progress> {
    let (goal, customer) = (plan.goal.as_ref()?, t.customer_id.as_ref()?);
    let key = (t.campaign_id.clone(), t.moment_id.clone(), customer.clone());
    let standing = sb.goals.count(key.clone(), goal, t.quantity, now)?;
    record_action(sb, t, &plan.selection, now);
    Some(standing.progress(key, goal))
}

/// Refuses a customer who already got the moment's maximum rewards in the cap's period
/// (cancelled rewards do not count); the customer's key for recording this reward.
fn check_frequency_cap(
    sb: &Sandbox,
    t: &TriggerInput,
    plan: &Plan,
    now: DateTime<Utc>,
) -> ApiResult<Option<u64>> {
    let Some(customer) = t.customer_id.as_deref() else {
        return Ok(None);
    };
    let key = sb.digest(&[&t.campaign_id, &t.moment_id, customer]);
    let since = plan.cap.period_seconds.map(|p| now - Duration::seconds(p));
    let n = sb
        .rewards
        .held(key)
        .filter(|r| r.status != RewardStatus::Cancelled && since.is_none_or(|s| r.created_at > s))
        .count() as i64;
    if n >= plan.cap.max_rewards {
        return Err(ApiError::unprocessable(
            "frequency_cap_reached",
            format!(
                "The customer already got {n} reward(s) for moment {}.",
                t.moment_id
            ),
        ));
    }
    Ok(Some(key))
}

/// Inventory: the first item of the group or variant with stock in the marketplace, in order.
fn pick_item(sb: &Sandbox, t: &TriggerInput, plan: &Plan) -> ApiResult<String> {
    plan.selection
        .items
        .iter()
        .find(|i| sb.catalog.stock(i, &t.marketplace) > 0)
        .cloned()
        .ok_or_else(|| {
            ApiError::unprocessable(
                "inventory_exhausted",
                "No item of the reward group has stock in this marketplace.",
            )
        })
}

/// Issues the charged reward: reserves the item, consumes the goal, holds it for review when
/// the device is shared, stores it, schedules its expiry and emits its event.
fn issue_reward(
    sb: &mut Sandbox,
    t: &TriggerInput,
    plan: &Plan,
    item: &str,
    month: &str,
    cap_key: Option<u64>,
    now: DateTime<Utc>,
) -> Arc<str> {
    let cid = t.campaign_id.as_str();
    sb.catalog.adjust_stock(item, &t.marketplace, -1);
    if plan.goal.is_some()
        && let Some(cu) = &t.customer_id
    {
        sb.goals
            .consume(&(t.campaign_id.clone(), t.moment_id.clone(), cu.clone()));
    }
    let flag = match (&t.device_id, &t.customer_id) {
        (Some(d), Some(cu)) => {
            let (dk, ck) = (sb.digest(&[cid, d]), sb.digest(&[cu]));
            sb.fraud.shared_device(dk, ck, &plan.limits)
        }
        _ => None,
    };
    let expires_at = now + Duration::seconds(plan.expiry_seconds);
    let id = store_reward(
        sb,
        t,
        &plan.selection,
        RewardParts {
            fresh: t.fresh.clone(),
            prefix: "rwd_",
            test: false,
            cost: &plan.selection.cost,
            customer: true,
            created_at: now,
            expires_at,
            month,
            reserved_item: Some(item),
            flag: flag.clone(),
        },
    );
    sb.rewards.list_issued(&id, cap_key);
    record_action(sb, t, &plan.selection, now);
    sb.schedule(expires_at, DueKind::Expire(id.clone()));
    match flag {
        Some(fl) => {
            let rseq = sb.next_seq();
            sb.reviews.open(
                rseq,
                FraudReview {
                    object: "fraud_review".into(),
                    reward_id: id.to_string(),
                    campaign_id: cid.to_owned(),
                    reason_code: fl.reason_code,
                    decision: "held".into(),
                    created_at: now,
                    decided_at: None,
                },
            );
            sb.emit_reward(&id, "reward.flagged", now);
        }
        None => sb.emit_reward(&id, "reward.issued", now),
    }
    check_budget_exhausted(sb, cid, now);
    id
}

/// Stores a reward record, test or issued (the one way a reward is made).
fn store_reward(
    sb: &mut Sandbox,
    t: &TriggerInput,
    sel: &Selection,
    p: RewardParts<'_>,
) -> Arc<str> {
    let offer = sb.catalog.shared_offer(&sel.items, &t.marketplace);
    let issue = record::issue_for(
        sb,
        IssueParts {
            app_id: &t.app_id,
            account_id: &t.account_id,
            campaign_id: &t.campaign_id,
            moment_id: &t.moment_id,
            reward_group_id: &sel.group_id,
            variant_id: sel.variant_id.as_deref(),
            marketplace: &t.marketplace,
            // A test reward is shared by its group's callers: it names no customer or segment.
            segment: if p.customer {
                t.segment.as_deref()
            } else {
                None
            },
            cost: p.cost,
            offer,
        },
    );
    let seq = sb.next_seq();
    let charged_month = sb.intern(p.month);
    let reserved_item = p.reserved_item.map(|i| sb.intern(i));
    let (id, token) = p.fresh;
    sb.rewards.insert(
        p.prefix,
        Box::new(RewardRec {
            seq,
            id,
            issue,
            token,
            customer_id: t
                .customer_id
                .as_deref()
                .filter(|_| p.customer)
                .map(Box::from),
            device_type: t.device_type,
            status: if p.flag.is_some() {
                RewardStatus::Flagged
            } else {
                RewardStatus::Issued
            },
            test: p.test,
            refunded: false,
            created_at: p.created_at,
            occurred_at: t.occurred_at.filter(|_| p.customer),
            expires_at: p.expires_at,
            charged_month,
            reserved_item,
            flag: p.flag,
            later: None,
        }),
    )
}

fn record_action(sb: &mut Sandbox, t: &TriggerInput, sel: &Selection, at: DateTime<Utc>) {
    let key = ActionKey {
        app_id: sb.intern(&t.app_id),
        campaign_id: sb.intern(&t.campaign_id),
        moment_id: sb.intern(&t.moment_id),
        marketplace: sb.intern(&t.marketplace),
        segment: t.segment.as_deref().map(|s| sb.intern(s)),
        variant_id: sel.variant_id.as_deref().map(|v| sb.intern(v)),
        day: at.date_naive(),
    };
    *sb.actions.entry(key).or_default() += 1;
}

/// Emits `campaign.budget_exhausted` once per month when the remaining budget drops below the cheapest cost.
pub fn check_budget_exhausted(sb: &mut Sandbox, campaign_id: &str, at: DateTime<Utc>) {
    let Some(rec) = sb.campaigns.get(campaign_id) else {
        return;
    };
    let month = month_of(at);
    if rec.exhausted_months.contains(&month) {
        return;
    }
    let c = &rec.c;
    let mut cheapest = c.cost_per_action.amount;
    for g in &c.reward_groups {
        if let Some(m) = &g.cost_per_action {
            cheapest = cheapest.min(m.amount);
        }
        for v in &g.variants {
            if let Some(m) = &v.cost_per_action {
                cheapest = cheapest.min(m.amount);
            }
        }
    }
    let remaining = sb
        .ledger
        .campaign_remaining(campaign_id, c.budget.amount, &month);
    if remaining < cheapest {
        let app = c.app_id.clone();
        sb.campaigns
            .get_mut(campaign_id)
            .expect("exists")
            .exhausted_months
            .insert(month);
        let view = campaigns::campaign_view(sb, campaign_id);
        sb.emit(
            &app,
            "campaign.budget_exhausted",
            serde_json::to_value(view).unwrap_or_default(),
            None,
            at,
        );
    }
}

/// The test reward of (campaign, moment, reward group, variant): the same id and URL for every
/// caller the selection puts in that group and variant, as the original service answered per
/// reward group; consumes nothing. The stored record names no customer or segment:
/// [`Sandbox::test_reward_for`] renders it for each caller.
fn test_reward(sb: &mut Sandbox, t: &TriggerInput, plan: &Plan, now: DateTime<Utc>) -> Arc<str> {
    let sel = &plan.selection;
    let key = TestRewardKey {
        campaign_id: t.campaign_id.clone(),
        moment_id: t.moment_id.clone(),
        reward_group_id: sel.group_id.clone(),
        variant_id: sel.variant_id.clone(),
    };
    if let Some(id) = sb.rewards.test_reward(&key) {
        return id;
    }
    let id = store_reward(
        sb,
        t,
        sel,
        RewardParts {
            fresh: ids::fresh_reward("rwd_test_"),
            prefix: "rwd_test_",
            test: true,
            cost: &Money::usd(0),
            customer: false,
            created_at: now,
            expires_at: plan
                .end_at
                .max(now + Duration::seconds(plan.expiry_seconds)),
            month: &month_of(now),
            reserved_item: None,
            flag: None,
        },
    );
    sb.rewards.set_test_reward(key, id.clone());
    id
}

/// A test reward as one caller sees it: its customer, segment and `occurred_at` (the stored
/// record is shared by every caller of its group and names none of them).
pub fn test_reward_for(
    sb: &mut Sandbox,
    r: &RewardRec,
    customer_id: Option<&str>,
    segment: Option<&str>,
    occurred_at: Option<DateTime<Utc>>,
) -> RewardRec {
    let i = r.issue.clone();
    let issue = record::issue_for(
        sb,
        IssueParts {
            app_id: &i.app_id,
            account_id: &i.account_id,
            campaign_id: &i.campaign_id,
            moment_id: &i.moment_id,
            reward_group_id: &i.reward_group_id,
            variant_id: i.variant_id.as_deref(),
            marketplace: &i.marketplace,
            segment,
            cost: &i.cost,
            offer: i.offer.clone(),
        },
    );
    RewardRec {
        issue,
        customer_id: customer_id.map(Box::from),
        occurred_at,
        ..r.clone()
    }
}

/// Validates a v1 trigger body against the caller.
pub fn validate_trigger(
    p: &Principal,
    b: &Trigger,
    peer_ip: Option<std::net::IpAddr>,
) -> ApiResult<TriggerInput> {
    // The token is the truth: with a customer token every fact below is the token's, and a body
    // naming another value is refused (`Principal::scoped`).
    let named = b.customer.as_ref();
    let customer_token = p.customer().is_some();
    if !customer_token && named.is_none() {
        return Err(ApiError::validation(
            "customer",
            "`customer` is required with a secret key.",
        ));
    }
    let customer_id = p
        .scoped(
            TokenFact::Customer,
            "customer.id",
            named.map(|c| c.id.as_str()),
        )?
        .unwrap_or_default()
        .to_owned();
    let marketplace = p
        .scoped(
            TokenFact::Marketplace,
            "customer.marketplace",
            named.map(|c| c.marketplace.as_str()),
        )?
        .unwrap_or_default()
        .to_owned();
    let segment = p
        .scoped(
            TokenFact::Segment,
            "customer.segment",
            named.and_then(|c| c.segment.as_deref()),
        )?
        .map(str::to_owned);
    p.secret_only_field("reward_group_id", b.reward_group_id.is_some())?;
    p.secret_only_field("device.ip", b.device.ip.is_some())?;
    if !valid_customer_id(&customer_id) {
        return Err(ApiError::validation(
            "customer.id",
            "`customer.id` must be 1–128 characters of [A-Za-z0-9_.:@-].",
        ));
    }
    if marketplace_currency(&marketplace).is_none() {
        return Err(ApiError::validation(
            "customer.marketplace",
            "Unknown marketplace code.",
        ));
    }
    if let Some(s) = &segment
        && !valid_label(s)
    {
        return Err(ApiError::validation(
            "customer.segment",
            "Segments match ^[A-Za-z0-9_-]{1,64}$.",
        ));
    }
    let quantity = b.quantity.unwrap_or(1);
    if !(1..=1_000_000).contains(&quantity) {
        return Err(ApiError::validation(
            "quantity",
            "`quantity` must be 1–1000000.",
        ));
    }
    if let Some(d) = &b.device.id
        && !(1..=200).contains(&d.chars().count())
    {
        return Err(ApiError::validation(
            "device.id",
            "`device.id` must be 1–200 characters.",
        ));
    }
    if b.campaign_id.is_empty() {
        return Err(ApiError::validation(
            "campaign_id",
            "`campaign_id` is required.",
        ));
    }
    Ok(TriggerInput {
        app_id: p.app_id().into(),
        account_id: p.account_id().into(),
        campaign_id: b.campaign_id.clone(),
        moment_id: b.moment_id.clone(),
        customer_id: Some(customer_id),
        marketplace,
        segment,
        device_type: b.device.kind,
        device_id: b.device.id.clone(),
        // A customer token's address is the connection's (the body may not name one); a brand
        // server's own address would throttle all its customers together, so with a secret key only
        // the `device.ip` it passes counts.
        ip: if customer_token {
            peer_ip.map(|ip| ip.to_string())
        } else {
            b.device.ip.clone()
        },
        reward_group_id: b.reward_group_id.clone(),
        quantity,
        customer_token,
        occurred_at: b.occurred_at,
        fresh: ids::fresh_reward("rwd_"),
    })
}

#[cfg(test)]
mod tests {
    use super::ab_bucket;

    /// The split is a function of (campaign, customer) alone: fixed ids give fixed buckets, so
    /// these shares are exact for these inputs, not samples.
    #[test]
    fn buckets_follow_the_weights_for_fixed_campaigns() {
        for campaign in ["cmp_fixed_1", "cmp_fixed_2", "cmp_fixed_3"] {
            let n = 20_000u64;
            let mut half = 0;
            let mut tenth = 0;
            for i in 0..n {
                let customer = format!("cust_{i}");
                let b = ab_bucket(campaign, &customer, 100);
                assert!(b < 100);
                assert_eq!(
                    b,
                    ab_bucket(campaign, &customer, 100),
                    "stable per customer"
                );
                half += u64::from(b < 50);
                tenth += u64::from(b < 10);
            }
            // 20,000 draws: σ ≈ 0.35 % at 50 % and 0.21 % at 10 %; ±1.5 % is > 4σ.
            assert!(
                (9_700..=10_300).contains(&half),
                "{campaign}: 50 % got {half}"
            );
            assert!(
                (1_700..=2_300).contains(&tenth),
                "{campaign}: 10 % got {tenth}"
            );
        }
    }

    #[test]
    fn the_same_customer_lands_independently_in_different_campaigns() {
        let differs = (0..200)
            .filter(|i| {
                let c = format!("cust_{i}");
                (ab_bucket("cmp_a", &c, 2) == 0) != (ab_bucket("cmp_b", &c, 2) == 0)
            })
            .count();
        // Independent halves disagree about half the time; a campaign-blind hash never would.
        assert!((60..=140).contains(&differs), "{differs} of 200 differ");
    }

    #[test]
    fn a_zero_total_does_not_divide_by_zero() {
        assert_eq!(ab_bucket("cmp", "cust", 0), 0);
    }
}
