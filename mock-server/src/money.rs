//! Money: integer minor units plus an ISO 4217 currency. Never a float.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An amount of money in the currency's minor unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Integer amount in minor units (cents for USD).
    pub amount: i64,
    /// ISO 4217 currency code.
    pub currency: String,
}

impl Money {
    /// An amount in USD cents.
    pub fn usd(amount: i64) -> Money {
        Money {
            amount,
            currency: "USD".into(),
        }
    }
}

/// The currency of a marketplace, or `None` for an unknown marketplace code.
pub fn marketplace_currency(m: &str) -> Option<&'static str> {
    Some(match m {
        "US" => "USD",
        "CA" => "CAD",
        "MX" => "MXN",
        "BR" => "BRL",
        "UK" => "GBP",
        "DE" | "FR" | "IT" | "ES" | "NL" => "EUR",
        "IN" => "INR",
        "JP" => "JPY",
        "AU" => "AUD",
        _ => return None,
    })
}

/// The 13 marketplaces.
pub const MARKETPLACES: [&str; 13] = [
    "US", "CA", "MX", "BR", "UK", "DE", "FR", "IT", "ES", "NL", "IN", "JP", "AU",
];
