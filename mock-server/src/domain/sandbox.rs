//! All server state behind one lock: validate, then mutate, so a failed request changes nothing.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::clock::Clock;
use crate::domain::ids;
use crate::domain::ledger::Ledger;
use crate::domain::model::*;
use crate::domain::money::Money;
use crate::domain::shard::FastMap;
use crate::domain::{campaigns, rewards, webhooks};

pub use crate::domain::campaigns::{CampaignRec, Campaigns};
pub use crate::domain::credentials::{KeyRec, TokenRec};
pub use crate::domain::rewards::record::RewardRec;

/// What a test reward is shared by: every caller the selection puts in this group and variant of a
/// campaign's moment gets the same test reward.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TestRewardKey {
    /// Campaign.
    pub campaign_id: String,
    /// Moment.
    pub moment_id: String,
    /// Reward group.
    pub reward_group_id: String,
    /// A/B variant.
    pub variant_id: Option<String>,
}

/// What the reports can tell accepted actions apart by: actions are counted per key and day
/// ([`Sandbox::actions`]), so their memory follows the campaign's shape, not its traffic. Its strings
/// are interned ([`Sandbox::intern`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActionKey {
    /// App.
    pub app_id: Arc<str>,
    /// Campaign.
    pub campaign_id: Arc<str>,
    /// Moment.
    pub moment_id: Arc<str>,
    /// Marketplace.
    pub marketplace: Arc<str>,
    /// Segment.
    pub segment: Option<Arc<str>>,
    /// Variant.
    pub variant_id: Option<Arc<str>>,
    /// Day (UTC).
    pub day: chrono::NaiveDate,
}

/// Something the clock will make happen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DueKind {
    /// Campaign reaches `start_at`.
    CampaignStart(Arc<str>),
    /// Campaign reaches `end_at`.
    CampaignEnd(Arc<str>),
    /// Reward expires.
    Expire(Arc<str>),
    /// Physical reward ships.
    Ship(Arc<str>),
    /// Physical reward is delivered.
    Deliver(Arc<str>),
    /// Webhook delivery attempt (delivery id).
    Webhook(u64),
}

/// A webhook endpoint as stored.
#[derive(Clone, Debug)]
pub struct EndpointRec {
    /// Sequence.
    pub seq: u64,
    /// App.
    pub app_id: String,
    /// Secret.
    pub secret: String,
    /// The secret before the last rotation, and the time until which deliveries carry its
    /// signature too.
    pub previous_secret: Option<(String, DateTime<Utc>)>,
    /// Deleted.
    pub deleted: bool,
    /// View.
    pub e: WebhookEndpoint,
}

/// The one state.
pub struct Sandbox {
    /// The clock.
    pub clock: Clock,
    /// `test` mode.
    pub test_mode: bool,
    /// Base URL for reward links.
    pub base_url: String,
    /// Accounts, apps, keys and customer tokens.
    pub credentials: crate::domain::credentials::Credentials,
    /// Items, prices, stock and the offers made from them.
    pub catalog: crate::domain::catalog::Catalog,
    /// Campaigns.
    pub campaigns: Campaigns,
    /// Rewards: the records, their issue order, test rewards and what frequency caps count.
    pub rewards: crate::domain::rewards::Rewards,
    /// Money.
    pub ledger: Ledger,
    /// What customers have counted toward goal moments.
    pub goals: crate::domain::goals::Goals,
    /// What the fraud rules remember (velocity windows, customers per device).
    pub fraud: crate::domain::fraud::rules::FraudState,
    /// Interned strings of low cardinality (apps, campaigns, moments, marketplaces, segments, variants).
    pub strs: HashSet<Arc<str>, crate::domain::shard::Seeded>,
    /// Keys of [`Sandbox::digest`]: random per state.
    pub digest_keys: std::hash::RandomState,
    /// Fraud reviews by reward id.
    pub reviews: crate::domain::fraud::reviews::Reviews,
    /// Accepted actions, counted per [`ActionKey`].
    pub actions: FastMap<ActionKey, u64>,
    /// Webhook endpoints, delivery jobs, sends waiting for a sender and the delivery log.
    pub webhooks: crate::domain::webhooks::Webhooks,
    /// Due queue.
    pub due: BinaryHeap<Reverse<(DateTime<Utc>, u64, DueKind)>>,
    /// Sequence counter.
    pub seq: u64,
    /// How many times the sandbox was reset: a persistent store's idempotency keys are scoped by it,
    /// so a reset forgets them as it forgets the in-memory ones.
    pub resets: u64,
    /// Injected faults.
    pub faults: crate::domain::faults::Faults,
}

