//! A small harness for the end-to-end tests' mocks (`tests/tests/mock_*.rs`, `security_*.rs`,
//! `client_flows.rs`, `trust_boundary.rs`, the console's and others; the binaries `cargo xtask ci`
//! runs against each store are `E2E_STORE_TESTS` in `xtask/src/ci.rs`): one isolated in-process
//! mock per test, a reqwest client and JSON helpers.
//!
//! `MOMENTS_E2E_STORE` picks where a mock started with the default (in-memory) store keeps its
//! state: unset or `memory`, in memory; `sqlite`, a fresh SQLite file in a temporary directory;
//! `postgres`, a fresh database ([`crate::store::TestDb`]) created on the server `MOMENTS_TEST_POSTGRES`
//! names (`cargo xtask postgres` starts one; `cargo xtask ci` runs the suite against each store).
//! The file or database goes when the [`Mock`] drops. A PostgreSQL store makes the sandbox a shared
//! one, whose control API needs a secret key: [`Mock::call`] sends the demo key there.

use std::sync::atomic::{AtomicU64, Ordering};

use moments_mock_server::MockServer;
use serde_json::{Value, json};

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// JSON body (`Null` when not JSON).
    pub body: Value,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Raw text.
    pub text: String,
}

impl Answer {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// `error.code` of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// The harness.
pub struct Mock {
    /// The server.
    pub server: MockServer,
    /// Client.
    pub http: reqwest::Client,
    /// Base URL.
    pub base: String,
    /// Demo secret key.
    pub key: String,
    /// Demo campaign.
    pub campaign: String,
    counter: AtomicU64,
    /// The file or database of a persistent store this harness made (after `server`: dropped
    /// once the server is told to stop).
    _scratch: Option<Scratch>,
}

/// The environment variable choosing the store: `memory` (or unset), `sqlite` or `postgres`.
pub const STORE_ENV: &str = "MOMENTS_E2E_STORE";

use crate::store::{POSTGRES_ENV, TestDb};

/// A persistent store made for one mock, removed on drop.
enum Scratch {
    /// The temporary directory holding the SQLite file (removed by its drop).
    Sqlite {
        /// The directory.
        _dir: tempfile::TempDir,
    },
    /// A database created on the server `MOMENTS_TEST_POSTGRES` names (dropped by its drop).
    Postgres(#[allow(dead_code, reason = "held for its drop")] TestDb),
}

impl Scratch {
    /// The store `MOMENTS_E2E_STORE` asks for, made fresh, and its spec; `None` for memory.
    async fn from_env() -> Option<(Scratch, moments_mock_server::StoreSpec)> {
        let kind = std::env::var(STORE_ENV).unwrap_or_default();
        match kind.as_str() {
            "" | "memory" => None,
            "sqlite" => {
                let dir = tempfile::Builder::new()
                    .prefix("moments-e2e-")
                    .tempdir()
                    .expect("a temporary directory for the SQLite store");
                let spec = moments_mock_server::StoreSpec::Sqlite(dir.path().join("sandbox.db"));
                Some((Scratch::Sqlite { _dir: dir }, spec))
            }
            "postgres" => {
                let admin = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
                    panic!(
                        "{STORE_ENV}=postgres needs {POSTGRES_ENV} (postgres://user@host:port/database): \
                         run `cargo xtask postgres` in another shell and export the URL it prints, \
                         or run the suite through `cargo xtask ci`"
                    )
                });
                let db = TestDb::create(&admin).await;
                let spec = moments_mock_server::StoreSpec::Postgres(db.url.clone());
                Some((Scratch::Postgres(db), spec))
            }
            other => panic!("{STORE_ENV}={other}: use memory, sqlite or postgres"),
        }
    }
}

impl Mock {
    /// Starts an isolated mock.
    pub async fn start() -> Mock {
        Self::start_with(moments_mock_server::MockConfig::default()).await
    }

    /// Starts an isolated mock with a configuration. With the default (in-memory) store, the store
    /// `MOMENTS_E2E_STORE` asks for instead, made fresh for this mock (see the module's text).
    pub async fn start_with(mut config: moments_mock_server::MockConfig) -> Mock {
        let mut scratch = None;
        if config.store == moments_mock_server::StoreSpec::Memory
            && let Some((made, spec)) = Scratch::from_env().await
        {
            config.store = spec;
            scratch = Some(made);
        }
        let server = MockServer::start_with(config).await.expect("mock starts");
        let base = server.base_url();
        let key = server.demo().secret_key.clone();
        let campaign = server.demo().campaign_id.clone();
        Mock {
            server,
            http: reqwest::Client::new(),
            base,
            key,
            campaign,
            counter: AtomicU64::new(0),
            _scratch: scratch,
        }
    }

    /// A fresh idempotency key.
    pub fn idem(&self) -> String {
        format!("k-{}", self.counter.fetch_add(1, Ordering::Relaxed))
    }

