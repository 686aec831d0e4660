//! A reward's JSON written straight from its stored record: the trigger's answer (and its replays) without
//! building the API [`Reward`](crate::domain::model::Reward) first.
//!
//! The output is byte for byte what serde writes for the API types (a test compares both over every shape
//! of reward). What the rewards of one selection share ([`Issue`]) is written once and copied after.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::model::{RewardFlag, RewardStatus};
use crate::domain::rewards::record::{Issue, Later, RewardRec};

/// The JSON of an [`Issue`]'s fields, in the places they take in a reward.
#[derive(Debug)]
pub struct IssueJson {
    /// `"campaign_id":…,"moment_id":…,"reward_group_id":…,"variant_id":…,`
    ids: Box<str>,
    /// `"marketplace":…,"segment":…,`
    place: Box<str>,
    /// `"cost":…,"offer":…,`
    price: Box<str>,
    /// Where `"campaign_id":…,"moment_id":…,` ends in `ids`: the trigger answer starts with them too.
    answer_ids_end: usize,
}

impl IssueJson {
    fn of(i: &Issue) -> IssueJson {
        let mut ids = Vec::new();
        field(&mut ids, "campaign_id", &*i.campaign_id);
        field(&mut ids, "moment_id", &*i.moment_id);
        let answer_ids_end = ids.len();
        field(&mut ids, "reward_group_id", &*i.reward_group_id);
        field(&mut ids, "variant_id", &i.variant_id.as_deref());
        let mut place = Vec::new();
        field(&mut place, "marketplace", &*i.marketplace);
        field(&mut place, "segment", &i.segment.as_deref());
        let mut price = Vec::new();
        field(&mut price, "cost", &i.cost);
        field(&mut price, "offer", &*i.offer);
        let text = |v: Vec<u8>| {
            String::from_utf8(v)
                .expect("JSON is UTF-8")
                .into_boxed_str()
        };
        IssueJson {
            ids: text(ids),
            place: text(place),
            price: text(price),
            answer_ids_end,
        }
    }
}

/// `"name":value,`
fn field<T: Serialize + ?Sized>(out: &mut Vec<u8>, name: &str, value: &T) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    value_of(out, value);
    out.push(b',');
}

fn value_of<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(&mut *out, value).expect("writing JSON to memory cannot fail");
}

#[derive(Serialize)]
struct Time<'a>(#[serde(serialize_with = "crate::domain::clock::ser")] &'a DateTime<Utc>);

#[derive(Serialize)]
struct MaybeTime<'a>(
    #[serde(serialize_with = "crate::domain::clock::ser_opt")] &'a Option<DateTime<Utc>>,
);

impl RewardRec {
    fn issue_json(&self) -> &IssueJson {
        self.issue.json.get_or_init(|| IssueJson::of(&self.issue))
    }

    /// Appends the reward's JSON: what serde writes for the reward rendered to the API's `Reward`
    /// with the same arguments.
    pub fn write_json(
        &self,
        out: &mut Vec<u8>,
        base_url: &str,
        status: RewardStatus,
        flag: Option<&RewardFlag>,
        later: &Later,
    ) {
        let shared = self.issue_json();
        out.extend_from_slice(b"{\"object\":\"reward\",");
        field(out, "id", &*self.id);
        out.extend_from_slice(shared.ids.as_bytes());
        field(out, "customer_id", &self.customer_id.as_deref());
        out.extend_from_slice(shared.place.as_bytes());
        field(out, "device_type", &self.device_type);
        field(out, "status", &status);
        field(out, "test", &self.test);
        field(out, "url", &self.url(base_url));
        field(out, "expires_at", &Time(&self.expires_at));
        out.extend_from_slice(shared.price.as_bytes());
        field(out, "flag", &flag);
        field(out, "created_at", &Time(&self.created_at));
        field(out, "occurred_at", &MaybeTime(&self.occurred_at));
        field(out, "redeemed_at", &MaybeTime(&later.redeemed_at));
        field(out, "shipped_at", &MaybeTime(&later.shipped_at));
        field(out, "delivered_at", &MaybeTime(&later.delivered_at));
        field(out, "expired_at", &MaybeTime(&later.expired_at));
        out.extend_from_slice(b"\"cancelled_at\":");
        value_of(out, &MaybeTime(&later.cancelled_at));
        out.push(b'}');
    }