/// A moment of the demo campaign.
#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DemoMoment {
    /// Moment id.
    pub id: String,
    /// What the customer does.
    pub name: Option<String>,
    /// Whether an app may report it with a customer token (otherwise only the brand's server).
    pub client_reportable: bool,
    /// The goal, for a goal moment ("5 workouts in 30 days").
    pub goal: Option<Goal>,
}

/// The demo fixture.
#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Demo {
    /// App id.
    pub app_id: String,
    /// Account id.
    pub account_id: String,
    /// Legacy `x-api-key`.
    pub api_key: String,
    /// Secret key.
    pub secret_key: String,
    /// Demo campaign.
    pub campaign_id: String,
    /// Moment ids (those of [`Demo::moments`]).
    pub moment_ids: Vec<String>,
    /// The demo campaign's moments, with whether an app (a customer token) may report each.
    #[serde(default)]
    pub moments: Vec<DemoMoment>,
    /// Reward group ids.
    pub reward_group_ids: Vec<String>,
    /// Base of the URLs the server hands out (the public URL if one was set, else the bound address).
    pub base_url: String,
}

impl Sandbox {
    /// An empty state with the seeded catalog.
    pub fn empty(base_url: String) -> Sandbox {
        Sandbox {
            clock: Clock::default(),
            test_mode: false,
            base_url,
            credentials: Default::default(),
            catalog: Default::default(),
            campaigns: Campaigns::default(),
            rewards: crate::domain::rewards::Rewards::new(),
            ledger: Ledger::default(),
            goals: Default::default(),
            fraud: crate::domain::fraud::rules::FraudState::new(Clock::default().now()),
            digest_keys: std::hash::RandomState::new(),
            strs: HashSet::default(),
            reviews: Default::default(),
            actions: FastMap::default(),
            webhooks: Default::default(),
            due: BinaryHeap::new(),
            seq: 0,
            resets: 0,
            faults: Default::default(),
        }
    }

