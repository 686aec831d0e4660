//! The ledger: the one place money rules are enforced.
//!
//! A reward's cost is charged at issue to the UTC month of issue; an unredeemed reward that
//! expires, is cancelled or is blocked is refunded to the month it was charged in. At every
//! instant a campaign's net spend in a month ≤ its budget ≤ 500000 and an account's net spend
//! in a month ≤ 1500000 (minor units, USD).

use std::collections::HashMap;

use crate::domain::errors::ApiError;

/// Maximum monthly budget of one campaign (USD cents).
pub const CAMPAIGN_CAP: i64 = 500_000;
/// Maximum monthly spend of one account (USD cents).
pub const ACCOUNT_CAP: i64 = 1_500_000;
/// Minimum campaign budget.
pub const MIN_BUDGET: i64 = 5_000;

/// Charged and refunded totals of one month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonthTotals {
    /// Gross charges.
    pub charged: i64,
    /// Refunds.
    pub refunded: i64,
}

impl MonthTotals {
    /// Net spend.
    pub fn net(&self) -> i64 {
        self.charged - self.refunded
    }
}

/// Spend per campaign and per account, per month.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Campaign id → month (`YYYY-MM`) → totals. Nested so lookups by `&str` allocate nothing.
    campaigns: HashMap<String, HashMap<String, MonthTotals>>,
    /// Account id → month → totals.
    accounts: HashMap<String, HashMap<String, MonthTotals>>,
}

type Months = HashMap<String, MonthTotals>;

fn totals(map: &HashMap<String, Months>, owner: &str, month: &str) -> MonthTotals {
    map.get(owner)
        .and_then(|m| m.get(month))
        .copied()
        .unwrap_or_default()
}

fn totals_mut<'a>(
    map: &'a mut HashMap<String, Months>,
    owner: &str,
    month: &str,
) -> &'a mut MonthTotals {
    if !map.contains_key(owner) {
        map.insert(owner.to_string(), HashMap::new());
    }
    let months = map.get_mut(owner).expect("inserted above");
    if !months.contains_key(month) {
        months.insert(month.to_string(), MonthTotals::default());
    }
    months.get_mut(month).expect("inserted above")
}

/// Checks a campaign's monthly budget against the limits (`MIN_BUDGET`–`CAMPAIGN_CAP`).
pub fn check_budget(amount: i64) -> Result<(), ApiError> {
    if (MIN_BUDGET..=CAMPAIGN_CAP).contains(&amount) {
        return Ok(());
    }
    Err(ApiError::validation(
        "budget.amount",
        format!("The monthly budget must be {MIN_BUDGET}–{CAMPAIGN_CAP} (USD cents)."),
    ))
}

/// A campaign's spend in one month, as the API shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpendView {
    /// Net spend (charges less refunds).
    pub spent: i64,
    /// Refunds.
    pub refunded: i64,
    /// What the campaign may still spend this month (its budget, capped, less its net spend).
    pub remaining: i64,
}

impl Ledger {
    /// A campaign's totals for a month.
    pub fn campaign(&self, campaign: &str, month: &str) -> MonthTotals {
        totals(&self.campaigns, campaign, month)
    }

    /// An account's totals for a month.
    pub fn account(&self, account: &str, month: &str) -> MonthTotals {
        totals(&self.accounts, account, month)
    }

    /// Checks that charging `cost` keeps both caps; changes nothing.
    pub fn check(
        &self,
        account: &str,
        campaign: &str,
        budget: i64,
        month: &str,
        cost: i64,
    ) -> Result<(), ApiError> {
        let budget = budget.min(CAMPAIGN_CAP);
        if self.campaign(campaign, month).net() + cost > budget {
            return Err(ApiError::unprocessable(
                "budget_exhausted",
                format!("Campaign {campaign} has spent its budget for {month}."),
            ));
        }
        if self.account(account, month).net() + cost > ACCOUNT_CAP {
            return Err(ApiError::unprocessable(
                "account_budget_exhausted",
                format!("The account has reached its $15,000 monthly cap for {month}."),
            ));
        }
        Ok(())
    }

    /// Charges `cost` after checking the caps.
    pub fn charge(
        &mut self,
        account: &str,
        campaign: &str,
        budget: i64,
        month: &str,
        cost: i64,
    ) -> Result<(), ApiError> {
        self.check(account, campaign, budget, month, cost)?;
        totals_mut(&mut self.campaigns, campaign, month).charged += cost;
        totals_mut(&mut self.accounts, account, month).charged += cost;
        Ok(())
    }

    /// Refunds `cost` to the month it was charged in.
    pub fn refund(&mut self, account: &str, campaign: &str, month: &str, cost: i64) {
        totals_mut(&mut self.campaigns, campaign, month).refunded += cost;
        totals_mut(&mut self.accounts, account, month).refunded += cost;
    }

