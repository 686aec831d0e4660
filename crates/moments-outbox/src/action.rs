//! The action an app reports: the body of `POST /v1/triggers`.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// One customer action to report, as sent to `POST /v1/triggers`.
///
/// The outbox stores it as JSON in exactly the shape of the wire body (unset optional fields are
/// omitted), and sends the same bytes on every attempt, so the server's idempotency replay always
/// matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// The campaign (`cmp_…`).
    pub campaign_id: String,
    /// The moment of the campaign the customer completed.
    pub moment_id: String,
    /// Who completed it. Its id keys the per-customer ordering and `purge_customer`.
    pub customer: Customer,
    /// The device the action happened on.
    pub device: Device,
    /// Forces a reward group (must be for the customer's marketplace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_group_id: Option<String>,
    /// What this action adds to a goal (default 1 on the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// When the action happened on the device. Stamped by the outbox at enqueue when unset, and
    /// kept unchanged across retries.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    pub occurred_at: Option<SystemTime>,
}

impl Action {
    /// A new action with only the required fields; the others are unset.
    pub fn new(
        campaign_id: impl Into<String>,
        moment_id: impl Into<String>,
        customer: Customer,
        device: Device,
    ) -> Self {
        Action {
            campaign_id: campaign_id.into(),
            moment_id: moment_id.into(),
            customer,
            device,
            reward_group_id: None,
            quantity: None,
            occurred_at: None,
        }
    }
}

/// The customer an action is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The brand's customer id: 1–128 characters of `[A-Za-z0-9_.:@-]`.
    pub id: String,
    /// Marketplace code (`US`, `UK`, …).
    pub marketplace: String,
    /// The brand's segment label, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
}

impl Customer {
    /// A customer without a segment.
    pub fn new(id: impl Into<String>, marketplace: impl Into<String>) -> Self {
        Customer {
            id: id.into(),
            marketplace: marketplace.into(),
            segment: None,
        }
    }
}

/// The device an action happened on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The platform.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// A stable device identifier (for fraud controls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The customer's IP as seen by the brand's server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

impl Device {
    /// A device of this type with no id or IP.
    pub fn new(device_type: DeviceType) -> Self {
        Device {
            device_type,
            id: None,
            ip: None,
        }
    }
}

/// Device types, spelled on the wire as the original service did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceType {
    /// `Android`
    Android,
    /// `iOS`
    #[serde(rename = "iOS")]
    Ios,
    /// `FireOS`
    #[serde(rename = "FireOS")]
    FireOs,
    /// `Web`
    Web,
}

impl DeviceType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Android => "Android",
            DeviceType::Ios => "iOS",
            DeviceType::FireOs => "FireOS",
            DeviceType::Web => "Web",
        }
    }
}

/// RFC 3339 (UTC, whole seconds unless the time has a fraction) for `Option<SystemTime>`.
pub(crate) mod rfc3339_opt {
    use std::time::SystemTime;

    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn format(t: SystemTime) -> String {
        DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    pub fn serialize<S: Serializer>(v: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_str(&format(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        let v: Option<String> = Option::deserialize(d)?;
        v.map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| SystemTime::from(t.with_timezone(&Utc)))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}
