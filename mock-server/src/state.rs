//! All server state behind one lock: validate, then mutate, so a failed request changes nothing.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::shard::{FastMap, Sharded};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::clock::Clock;
use crate::ids;
use crate::journal::Journal;
use crate::ledger::Ledger;
use crate::model::*;
use crate::money::Money;

pub use crate::credentials::{AccountRec, AppRec, KeyRec, TokenRec};

/// A campaign as stored.
#[derive(Clone, Debug)]
pub struct CampaignRec {
    /// Sequence for ordering.
    pub seq: u64,
    /// Account.
    pub account_id: String,
    /// The public view without spend (spend is computed).
    pub c: Campaign,
    /// Months for which `campaign.budget_exhausted` was emitted.
    pub exhausted_months: HashSet<String>,
}

pub use crate::record::RewardRec;

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
/// ([`State::actions`]), so their memory follows the campaign's shape, not its traffic. Its strings
/// are interned ([`State::intern`]).
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

/// Entries the per-reward maps hold before they first grow. Growing rehashes every entry
/// while the one lock is held (tens of milliseconds at this size), so the maps start large:
/// only their control bytes are touched up front, the slots are committed as they fill.
pub const PRESIZE: usize = 1 << 16;

/// The one state.
pub struct State {
    /// The clock.
    pub clock: Clock,
    /// `test` mode.
    pub test_mode: bool,
    /// Base URL for reward links.
    pub base_url: String,
    /// Accounts, apps, keys and customer tokens.
    pub credentials: crate::credentials::Credentials,
    /// Items, prices, stock and the offers made from them.
    pub catalog: crate::catalog::Catalog,
    /// Campaigns.
    pub campaigns: FastMap<String, CampaignRec>,
    /// Rewards by id. A link token finds its reward here, by the id derived from it
    /// ([`crate::ids::LinkToken::reward_id`]): there is no token index.
    pub rewards: Sharded<Arc<str>, Box<RewardRec>>,
    /// Reward ids in issue order.
    pub reward_order: Vec<Arc<str>>,
    /// Test reward per (campaign, moment, reward group, variant).
    pub test_rewards: HashMap<TestRewardKey, Arc<str>>,
    /// Money.
    pub ledger: Ledger,
    /// What customers have counted toward goal moments.
    pub goals: crate::goals::Goals,
    /// Rewards per [`State::digest`] of (campaign, moment, customer), for frequency caps.
    pub freq: Sharded<u64, crate::record::RewardIds>,
    /// What the fraud rules remember (velocity windows, customers per device).
    pub fraud: crate::fraud::rules::FraudState,
    /// Interned strings of low cardinality (apps, campaigns, moments, marketplaces, segments, variants).
    pub strs: HashSet<Arc<str>, crate::shard::Seeded>,
    /// Keys of [`State::digest`]: random per state.
    pub digest_keys: std::hash::RandomState,
    /// Fraud reviews by reward id.
    pub reviews: HashMap<String, (u64, FraudReview)>,
    /// Accepted actions, counted per [`ActionKey`].
    pub actions: FastMap<ActionKey, u64>,
    /// Webhook endpoints, delivery jobs, sends waiting for a sender and the delivery log.
    pub webhooks: crate::webhooks::Webhooks,
    /// Due queue.
    pub due: BinaryHeap<Reverse<(DateTime<Utc>, u64, DueKind)>>,
    /// Sequence counter.
    pub seq: u64,
    /// Injected faults.
    pub faults: crate::faults::Faults,
    /// Shared parts of rewards ([`crate::record::Issue`]) by a digest of their strings.
    pub issues: FastMap<u64, Vec<Arc<crate::record::Issue>>>,
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

impl State {
    /// An empty state with the seeded catalog.
    pub fn empty(base_url: String) -> State {
        State {
            clock: Clock::default(),
            test_mode: false,
            base_url,
            credentials: Default::default(),
            catalog: Default::default(),
            campaigns: FastMap::with_capacity_and_hasher(64, Default::default()),
            rewards: Sharded::with_capacity(PRESIZE),
            reward_order: Vec::with_capacity(4096),
            test_rewards: HashMap::new(),
            ledger: Ledger::default(),
            goals: Default::default(),
            freq: Sharded::with_capacity(PRESIZE),
            fraud: crate::fraud::rules::FraudState::with_capacity(PRESIZE, Clock::default().now()),
            digest_keys: std::hash::RandomState::new(),
            strs: HashSet::default(),
            reviews: HashMap::new(),
            actions: FastMap::default(),
            webhooks: Default::default(),
            due: BinaryHeap::with_capacity(4096),
            seq: 0,
            faults: Default::default(),
            issues: FastMap::default(),
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
    pub fn seeded(base_url: String, demo: &Demo, legacy: &str) -> State {
        let mut s = State::empty(base_url);
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
        let c = self
            .insert_campaign(&demo.app_id, create, Some(demo.campaign_id.clone()))
            .expect("the demo campaign is valid");
        let rec = self.campaigns.get_mut(&c).expect("just inserted");
        rec.c.status = CampaignStatus::Live;
        self.schedule_campaign(&c);
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
                    self.apply_clock_status(&id, at)
                }
                DueKind::Expire(id) => self.expire_reward(&id, at),
                DueKind::Ship(id) => self.ship_reward(&id, at),
                DueKind::Deliver(id) => self.deliver_reward(&id, at),
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
            self.queue_delivery(&ev, &endpoint, at);
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

/// Shared server handle: the state behind one mutex plus fixed configuration.
pub struct Shared {
    /// The state.
    pub state: Mutex<State>,
    /// The request journal, behind its own lock: recording a request does not wait for the state.
    pub journal: Mutex<Journal>,
    /// The idempotency store, behind locks of its own.
    pub idem: crate::idem_store::IdemStore,
    /// Resolved credentials, so that authenticating does not wait for the state's lock.
    pub creds: crate::auth::CredCache,
    /// The state's credential generation ([`crate::credentials::Credentials::generation`]), readable
    /// without its lock.
    pub cred_gen: Arc<AtomicU64>,
    /// The state's clock (a handle on the same clock), readable without the state's lock.
    pub clock: Clock,
    /// Whether webhook sends wait in the state's outbox, as of the last release of the state's lock.
    pub outbox_pending: AtomicBool,
    /// Demo fixture.
    pub demo: Demo,
    /// Legacy key of the demo app.
    pub legacy: String,
    /// The fixtures loaded at start, with the ids and keys they were given: `POST /_mock/reset`
    /// loads them again ([`crate::control::Fixtures::resolved`]).
    pub startup_fixtures: Option<crate::control::Fixtures>,
    /// HTTP client for webhooks.
    pub http: reqwest::Client,
    /// Serializes webhook flushes, so a clock advance waits for sends already under way.
    pub flush_lock: tokio::sync::Mutex<()>,
    /// Set once a fault is ever injected: until then requests skip the fault lookup (and its lock).
    pub faults_armed: AtomicBool,
    /// The compat endpoints' rate limit (real time, outside the state: no reset or clock moves it).
    pub compat_limiter: crate::compat::CompatLimiter,
    /// When the server started, in real time (`GET /_mock/health`'s uptime; no reset or clock moves it).
    pub started: std::time::Instant,
}

impl Shared {
    /// The handle of a server over `state`.
    pub fn new(state: State, demo: Demo, legacy: String, http: reqwest::Client) -> Shared {
        Shared {
            idem: crate::idem_store::IdemStore::new(state.now()),
            creds: crate::auth::CredCache::default(),
            cred_gen: state.credentials.generation(),
            clock: state.clock.clone(),
            outbox_pending: AtomicBool::new(state.webhooks.has_pending_sends()),
            state: Mutex::new(state),
            journal: Mutex::new(Journal::default()),
            demo,
            legacy,
            startup_fixtures: None,
            http,
            flush_lock: tokio::sync::Mutex::new(()),
            faults_armed: AtomicBool::new(false),
            compat_limiter: crate::compat::CompatLimiter::default(),
            started: std::time::Instant::now(),
        }
    }
}

/// Axum state.
#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

/// How many times [`AppState::lock_yielding`] lets other requests run before it blocks.
const YIELDS: usize = 8;

impl AppState {
    /// Locks the state and runs due rules.
    pub fn lock(&self) -> StateGuard<'_> {
        self.due_run(self.lock_raw())
    }

    /// Locks the state and runs due rules, letting this worker run other requests while another
    /// worker holds the lock (up to eight times) instead of putting its thread to sleep.
    ///
    /// For the hot handlers: with two workers, a blocked worker's sleep and wake-up cost more than the
    /// state's critical section. The future must not hold the guard across an `.await`.
    pub async fn lock_yielding(&self) -> StateGuard<'_> {
        for _ in 0..YIELDS {
            // In a scope of its own: nothing of the attempt may live across the `.await`.
            {
                let taken = match self.0.state.try_lock() {
                    Ok(state) => Some(state),
                    Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                    Err(std::sync::TryLockError::WouldBlock) => None,
                };
                if let Some(state) = taken {
                    return self.guard(state);
                }
            }
            tokio::task::yield_now().await;
        }
        self.lock()
    }

    fn guard<'a>(&'a self, state: MutexGuard<'a, State>) -> StateGuard<'a> {
        StateGuard {
            state,
            outbox_pending: &self.0.outbox_pending,
        }
    }

    fn due_run<'a>(&'a self, mut g: StateGuard<'a>) -> StateGuard<'a> {
        g.run_due();
        g
    }

    /// Locks the state without running due rules.
    pub fn lock_raw(&self) -> StateGuard<'_> {
        self.guard(self.0.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Locks the journal.
    pub fn journal(&self) -> MutexGuard<'_, Journal> {
        self.0.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether webhook sends wait to be delivered.
    pub fn outbox_pending(&self) -> bool {
        self.0.outbox_pending.load(Ordering::Acquire)
    }
}

/// The locked state. Releasing it publishes whether the outbox holds sends ([`AppState::outbox_pending`]),
/// so requests learn it without taking the lock again.
pub struct StateGuard<'a> {
    state: MutexGuard<'a, State>,
    outbox_pending: &'a AtomicBool,
}

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        self.outbox_pending
            .store(self.state.webhooks.has_pending_sends(), Ordering::Release);
    }
}

/// A server handle over the seeded state, for unit tests (nothing listens; the base URL is unused).
#[cfg(test)]
pub fn test_app() -> AppState {
    use crate::server::{DEMO_LEGACY_KEY, DEMO_SECRET_KEY};
    let demo = Demo {
        app_id: "app_t".into(),
        account_id: "acct_t".into(),
        api_key: DEMO_LEGACY_KEY.into(),
        secret_key: DEMO_SECRET_KEY.into(),
        campaign_id: "cmp_t".into(),
        moment_ids: vec![],
        moments: vec![],
        reward_group_ids: vec![],
        base_url: "http://127.0.0.1:1".into(),
    };
    let state = State::seeded(demo.base_url.clone(), &demo, DEMO_LEGACY_KEY);
    AppState(Arc::new(Shared::new(
        state,
        demo,
        DEMO_LEGACY_KEY.into(),
        reqwest::Client::new(),
    )))
}
