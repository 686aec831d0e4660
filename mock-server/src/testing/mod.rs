//! The testing kit: a typed client of the mock's control API (`/_mock/…`) for tests written in Rust.
//!
//! [`Control`] talks to a running mock over HTTP, so it works the same against an in-process
//! [`MockServer`](crate::MockServer) ([`MockServer::control`](crate::MockServer::control)) and against
//! the binary or a container ([`Control::connect`]):
//!
//! - the virtual clock: [`Control::clock`] (now, advance, set, freeze);
//! - test or live mode: [`Control::mode`], [`Control::set_mode`];
//! - faults: [`Control::faults`] with [`Fault`] (a status, latency, a reset connection or a rate limit
//!   for the next requests of a [`Route`]);
//! - fixtures: [`Fixtures`] builds apps, items and valid campaigns, [`Control::load`] loads them;
//! - the request journal and expectations: [`Control::journal`], [`Journal::expect`];
//! - webhook deliveries and a receiver of them in the test: [`Control::webhooks`];
//! - the customer's and the backend's side of a scenario: [`Control::customer_token`],
//!   [`Control::redeem`] (a reward link redeemed as the customer's browser would), [`Control::report`];
//! - [`Control::reset`], [`Control::demo`], [`Control::new_app`].
//!
//! ```
//! use std::time::Duration;
//! use moments_mock_server::MockServer;
//! use moments_mock_server::testing::{Fault, Fixtures, Route};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start().await?;
//! let mock = server.control();
//!
//! // A live campaign of the demo app, $50 a month, one client-reportable moment.
//! let campaign = mock
//!     .load_campaign(Fixtures::campaign().live().budget_usd(50).moment("first_workout"))
//!     .await?;
//! assert!(campaign.starts_with("cmp_"));
//!
//! // Arms a 503 for the next trigger (no trigger is sent here, as the journal check below says).
//! mock.faults().inject(Fault::on(Route::Trigger).status(503)).await?;
//! let before = mock.clock().now().await?;
//! let after = mock.clock().advance(Duration::from_secs(86_400)).await?;
//! assert!(after.now >= before + chrono::Duration::days(1));
//! mock.journal().expect(Route::Trigger).never().verify().await?;
//! # Ok(()) }
//! ```

mod clock;
mod customer;
mod faults;
mod fixtures;
mod journal;
mod route;
mod webhooks;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::app::AppState;

pub use crate::control::{ClockView, MockApp};
pub use crate::domain::journal::JournalEntry;
pub use crate::domain::model::{Metrics, Redemption, Report};
pub use crate::domain::sandbox::Demo;
pub use crate::domain::webhooks::Delivery;
pub use clock::Clock;
pub use customer::{MockCustomerToken, TEST_ADDRESS};
pub use faults::{ArmedFault, Fault, FaultAction, Faults};
pub use fixtures::{AppFixture, CampaignFixture, Fixtures, ItemFixture, Loaded};
pub use journal::{Expectation, ExpectationGuard, Journal, Times, Unmet};
pub use route::Route;
pub use webhooks::{WebhookReceiver, Webhooks};

/// A client of a mock's control API. Cheap to clone; clones share one HTTP client.
#[derive(Clone)]
pub struct Control {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    http: reqwest::Client,
    /// The in-process server's state, when the client came from [`crate::MockServer::control`]: what
    /// [`ExpectationGuard`]'s drop reads, since a drop cannot await an HTTP answer.
    local: Option<AppState>,
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Control")
            .field("base_url", &self.inner.base)
            .field("in_process", &self.inner.local.is_some())
            .finish()
    }
}

/// Test or live mode (`/_mock/mode`): in test mode every trigger answers a test reward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every trigger answers a test reward (`"test": true`), whatever the campaign's status.
    Test,
    /// Triggers need a live campaign (or an approved one, which answers test rewards).
    Live,
}

/// A list answer of the control API.
#[derive(Deserialize)]
pub(crate) struct Page<T> {
    pub(crate) data: Vec<T>,
}

#[derive(Serialize, Deserialize)]
struct ModeBody {
    mode: Mode,
}

/// An error of the testing kit.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The mock refused the call with its error envelope.
    Api {
        /// HTTP status.
        status: u16,
        /// The envelope's `code` (`validation_error`, …).
        code: String,
        /// The envelope's `message`.
        message: String,
        /// The field the mock named, if any (`seconds`, `route`, `campaigns[0].campaign.budget.amount`).
        param: Option<String>,
        /// The request id (`req_…`).
        request_id: String,
    },
    /// The kit refused a value before sending it (a sub-second clock step, an unknown route, …).
    Invalid {
        /// The field (the control API's name for it).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An expectation on the journal was not met.
    Unmet(Box<Unmet>),
    /// The mock could not be reached, or answered something that is not the control API's.
    Transport(String),
}

