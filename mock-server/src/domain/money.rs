//! Money: integer minor units plus an ISO 4217 currency. Never a float.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An amount of money in the currency's minor unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Integer amount in minor units (cents for USD).
    pub amount: i64,
    /// ISO 4217 currency code (borrowed from a static table when the server makes it: no
    /// allocation per stored amount).
    #[schema(value_type = String)]
    pub currency: std::borrow::Cow<'static, str>,
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

impl Money {
    /// The same amount, with the currency code borrowed from the static table when it is a
    /// marketplace currency (as every stored cost is), so storing it allocates nothing.
    pub fn shared(&self) -> Money {
        let code = MARKETPLACES
            .iter()
            .filter_map(|m| marketplace_currency(m))
            .find(|c| *c == self.currency);
        Money {
            amount: self.amount,
            currency: code.map_or_else(|| self.currency.clone(), Into::into),
        }
    }
}

impl std::fmt::Display for Money {
    /// For people: `49.99 USD`, `500 JPY` — the amount in major units with the currency's minor-unit digits.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = minor_unit_digits(&self.currency);
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        if digits == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let scale = 10u64.pow(digits);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale,
            abs % scale,
            self.currency,
            width = digits as usize
        )
    }
}

/// Digits after the decimal point in a currency's minor unit (ISO 4217): 0 for JPY, 2 otherwise here.
pub fn minor_unit_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "CLP" | "ISK" | "VND" => 0,
        "BHD" | "KWD" | "OMR" | "TND" | "JOD" => 3,
        _ => 2,
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

#[cfg(test)]
mod display_tests {
    use super::Money;

    #[test]
    fn money_displays_in_major_units_for_people() {
        assert_eq!(Money::usd(4999).to_string(), "49.99 USD");
        assert_eq!(Money::usd(5).to_string(), "0.05 USD");
        assert_eq!(Money::usd(-250).to_string(), "-2.50 USD");
        let yen = Money {
            amount: 500,
            currency: "JPY".into(),
        };
        assert_eq!(yen.to_string(), "500 JPY");
    }
}