    /// What a campaign with `budget` may still spend in `month` (never below zero; a budget above
    /// the cap counts as the cap).
    pub fn campaign_remaining(&self, campaign: &str, budget: i64, month: &str) -> i64 {
        (budget.min(CAMPAIGN_CAP) - self.campaign(campaign, month).net()).max(0)
    }

    /// What an account may still spend in `month` under the account cap.
    pub fn account_remaining(&self, account: &str, month: &str) -> i64 {
        (ACCOUNT_CAP - self.account(account, month).net()).max(0)
    }

    /// What a campaign may still spend in `month` under both its budget and its account's cap.
    pub fn remaining(&self, account: &str, campaign: &str, budget: i64, month: &str) -> i64 {
        self.campaign_remaining(campaign, budget, month)
            .min(self.account_remaining(account, month))
    }

    /// A campaign's spend in `month`.
    pub fn spend_view(&self, campaign: &str, budget: i64, month: &str) -> SpendView {
        let t = self.campaign(campaign, month);
        SpendView {
            spent: t.net(),
            refunded: t.refunded,
            remaining: self.campaign_remaining(campaign, budget, month),
        }
    }

    /// How many rewards of `cost` can still be charged now.
    pub fn remaining_count(
        &self,
        account: &str,
        campaign: &str,
        budget: i64,
        month: &str,
        cost: i64,
    ) -> i64 {
        if cost <= 0 {
            return i64::MAX;
        }
        self.remaining(account, campaign, budget, month) / cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_budget_exactly() {
        let mut l = Ledger::default();
        for _ in 0..10 {
            l.charge("a", "c", 5_000, "2026-11", 500).unwrap();
        }
        let e = l.charge("a", "c", 5_000, "2026-11", 500).unwrap_err();
        assert_eq!(e.code, "budget_exhausted");
        assert_eq!(l.campaign("c", "2026-11").net(), 5_000);
        // A refund frees room in the charged month only.
        l.refund("a", "c", "2026-11", 500);
        assert!(l.charge("a", "c", 5_000, "2026-11", 500).is_ok());
        assert_eq!(l.campaign("c", "2026-12").net(), 0);
    }

    #[test]
    fn account_cap_across_campaigns() {
        let mut l = Ledger::default();
        for c in ["c1", "c2", "c3"] {
            l.charge("a", c, 500_000, "2026-11", 500_000).unwrap();
        }
        let e = l.charge("a", "c4", 500_000, "2026-11", 1).unwrap_err();
        assert_eq!(e.code, "account_budget_exhausted");
        assert_eq!(l.account("a", "2026-11").net(), ACCOUNT_CAP);
        assert_eq!(l.remaining_count("a", "c4", 500_000, "2026-11", 500), 0);
        // A new month starts from zero.
        assert!(l.charge("a", "c4", 500_000, "2026-12", 500).is_ok());
    }

    #[test]
    fn budget_above_cap_is_clamped() {
        let l = Ledger::default();
        assert_eq!(l.remaining_count("a", "c", 900_000, "2026-11", 100_000), 5);
        assert_eq!(l.campaign_remaining("c", 900_000, "2026-11"), CAMPAIGN_CAP);
    }

    #[test]
    fn remaining_is_the_smaller_of_budget_and_account_cap_and_never_negative() {
        let mut l = Ledger::default();
        for c in ["c1", "c2"] {
            l.charge("a", c, 500_000, "2026-11", 500_000).unwrap();
        }
        l.charge("a", "c3", 500_000, "2026-11", 499_000).unwrap();
        assert_eq!(l.account_remaining("a", "2026-11"), 1_000);
        assert_eq!(l.remaining("a", "c4", 500_000, "2026-11"), 1_000);
        assert_eq!(l.remaining("a", "c3", 500_000, "2026-11"), 1_000);
        // A budget lowered below this month's spend shows nothing left, not a negative amount.
        assert_eq!(l.campaign_remaining("c3", 5_000, "2026-11"), 0);
        l.refund("a", "c3", "2026-11", 400);
        assert_eq!(
            l.spend_view("c3", 500_000, "2026-11"),
            SpendView {
                spent: 498_600,
                refunded: 400,
                remaining: 1_400
            }
        );
    }

    #[test]
    fn budgets_outside_the_limits_are_refused_naming_the_field() {
        assert!(check_budget(MIN_BUDGET).is_ok() && check_budget(CAMPAIGN_CAP).is_ok());
        for bad in [MIN_BUDGET - 1, CAMPAIGN_CAP + 1, 0, -5] {
            assert_eq!(
                check_budget(bad).unwrap_err().param.as_deref(),
                Some("budget.amount")
            );
        }
    }
}
