//! App, API keys, customer tokens, catalog items, webhook endpoints.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ItemKind, Money};

/// The app the credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// `app_…`
    pub id: String,
    /// `acct_…`
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// A hint of the legacy key (`mk_…wxyz`).
    #[serde(default)]
    pub legacy_api_key_hint: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A secret API key. `secret` is present only in the answer to its creation. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// `key_…`
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// The secret, only when just created. Never log it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Masked form, `sk_test_…abcd`.
    pub hint: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Revocation time.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("hint", &self.hint)
            .field("created_at", &self.created_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

/// Body of `POST /v1/api_keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyCreate {
    /// A name for the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Body of `POST /v1/customer_tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerTokenCreate {
    /// The customer (1–128 characters of `[A-Za-z0-9_.:@-]`).
    pub customer_id: String,
    /// The customer's marketplace (`US`, …).
    pub marketplace: String,
    /// The customer's segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Lifetime, 60–86400 s (default 900).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
}

impl CustomerTokenCreate {
    /// A token for `customer_id` in `marketplace`.
    pub fn new(customer_id: impl Into<String>, marketplace: impl Into<String>) -> Self {
        Self {
            customer_id: customer_id.into(),
            marketplace: marketplace.into(),
            segment: None,
            ttl_seconds: None,
        }
    }

    /// Sets the segment.
    pub fn segment(mut self, segment: impl Into<String>) -> Self {
        self.segment = Some(segment.into());
        self
    }

    /// Sets the lifetime.
    pub fn ttl_seconds(mut self, ttl: u32) -> Self {
        self.ttl_seconds = Some(ttl);
        self
    }
}

/// A customer token. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerToken {
    /// The `ct_…` token. Never log it.
    pub token: String,
    /// The customer it acts for.
    pub customer_id: String,
    /// The customer's marketplace.
    pub marketplace: String,
    /// The customer's segment.
    #[serde(default)]
    pub segment: Option<String>,
    /// Expiry (server clock). Schedule refreshes from `expires_in_seconds` instead.
    pub expires_at: DateTime<Utc>,
    /// Seconds until expiry when minted.
    pub expires_in_seconds: i64,
}

impl fmt::Debug for CustomerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerToken")
            .field("token", &"<redacted>")
            .field("customer_id", &self.customer_id)
            .field("marketplace", &self.marketplace)
            .field("segment", &self.segment)
            .field("expires_at", &self.expires_at)
            .field("expires_in_seconds", &self.expires_in_seconds)
            .finish()
    }
}

/// A catalog item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// `itm_…`
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Physical, digital or credit.
    pub kind: ItemKind,
    /// Image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Price per marketplace (the keys are the marketplaces it is sold in).
    #[serde(default)]
    pub prices: BTreeMap<String, Money>,
    /// Units left per marketplace.
    #[serde(default)]
    pub stock: BTreeMap<String, i64>,
}

/// Query of `GET /v1/catalog/items`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemListParams {
    /// Only items sold in this marketplace.
    pub marketplace: Option<String>,
    /// Only items of this kind.
    pub kind: Option<ItemKind>,
    /// Case-insensitive substring of title or description.
    pub q: Option<String>,
    /// Page size, 1–100.
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// A webhook endpoint. `secret` (`whsec_…`) is present only in the answers to its creation and to
/// a secret rotation; `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// `whe_…`
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Subscribed event types (empty = all).
    #[serde(default)]
    pub events: Vec<super::EventType>,
    /// The signing secret, only when just created or rotated. Never log it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// While a secret rotation's overlap lasts: until when deliveries also carry a signature with
    /// the previous secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// `true` in the answer to a delete.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field(
                "previous_secret_expires_at",
                &self.previous_secret_expires_at,
            )
            .field("created_at", &self.created_at)
            .field("deleted", &self.deleted)
            .finish()
    }
}

/// Body of `POST /v1/webhook_endpoints/{id}/rotate_secret` (what
/// [`WebhookEndpoints::rotate_secret`](crate::WebhookEndpoints::rotate_secret) sends).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSecretRotate {
    /// Seconds during which deliveries are signed with the previous secret too (0–604800; absent:
    /// 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
}

/// Body of `POST /v1/webhook_endpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointCreate {
    /// Where to POST events.
    pub url: String,
    /// Event types to subscribe to (empty = all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<super::EventType>,
}