    /// The moments of a campaign as the demo describes them (empty for an unknown campaign).
    pub fn demo_moments(&self, campaign_id: &str) -> Vec<DemoMoment> {
        self.campaigns
            .get(campaign_id)
            .map(|rec| {
                rec.c
                    .moments
                    .iter()
                    .map(|m| DemoMoment {
                        id: m.id.clone(),
                        name: m.name.clone(),
                        client_reportable: m.client_reportable,
                        goal: m.goal.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The seeded state: catalog, demo app and demo campaign (live).
    pub fn seeded(base_url: String, demo: &Demo, legacy: &str) -> Sandbox {
        let mut s = Sandbox::empty(base_url);
        s.seed_demo(demo, legacy);
        s
    }

    fn seed_demo(&mut self, demo: &Demo, legacy: &str) {
        let now = self.now();
        let creds = &mut self.credentials;
        creds.add_account(&demo.account_id);
        creds.add_app(&demo.app_id, &demo.account_id, "Demo Fitness", legacy, now);
        creds.add_key(
            &demo.app_id,
            Some("demo".into()),
            demo.secret_key.clone(),
            now,
        );
        let usd = |a| Money::usd(a);
        let group = |id: &str, items: &[&str]| RewardGroup {
            id: id.into(),
            marketplace: id.into(),
            segments: vec![],
            items: items.iter().map(|s| s.to_string()).collect(),
            cost_per_action: None,
            variants: vec![],
        };
        let create = CampaignCreate {
            name: "Demo Fitness: workout rewards".into(),
            brand_name: "Demo Fitness".into(),
            start_at: now - Duration::days(1),
            end_at: now + Duration::days(90),
            budget: usd(500_000),
            cost_per_action: usd(500),
            marketplaces: vec!["US".into(), "UK".into(), "DE".into()],
            reward_groups: vec![
                group("US", &["itm_echo_dot", "itm_gc_10", "itm_credit_store_5"]),
                group("UK", &["itm_water_bottle", "itm_gc_10"]),
                group("DE", &["itm_skipping_rope", "itm_gc_10"]),
            ],
            moments: vec![
                Moment {
                    id: "first_workout".into(),
                    name: Some("First workout".into()),
                    client_reportable: true,
                    goal: None,
                    frequency_cap: None,
                },
                Moment {
                    id: "five_workouts".into(),
                    name: Some("5 workouts in 30 days".into()),
                    client_reportable: true,
                    goal: Some(Goal {
                        target: 5,
                        window_seconds: 2_592_000,
                    }),
                    frequency_cap: None,
                },
                Moment {
                    id: "level_5".into(),
                    name: Some("Reach level 5".into()),
                    client_reportable: false,
                    goal: None,
                    frequency_cap: None,
                },
            ],
            announcement_message: "Complete your first workout and get a gift!".into(),
            redemption_message: "Congratulations on your workout! Pick your reward.".into(),
            landing_image_url: Some("https://images.example.com/demo-fitness/landing.png".into()),
            reward_expiry_seconds: None,
            fraud: None,
        };
        let c =
            campaigns::insert_campaign(self, &demo.app_id, create, Some(demo.campaign_id.clone()))
                .expect("the demo campaign is valid");
        let rec = self.campaigns.get_mut(&c).expect("just inserted");
        rec.c.status = CampaignStatus::Live;
        campaigns::schedule_campaign(self, &c);
    }

    /// A keyed 64-bit digest (SipHash-1-3, random keys per state) of a composite key, used as the
    /// key of the per-customer, per-device and per-IP maps so that each entry is 8 bytes, not three
    /// owned strings. Parts are length-prefixed, so ("ab", "c") and ("a", "bc") differ. Two
    /// different keys share a digest with probability about n²/2⁶⁵ (n = entries): 3·10⁻⁸ at a
    /// million entries.
    pub fn digest(&self, parts: &[&str]) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = self.digest_keys.build_hasher();
        for p in parts {
            h.write_usize(p.len());
            h.write(p.as_bytes());
        }
        h.finish()
    }

    /// The shared copy of a low-cardinality string (allocated once).
    pub fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strs.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.strs.insert(a.clone());
        a
    }

    /// Current server time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Next sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Schedules a due item.
    pub fn schedule(&mut self, at: DateTime<Utc>, kind: DueKind) {
        let seq = self.next_seq();
        self.due.push(Reverse((at, seq, kind)));
    }

    /// Runs every due rule up to now, in time order. Webhook sends go to `outbox`.
    pub fn run_due(&mut self) {
        let now = self.now();
        while let Some(Reverse((at, _, _))) = self.due.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, _, kind))) = self.due.pop() else {
                break;
            };
            match kind {
                DueKind::CampaignStart(id) | DueKind::CampaignEnd(id) => {
                    campaigns::apply_clock_status(self, &id, at)
                }
                DueKind::Expire(id) => rewards::expire_reward(self, &id, at),
                DueKind::Ship(id) => rewards::ship_reward(self, &id, at),
                DueKind::Deliver(id) => rewards::deliver_reward(self, &id, at),
                DueKind::Webhook(d) => self.webhooks.make_send(d, at),
            }
        }
        // Velocity windows idle for an hour go (the idempotency store sweeps its own keys).
        self.fraud.sweep_if_due(now);
    }

    /// Emits an event for an app and queues deliveries to subscribed endpoints.
    ///
    /// Events exist only as webhook deliveries: with no subscribed endpoint nothing is built or kept.
    pub fn emit(
        &mut self,
        app_id: &str,
        kind: &str,
        object: serde_json::Value,
        previous_status: Option<String>,
        at: DateTime<Utc>,
    ) {
        let targets = self.webhooks.subscribers(app_id, kind);
        if targets.is_empty() {
            return;
        }
        let ev = Event {
            object: "event".into(),
            id: ids::new_id("evt_"),
            kind: kind.into(),
            created_at: at,
            data: EventData {
                object,
                previous_status,
            },
        };
        for endpoint in targets {
            webhooks::queue_delivery(self, &ev, &endpoint, at);
        }
    }

    /// Emits a reward event (serialising the reward only when an endpoint subscribes).
    pub fn emit_reward(&mut self, reward_id: &str, kind: &str, at: DateTime<Utc>) {
        let Some(r) = self.rewards.get(reward_id) else {
            return;
        };
        if r.test || !self.webhooks.has_endpoints() {
            return;
        }
        let app = r.issue.app_id.clone();
        let obj = serde_json::to_value(r.view(&self.base_url)).unwrap_or_default();
        self.emit(&app, kind, obj, None, at);
    }
}
