//! Typed request and response bodies of the API.
//!
//! Forward compatible: unknown response fields are ignored and enum values this version does not
//! know decode into an `Unknown(String)` variant that keeps the original spelling. Money is always
//! [`Money`] (integer minor units + ISO 4217 currency); times are `DateTime<Utc>`.

use std::fmt;

use serde::{Deserialize, Serialize};

mod account;
mod campaign;
mod event;
mod legacy;
mod report;
mod reward;

pub use account::*;
pub use campaign::*;
pub use event::*;
pub use legacy::*;
pub use report::*;
pub use reward::*;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $( $(#[$vm:meta])* $v:ident = $s:literal ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vm])* $v, )*
            /// A value this version of the client does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$v => $s, )*
                    Self::Unknown(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $s => Self::$v, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::from(s.as_str()))
            }
        }
    };
}
pub(crate) use string_enum;

/// An amount of money: integer minor units (cents for USD, yen for JPY) and an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

impl Money {
    /// `amount` minor units of `currency`.
    pub fn new(amount: i64, currency: impl Into<String>) -> Self {
        Self {
            amount,
            currency: currency.into(),
        }
    }

    /// `amount` US cents.
    pub fn usd(cents: i64) -> Self {
        Self::new(cents, "USD")
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// The 13 marketplace codes of the API (`US`, `CA`, …). Marketplaces are plain strings in the
/// models so a new one never breaks decoding.
pub const MARKETPLACES: [&str; 13] = [
    "US", "CA", "MX", "BR", "UK", "DE", "FR", "IT", "ES", "NL", "IN", "JP", "AU",
];

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// Whether more pages follow.
    #[serde(default)]
    pub has_more: bool,
    /// The cursor of the next page; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

string_enum! {
    /// The platform of a device, in the API's spelling.
    DeviceType {
        /// `Android`
        Android = "Android",
        /// `iOS`
        Ios = "iOS",
        /// `FireOS`
        FireOs = "FireOS",
        /// `Web`
        Web = "Web",
    }
}

string_enum! {
    /// What a catalog item is.
    ItemKind {
        /// Shipped to the customer.
        Physical = "physical",
        /// A code shown on redemption.
        Digital = "digital",
        /// A catalog or store credit.
        Credit = "credit",
    }
}
