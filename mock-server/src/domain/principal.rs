//! Who is calling and what their credential allows: a secret key acts for its app; a customer token
//! for one customer of one marketplace (and segment), whatever the request says.

use crate::domain::errors::ApiError;

/// Who is calling.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A secret key of an app.
    Secret {
        /// App.
        app_id: String,
        /// Account.
        account_id: String,
    },
    /// A customer token.
    Customer {
        /// App.
        app_id: String,
        /// Account.
        account_id: String,
        /// Customer.
        customer_id: String,
        /// Marketplace.
        marketplace: String,
        /// Segment.
        segment: Option<String>,
    },
}

/// A fact a customer token fixes for every call made with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFact {
    /// The customer id.
    Customer,
    /// The marketplace.
    Marketplace,
    /// The segment (a token without one acts for no segment).
    Segment,
}

impl TokenFact {
    fn noun(self) -> &'static str {
        match self {
            TokenFact::Customer => "customer",
            TokenFact::Marketplace => "marketplace",
            TokenFact::Segment => "segment",
        }
    }
}

impl Principal {
    /// The app.
    pub fn app_id(&self) -> &str {
        match self {
            Principal::Secret { app_id, .. } | Principal::Customer { app_id, .. } => app_id,
        }
    }
    /// The account.
    pub fn account_id(&self) -> &str {
        match self {
            Principal::Secret { account_id, .. } | Principal::Customer { account_id, .. } => {
                account_id
            }
        }
    }
    /// The customer of a token.
    pub fn customer(&self) -> Option<&str> {
        match self {
            Principal::Customer { customer_id, .. } => Some(customer_id),
            Principal::Secret { .. } => None,
        }
    }
    /// What a request may act on for one of the facts a customer token fixes (`docs/api.md`,
    /// "The token is the truth").
    ///
    /// With a secret key the request's own value (`named`) is used as it is. With a customer token
    /// the token's value is used, and a request naming any other value — including a segment when
    /// the token has none — is refused `403 forbidden` with `param` naming the field.
    pub fn scoped<'a>(
        &'a self,
        fact: TokenFact,
        param: &str,
        named: Option<&'a str>,
    ) -> Result<Option<&'a str>, ApiError> {
        let own = match self {
            Principal::Secret { .. } => return Ok(named),
            Principal::Customer {
                customer_id,
                marketplace,
                segment,
                ..
            } => match fact {
                TokenFact::Customer => Some(customer_id.as_str()),
                TokenFact::Marketplace => Some(marketplace.as_str()),
                TokenFact::Segment => segment.as_deref(),
            },
        };
        match named {
            Some(n) if Some(n) != own => Err(ApiError::forbidden(format!(
                "A customer token acts for its own {}; `{param}` names another.",
                fact.noun()
            ))
            .param(param)),
            _ => Ok(own),
        }
    }

    /// Refuses, for a customer token, a request field only a secret key may send (forcing a reward
    /// group, naming the customer's network address): `403 forbidden` with `param` naming it.
    pub fn secret_only_field(&self, param: &str, present: bool) -> Result<(), ApiError> {
        match self {
            Principal::Customer { .. } if present => Err(ApiError::forbidden(format!(
                "Only a secret key may send `{param}`."
            ))
            .param(param)),
            _ => Ok(()),
        }
    }

    /// Fails with `403 forbidden` for a customer token.
    pub fn require_secret(&self) -> Result<(), ApiError> {
        match self {
            Principal::Secret { .. } => Ok(()),
            Principal::Customer { .. } => Err(ApiError::forbidden(
                "A customer token may not use this route.",
            )),
        }
    }
}

/// Checks a customer id (`[A-Za-z0-9_.:@-]{1,128}`).
pub fn valid_customer_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:@-".contains(c))
}

/// Checks a brand-chosen id or segment (`^[A-Za-z0-9_-]{1,64}$`).
pub fn valid_label(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