impl Error {
    /// The field an [`Error::Api`] or [`Error::Invalid`] names.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Api { param, .. } => param.as_deref(),
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The mock's error code, for [`Error::Api`].
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api {
                status,
                code,
                message,
                param,
                request_id,
            } => {
                write!(f, "mock answered {status} {code}: {message}")?;
                if let Some(p) = param {
                    write!(f, " (param `{p}`)")?;
                }
                write!(f, " [{request_id}]")
            }
            Error::Invalid { field, message } => write!(f, "invalid `{field}`: {message}"),
            Error::Unmet(u) => u.fmt(f),
            Error::Transport(m) => write!(f, "mock control API: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Error {
        Error::Transport(e.to_string())
    }
}

/// Result of the kit's calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

impl Control {
    /// A client of the mock at `base_url` (`http://127.0.0.1:8080`; a trailing `/` is dropped): the
    /// binary, a container, or an in-process server.
    pub fn connect(base_url: impl Into<String>) -> Control {
        let base = base_url.into().trim_end_matches('/').to_string();
        Control {
            inner: Arc::new(Inner {
                base,
                http: http_client(),
                local: None,
            }),
        }
    }

    pub(crate) fn in_process(base_url: String, app: AppState) -> Control {
        Control {
            inner: Arc::new(Inner {
                base: base_url,
                http: http_client(),
                local: Some(app),
            }),
        }
    }

    /// The mock's base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    pub(crate) fn local(&self) -> Option<&AppState> {
        self.inner.local.as_ref()
    }

    /// One control call: the JSON answer, or the mock's error envelope as [`Error::Api`].
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        self.call_as(method, path_and_query, body, None).await
    }

    /// One call with an `Authorization: Bearer` key (a route of the API rather than of the control
    /// API).
    pub(crate) async fn call_as<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&impl Serialize>,
        bearer: Option<&str>,
    ) -> Result<T> {
        let mut req = self
            .inner
            .http
            .request(method, format!("{}{path_and_query}", self.inner.base));
        if let Some(key) = bearer {
            req = req.bearer_auth(key);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| {
                Error::Transport(format!(
                    "unexpected answer to {path_and_query} ({e}): {text}"
                ))
            });
        }
        Err(api_error(status, &text))
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(reqwest::Method::GET, path, None::<&()>).await
    }

    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Back to the state the server started in: the seeded demo and catalog, the fixtures it started
    /// with, no faults, an empty journal and delivery log, the clock at real time.
    pub async fn reset(&self) -> Result<()> {
        self.post::<serde_json::Value>("/_mock/reset", &serde_json::json!({}))
            .await
            .map(drop)
    }

    /// The demo fixture: app, keys, campaign, moments, reward groups, base URL.
    pub async fn demo(&self) -> Result<Demo> {
        self.get("/_mock/demo").await
    }

    /// A new app (in a new account) with a secret key and a legacy key.
    pub async fn new_app(&self, name: &str) -> Result<MockApp> {
        self.post("/_mock/apps", &serde_json::json!({ "name": name }))
            .await
    }

    /// The virtual clock.
    pub fn clock(&self) -> Clock {
        Clock::new(self.clone())
    }

    /// The mode (test or live).
    pub async fn mode(&self) -> Result<Mode> {
        self.get::<ModeBody>("/_mock/mode").await.map(|b| b.mode)
    }

    /// Sets the mode.
    pub async fn set_mode(&self, mode: Mode) -> Result<()> {
        self.post::<ModeBody>("/_mock/mode", &ModeBody { mode })
            .await
            .map(drop)
    }

    /// Injected faults.
    pub fn faults(&self) -> Faults {
        Faults::new(self.clone())
    }

    /// The request journal and expectations on it.
    pub fn journal(&self) -> Journal {
        Journal::new(self.clone())
    }

    /// The webhook delivery log.
    pub fn webhooks(&self) -> Webhooks {
        Webhooks::new(self.clone())
    }
}

/// The mock's error envelope as [`Error::Api`] (or [`Error::Transport`] when it is not one).
fn api_error(status: u16, text: &str) -> Error {
    match serde_json::from_str::<crate::http::envelope::ErrorEnvelope>(text) {
        Ok(env) => Error::Api {
            status,
            code: env.error.code,
            message: env.error.message,
            param: env.error.param,
            request_id: env.error.request_id,
        },
        Err(_) => Error::Transport(format!("HTTP {status}: {text}")),
    }
}
