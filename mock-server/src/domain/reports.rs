//! Reports: aggregates only (no customer ids, addresses or chosen items).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::domain::clock::month_of;
use crate::domain::errors::ApiResult;
use crate::domain::model::*;
use crate::domain::money::Money;
use crate::domain::rewards::tally::{add, zero};
use crate::domain::sandbox::Sandbox;

/// A ratio as a decimal string with 4 places, truncated (`7/16` → `"0.4375"`); integers only.
pub fn rate(num: i64, den: i64) -> Option<String> {
    if den <= 0 {
        return None;
    }
    let scaled = num * 10_000 / den;
    Some(format!("{}.{:04}", scaled / 10_000, scaled % 10_000))
}

/// What a report covers: one campaign or all of the app's, a date range (UTC days, inclusive),
/// and the key rows are grouped by (`moment`, `marketplace`, `segment`, `variant` or `day`).
#[derive(Clone, Debug, Default)]
pub struct ReportQuery {
    /// One campaign of the app, or all of them.
    pub campaign_id: Option<String>,
    /// First day counted.
    pub from: Option<NaiveDate>,
    /// Last day counted.
    pub to: Option<NaiveDate>,
    /// The grouping key of the rows; no rows without one.
    pub group_by: Option<String>,
}

/// The report of `app_id` (of account `account_id`): accepted actions, rewards by status, spend,
/// refunds and what is left of the budget (the campaign's, or the account's without a campaign).
pub fn report_of(
    g: &Sandbox,
    app_id: &str,
    account_id: &str,
    q: &ReportQuery,
) -> ApiResult<Report> {
    let mut reports = reports_of(g, app_id, account_id, q, &[q.group_by.as_deref()])?;
    Ok(reports.pop().expect("one grouping, one report"))
}

/// The reports of one query under several groupings (`None`: totals only), in one pass over the
/// counted actions and the rewards: each is the report [`report_of`] gives for that `group_by`.
pub fn reports_of(
    g: &Sandbox,
    app_id: &str,
    account_id: &str,
    q: &ReportQuery,
    groupings: &[Option<&str>],
) -> ApiResult<Vec<Report>> {
    let campaign = q.campaign_id.clone();
    let (from, to) = (q.from, q.to);
    if let Some(c) = &campaign {
        g.campaigns.own(app_id, c)?;
    }
    let in_range = |d: NaiveDate| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t);
    let key_of = |group_by: Option<&str>,
                  moment: &str,
                  market: &str,
                  seg: Option<&str>,
                  var: Option<&str>,
                  day: NaiveDate|
     -> String {
        match group_by {
            Some("moment") => moment.to_string(),
            Some("marketplace") => market.to_string(),
            Some("segment") => seg.unwrap_or("(none)").to_string(),
            Some("variant") => var.unwrap_or("(none)").to_string(),
            Some("day") => day.to_string(),
            _ => String::new(),
        }
    };
    let mut totals = zero();
    // The rows of each grouping; a grouping without a key keeps none.
    let mut rows: Vec<BTreeMap<String, Metrics>> = vec![BTreeMap::new(); groupings.len()];
    let mut variants: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (a, &n) in &g.actions {
        if *a.app_id != *app_id
            || campaign.as_deref().is_some_and(|c| c != &*a.campaign_id)
            || !in_range(a.day)
        {
            continue;
        }
        let n = n as i64;
        totals.actions += n;
        for (gb, rows) in groupings.iter().zip(rows.iter_mut()) {
            if gb.is_none() {
                continue;
            }
            let k = key_of(
                *gb,
                &a.moment_id,
                &a.marketplace,
                a.segment.as_deref(),
                a.variant_id.as_deref(),
                a.day,
            );
            rows.entry(k).or_insert_with(zero).actions += n;
        }
    }
    // The rewards, from the counters kept per shared issue and day of issue (`rewards::tally`): a report reads
    // those buckets, not every stored reward.
    let buckets = g.rewards.tally().buckets().filter(|(rw, day, _)| {
        *rw.app_id == *app_id
            && campaign.as_deref().is_none_or(|c| c == &*rw.campaign_id)
            && in_range(*day)
    });
    for (rw, day, m) in buckets {
        add(&mut totals, m);
        for (gb, rows) in groupings.iter().zip(rows.iter_mut()) {
            if gb.is_none() {
                continue;
            }
            let k = key_of(
                *gb,
                &rw.moment_id,
                &rw.marketplace,
                rw.segment.as_deref(),
                rw.variant_id.as_deref(),
                day,
            );
            add(rows.entry(k).or_insert_with(zero), m);
        }
        if let Some(v) = &rw.variant_id {
            let e = variants.entry(v.to_string()).or_default();
            e.0 += m.rewards_issued;
            e.1 += m.rewards_redeemed;
        }
    }
    let month = month_of(g.now());
    let remaining = match &campaign {
        Some(c) => g
            .ledger
            .remaining(account_id, c, g.campaigns[c].c.budget.amount, &month),
        None => g.ledger.account_remaining(account_id, &month),
    };
    let variants: Vec<VariantStats> = variants
        .into_iter()
        .map(|(variant_id, (i, r))| VariantStats {
            variant_id,
            issued: i,
            redeemed: r,
            redemption_rate: rate(r, i),
        })
        .collect();
    Ok(groupings
        .iter()
        .zip(rows)
        .map(|(gb, rows)| Report {
            object: "report".into(),
            campaign_id: campaign.clone(),
            from: from.map(|d| d.to_string()),
            to: to.map(|d| d.to_string()),
            totals: totals.clone(),
            rows: rows
                .into_iter()
                .map(|(key, metrics)| ReportRow { key, metrics })
                .collect(),
            group_by: gb.map(str::to_string),
            remaining_budget: Money::usd(remaining),
            variants: variants.clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_are_exact_decimal_strings() {
        assert_eq!(super::rate(7, 16).as_deref(), Some("0.4375"));
        assert_eq!(super::rate(1, 1).as_deref(), Some("1.0000"));
        assert_eq!(super::rate(1, 3).as_deref(), Some("0.3333"));
        assert_eq!(super::rate(0, 0), None);
    }
}