    /// The trigger's answer for this reward as issued with `status` and `flag`, no later times (what serde
    /// writes for the API's `TriggerResult` holding this reward).
    pub fn trigger_answer_json(
        &self,
        base_url: &str,
        status: RewardStatus,
        flag: Option<&RewardFlag>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024 + base_url.len());
        out.extend_from_slice(b"{\"object\":\"trigger_result\",\"outcome\":\"reward\",");
        let shared = self.issue_json();
        out.extend_from_slice(&shared.ids.as_bytes()[..shared.answer_ids_end]);
        field(
            &mut out,
            "customer_id",
            self.customer_id.as_deref().unwrap_or(""),
        );
        out.extend_from_slice(b"\"reward\":");
        self.write_json(&mut out, base_url, status, flag, &Later::default());
        out.extend_from_slice(b",\"progress\":null}");
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Duration;

    use super::*;
    use crate::domain::model::{DeviceType, ItemKind, Offer, OfferItem, TriggerResult};
    use crate::domain::money::Money;

    fn issue(variant: Option<&str>, segment: Option<&str>) -> Arc<Issue> {
        Arc::new(Issue {
            app_id: "app_1".into(),
            account_id: "acct_1".into(),
            campaign_id: "cmp_1".into(),
            moment_id: "five_workouts".into(),
            reward_group_id: "US".into(),
            variant_id: variant.map(Into::into),
            marketplace: "US".into(),
            segment: segment.map(Into::into),
            cost: Money::usd(250),
            offer: Arc::new(Offer {
                items: vec![OfferItem {
                    item_id: "itm_1".into(),
                    title: "A \"quoted\" title — with ünïcode\n".into(),
                    kind: ItemKind::Digital,
                    value: Money::usd(500),
                    image_url: Some("https://example.invalid/i.png".into()),
                }],
            }),
            json: Default::default(),
        })
    }

    fn record(issue: Arc<Issue>, customer: Option<&str>) -> RewardRec {
        let (id, token) = crate::domain::ids::fresh_reward("rwd_");
        let created = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        RewardRec {
            seq: 7,
            id,
            issue,
            token,
            customer_id: customer.map(Box::from),
            device_id: Some("dev-1".into()),
            device_type: DeviceType::Android,
            status: RewardStatus::Issued,
            test: false,
            refunded: false,
            created_at: created,
            occurred_at: customer.map(|_| created - Duration::minutes(3)),
            expires_at: created + Duration::days(30),
            charged_month: "2027-01".into(),
            reserved_item: None,
            flag: None,
            later: None,
        }
    }

    #[test]
    fn written_json_is_what_serde_writes_for_every_shape_of_reward() {
        let flag = RewardFlag {
            reason_code: "device_shared".into(),
            decision: "held".into(),
            decided_at: None,
        };
        let later = Later {
            redeemed_at: DateTime::from_timestamp(1_800_000_100, 0),
            cancelled_at: DateTime::from_timestamp(1_800_000_200, 0),
            ..Later::default()
        };
        let base = "http://127.0.0.1:4010";
        for (variant, segment) in [(None, None), (Some("B"), Some("gold")), (Some("A"), None)] {
            let shared = issue(variant, segment);
            for customer in [Some("cust-1"), None] {
                let mut r = record(shared.clone(), customer);
                for test in [false, true] {
                    r.test = test;
                    for (status, flag) in [
                        (RewardStatus::Issued, None),
                        (RewardStatus::Flagged, Some(&flag)),
                    ] {
                        let answer = r.trigger_answer_json(base, status, flag);
                        let issued =
                            r.render(base, status, flag.cloned().map(Box::new), &Later::default());
                        let want = serde_json::to_vec(&TriggerResult {
                            object: "trigger_result".into(),
                            outcome: "reward".into(),
                            campaign_id: issued.campaign_id.to_string(),
                            moment_id: issued.moment_id.to_string(),
                            customer_id: issued.customer_id.clone().unwrap_or_default(),
                            reward: Some(issued),
                            progress: None,
                        })
                        .unwrap();
                        assert_eq!(
                            String::from_utf8(answer).unwrap(),
                            String::from_utf8(want).unwrap()
                        );
                        let mut one = Vec::new();
                        r.write_json(&mut one, base, status, flag, &later);
                        let want = serde_json::to_vec(&r.render(
                            base,
                            status,
                            flag.cloned().map(Box::new),
                            &later,
                        ))
                        .unwrap();
                        assert_eq!(
                            String::from_utf8(one).unwrap(),
                            String::from_utf8(want).unwrap()
                        );
                    }
                }
            }
        }
    }
}
