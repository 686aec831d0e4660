//! [`Webhooks`]: the mock's webhook delivery log (`/_mock/webhooks/deliveries`).

use super::{Control, Delivery, Page, Result};

/// The webhook delivery log: every attempt the mock made to deliver an event, oldest first.
#[derive(Clone, Debug)]
pub struct Webhooks {
    control: Control,
}

impl Webhooks {
    pub(crate) fn new(control: Control) -> Webhooks {
        Webhooks { control }
    }

    /// Every delivery attempt, oldest first.
    pub async fn deliveries(&self) -> Result<Vec<Delivery>> {
        let page: Page<Delivery> = self.control.get("/_mock/webhooks/deliveries").await?;
        Ok(page.data)
    }

    /// The attempts for events of one type (`reward.issued`, `reward.redeemed`, …), oldest first.
    pub async fn deliveries_of(&self, event_type: &str) -> Result<Vec<Delivery>> {
        let q = serde_urlencoded::to_string([("event_type", event_type)])
            .map_err(|e| super::Error::invalid("event_type", e.to_string()))?;
        let page: Page<Delivery> = self
            .control
            .get(&format!("/_mock/webhooks/deliveries?{q}"))
            .await?;
        Ok(page.data)
    }

    /// Delivers every webhook due now and returns once their attempts are in the log. The mock sends
    /// webhooks in the background after the request that caused them; this waits for them (it
    /// advances the clock by 0 seconds, which delivers due webhooks before answering).
    pub async fn deliver_due(&self) -> Result<()> {
        self.control
            .clock()
            .advance(std::time::Duration::ZERO)
            .await
            .map(drop)
    }
}
