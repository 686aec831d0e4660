//! Webhook events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Campaign, CampaignStatus, Reward, string_enum};

string_enum! {
    /// The type of a webhook event.
    EventType {
        /// A reward was issued (or released from review).
        RewardIssued = "reward.issued",
        /// The customer redeemed.
        RewardRedeemed = "reward.redeemed",
        /// A physical reward shipped.
        RewardShipped = "reward.shipped",
        /// It was delivered.
        RewardDelivered = "reward.delivered",
        /// It expired unredeemed.
        RewardExpired = "reward.expired",
        /// It was held for fraud review.
        RewardFlagged = "reward.flagged",
        /// A campaign changed status.
        CampaignStateChanged = "campaign.state_changed",
        /// A campaign's monthly budget ran out.
        CampaignBudgetExhausted = "campaign.budget_exhausted",
    }
}

/// A webhook event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_…`: use it to de-duplicate (delivery is at least once).
    pub id: String,
    /// The type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When it happened (server clock).
    pub created_at: DateTime<Utc>,
    /// The payload.
    pub data: EventData,
}

/// The payload of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    /// The object the event is about, as JSON; decode it with [`Event::object`].
    pub object: serde_json::Value,
    /// For `campaign.state_changed`: the status before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<CampaignStatus>,
}

/// The object an event is about, typed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventObject {
    /// A reward (`reward.*` events).
    Reward(Box<Reward>),
    /// A campaign (`campaign.*` events).
    Campaign(Box<Campaign>),
    /// An object this version does not know (or could not decode), as JSON.
    Other(serde_json::Value),
}

impl Event {
    /// The event's object, decoded by its `object` field (`reward`, `campaign`).
    pub fn object(&self) -> EventObject {
        let v = &self.data.object;
        let kind = v.get("object").and_then(|o| o.as_str());
        let kind = kind.or(match &self.event_type {
            t if t.as_str().starts_with("reward.") => Some("reward"),
            t if t.as_str().starts_with("campaign.") => Some("campaign"),
            _ => None,
        });
        match kind {
            Some("reward") => serde_json::from_value(v.clone())
                .map(|r| EventObject::Reward(Box::new(r)))
                .unwrap_or_else(|_| EventObject::Other(v.clone())),
            Some("campaign") => serde_json::from_value(v.clone())
                .map(|c| EventObject::Campaign(Box::new(c)))
                .unwrap_or_else(|_| EventObject::Other(v.clone())),
            _ => EventObject::Other(v.clone()),
        }
    }

    /// The reward, for `reward.*` events.
    pub fn reward(&self) -> Option<Reward> {
        match self.object() {
            EventObject::Reward(r) => Some(*r),
            _ => None,
        }
    }

    /// The campaign, for `campaign.*` events.
    pub fn campaign(&self) -> Option<Campaign> {
        match self.object() {
            EventObject::Campaign(c) => Some(*c),
            _ => None,
        }
    }
}