    /// A request with an optional bearer credential, idempotency key and JSON body.
    ///
    /// In a shared sandbox (a PostgreSQL store implies one) the control API acts only for a secret
    /// key of the sandbox: a call to it (`/_mock/…`) without a credential carries the demo key.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        idem: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let control =
            path == "/_mock" || path.starts_with("/_mock/") || path.starts_with("/_mock?");
        let auth = match auth {
            None if control && self.server.admin_key().is_some() => Some(self.key.as_str()),
            given => given,
        };
        crate::store::call(&self.http, &self.base, method, path, auth, idem, body).await
    }

    /// GET with the demo secret key.
    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, Some(&self.key.clone()), None, None)
            .await
    }

    /// POST with the demo secret key and a fresh idempotency key.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        let k = self.idem();
        self.call("POST", path, Some(&self.key.clone()), Some(&k), Some(&body))
            .await
    }

    /// POST to the control API.
    pub async fn control(&self, path: &str, body: Value) -> Answer {
        self.call("POST", path, None, None, Some(&body)).await
    }

    /// Advances the virtual clock.
    pub async fn advance(&self, seconds: i64) -> Answer {
        let a = self
            .control("/_mock/clock/advance", json!({"seconds": seconds}))
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        a
    }

    /// Freezes the clock at its current time (in one call, so no second boundary can pass in between); returns
    /// that time.
    pub async fn freeze(&self) -> chrono::DateTime<chrono::Utc> {
        let a = self
            .control("/_mock/clock/set", json!({"frozen": true}))
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.body["frozen"], true, "{}", a.text);
        a.body["now"].as_str().unwrap().parse().unwrap()
    }

    /// The server's time.
    pub async fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let v = self
            .call("GET", "/_mock/clock", None, None, None)
            .await
            .body;
        v["now"].as_str().expect("now").parse().expect("RFC 3339")
    }

    /// A trigger with the demo secret key.
    pub async fn trigger(
        &self,
        campaign: &str,
        moment: &str,
        customer: &str,
        marketplace: &str,
    ) -> Answer {
        self.post(
            "/v1/triggers",
            json!({"campaign_id": campaign, "moment_id": moment,
                   "customer": {"id": customer, "marketplace": marketplace}, "device": {"type": "Android"}}),
        )
        .await
    }

    /// A valid campaign body starting `start_offset` seconds from the server's now.
    pub async fn campaign_body(&self, start_offset: i64, budget: i64, cost: i64) -> Value {
        let now = self.now().await;
        let t = |s: i64| {
            (now + chrono::Duration::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        json!({
            "name": "Test campaign", "brand_name": "Test Brand",
            "start_at": t(start_offset), "end_at": t(start_offset + 60 * 86_400),
            "budget": {"amount": budget, "currency": "USD"},
            "cost_per_action": {"amount": cost, "currency": "USD"},
            "marketplaces": ["US"],
            "reward_groups": [{"id": "US", "marketplace": "US", "items": ["itm_echo_dot", "itm_gc_10"]}],
            "moments": [{"id": "m1", "client_reportable": true}],
            "announcement_message": "Do it and win", "redemption_message": "Well done!",
            "landing_image_url": "https://images.example.com/landing.png"
        })
    }

    /// Creates, submits and approves a campaign; returns its id.
    pub async fn launch(&self, body: Value) -> String {
        self.launch_with(&self.key.clone(), body).await
    }

    /// Same, with another app's secret key.
    pub async fn launch_with(&self, key: &str, body: Value) -> String {
        let a = self
            .call(
                "POST",
                "/v1/campaigns",
                Some(key),
                Some(&self.idem()),
                Some(&body),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
        let id = a.body["id"].as_str().expect("id").to_string();
        for step in ["submit", "approve"] {
            let a = self
                .call(
                    "POST",
                    &format!("/v1/campaigns/{id}/{step}"),
                    Some(key),
                    Some(&self.idem()),
                    None,
                )
                .await;
            assert_eq!(a.status, 200, "{step}: {}", a.text);
        }
        id
    }

    /// The path of a reward URL.
    pub fn link_token(url: &str) -> String {
        url.rsplit('/').next().expect("token").to_string()
    }

    /// The id of the first physical item a reward offers.
    pub fn physical_item(reward: &Value) -> String {
        reward["offer"]["items"]
            .as_array()
            .expect("the reward's offered items")
            .iter()
            .find(|item| item["kind"] == "physical")
            .expect("a physical item on offer")["item_id"]
            .as_str()
            .expect("an item id")
            .to_owned()
    }

    /// A new app (in an account of its own) made through the control API; its secret key.
    pub async fn new_app_key(&self, name: &str) -> String {
        let app = self
            .control("/_mock/apps", serde_json::json!({ "name": name }))
            .await;
        assert_eq!(app.status, 201, "{}", app.text);
        app.body["secret_key"]
            .as_str()
            .expect("a secret key")
            .to_owned()
    }
}
