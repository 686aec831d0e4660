//! The customer's and the backend's side of a test: customer tokens, a reward link redeemed as the
//! customer's browser would, and the app's report — what a mobile SDK, scoped to one customer, cannot do.

use serde::Deserialize;
use serde_json::json;

use super::{Control, Error, Redemption, Report, Result};

/// The shipping address [`Control::redeem`] gives for a physical item: name, line 1, city, postal
/// code and country.
pub const TEST_ADDRESS: [&str; 5] = ["Ada Lovelace", "1 Main St", "Seattle", "98101", "US"];

/// A customer token minted by [`Control::customer_token`], as an app's backend hands it to the app.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MockCustomerToken {
    /// The bearer token.
    pub token: String,
    /// Its lifetime from now, in seconds.
    pub expires_in_seconds: i64,
}

/// The token of a reward link (`…/r/{token}`, with or without a query).
fn link_token(reward_url: &str) -> Result<&str> {
    reward_url
        .rsplit_once("/r/")
        .and_then(|(_, t)| t.split(['?', '#']).next())
        .filter(|t| !t.is_empty() && !t.contains('/'))
        .ok_or_else(|| Error::invalid("reward_url", format!("not a reward link: {reward_url}")))
}

impl Control {
    /// Mints a customer token for `customer_id` in the US marketplace with the demo app's secret key
    /// (`POST /v1/customer_tokens`), as the app's backend would: what an SDK client's token provider
    /// returns in a test.
    pub async fn customer_token(&self, customer_id: &str) -> Result<MockCustomerToken> {
        let key = self.demo().await?.secret_key;
        let body = json!({ "customer_id": customer_id, "marketplace": "US" });
        self.call_as(
            reqwest::Method::POST,
            "/v1/customer_tokens",
            Some(&body),
            Some(&key),
        )
        .await
    }

    /// Redeems a reward link for `item_id` as the customer's browser would: reads the link's
    /// redemption (`GET /v1/redemptions/{token}`) and posts the choice, with [`TEST_ADDRESS`] when the
    /// item is shipped. A value that is not a reward link is [`Error::Invalid`] naming `reward_url`;
    /// an item the reward does not offer is the mock's `validation_error` naming `item_id`.
    pub async fn redeem(&self, reward_url: &str, item_id: &str) -> Result<Redemption> {
        let token = link_token(reward_url)?;
        let path = format!("/v1/redemptions/{token}");
        let offer: Redemption = self.get(&path).await?;
        let shipped = offer
            .choices
            .iter()
            .any(|c| c.item_id == item_id && c.kind == crate::domain::model::ItemKind::Physical);
        let [name, line1, city, postal_code, country] = TEST_ADDRESS;
        let address = shipped.then(|| {
            json!({
                "name": name, "line1": line1, "city": city, "postal_code": postal_code,
                "country": country,
            })
        });
        let body = json!({ "item_id": item_id, "shipping_address": address });
        self.post(&path, &body).await
    }

    /// The report of one campaign of the demo app over its whole life (`GET /v1/reports`, read with
    /// the app's secret key): actions, rewards issued and redeemed, spend.
    pub async fn report(&self, campaign_id: &str) -> Result<Report> {
        let key = self.demo().await?.secret_key;
        let q = serde_urlencoded::to_string([("campaign_id", campaign_id)])
            .map_err(|e| Error::invalid("campaign_id", e.to_string()))?;
        self.call_as(
            reqwest::Method::GET,
            &format!("/v1/reports?{q}"),
            None::<&()>,
            Some(&key),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::link_token;

    #[test]
    fn a_reward_link_gives_its_token_and_anything_else_names_the_field() {
        assert_eq!(
            link_token("http://127.0.0.1:1/r/rl_abc?utm=x").unwrap(),
            "rl_abc"
        );
        let e = link_token("http://127.0.0.1:1/v1/rewards/rwd_1").unwrap_err();
        assert_eq!(e.field(), Some("reward_url"));
    }
}
