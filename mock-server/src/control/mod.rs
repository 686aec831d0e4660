//! The mock control API under `/_mock/`: reset, fixtures, demo, apps, clock, faults, journal,
//! webhook deliveries, mode.

use axum::Json;
use axum::extract::State as S;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::domain::campaigns;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::ids;
use crate::domain::model::{CampaignCreate, CampaignStatus, Item};
use crate::domain::sandbox::{Demo, Sandbox};
use crate::domain::webhooks::Delivery;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::{JsonBody, QueryMap};
use crate::http::pagination::List;

pub use crate::domain::faults::Fault;
pub use crate::domain::journal::JournalEntry;

crate::list_schema!(FaultList, Fault);
crate::list_schema!(JournalList, JournalEntry);
crate::list_schema!(DeliveryList, Delivery);

/// The clock.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ClockView {
    /// Server time.
    pub now: DateTime<Utc>,
    /// Frozen.
    pub frozen: bool,
    /// Offset from real time.
    pub offset_seconds: i64,
}

/// Body of `POST /_mock/clock/advance`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceBody {
    /// Seconds (≥ 0).
    pub seconds: i64,
}

/// Body of `POST /_mock/clock/set`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClockBody {
    /// New time (not backwards); omitted: the clock's current time, so `{"frozen": true}` freezes the clock where
    /// it is in one call (reading the time and setting it back could race a second boundary).
    pub now: Option<DateTime<Utc>>,
    /// Freeze it (default `false`: the clock runs on from the new time).
    pub frozen: Option<bool>,
}

/// Mode.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeBody {
    /// `test` or `live`.
    pub mode: String,
}

/// Body of `POST /_mock/apps`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppBody {
    /// Name.
    pub name: String,
    /// Existing account (a new one otherwise).
    pub account_id: Option<String>,
}

/// Credentials of an app made by the control API.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MockApp {
    /// `mock_app`.
    pub object: String,
    /// App.
    pub app_id: String,
    /// Account.
    pub account_id: String,
    /// Secret key.
    pub secret_key: String,
    /// Legacy key.
    pub api_key: String,
}

/// An app in a fixtures file.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FixtureApp {
    /// Id (generated if absent).
    pub id: Option<String>,
    /// Account (created if unknown; new if absent).
    pub account_id: Option<String>,
    /// Name.
    pub name: String,
    /// Secret key (generated if absent).
    pub secret_key: Option<String>,
    /// Legacy key (generated if absent).
    pub api_key: Option<String>,
}

/// A campaign in a fixtures file.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FixtureCampaign {
    /// Id (generated if absent).
    pub id: Option<String>,
    /// Owner app.
    pub app_id: String,
    /// Initial status (default `draft`; `approved` follows the clock).
    pub status: Option<CampaignStatus>,
    /// The campaign.
    pub campaign: CampaignCreate,
}

/// Fixtures to load.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// Account ids.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Apps.
    #[serde(default)]
    pub apps: Vec<FixtureApp>,
    /// Catalog items.
    #[serde(default)]
    pub items: Vec<Item>,
    /// Campaigns.
    #[serde(default)]
    pub campaigns: Vec<FixtureCampaign>,
}

/// What a fixtures load created.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FixturesLoaded {
    /// `fixtures`.
    pub object: String,
    /// Apps with their credentials.
    pub apps: Vec<MockApp>,
    /// Item ids.
    pub items: Vec<String>,
    /// Campaign ids.
    pub campaigns: Vec<String>,
}

impl Fixtures {
    /// These fixtures with every id and key that loading them generated (`loaded`, the answer of
    /// that load) written in, so that loading them into the same state again builds the same apps,
    /// credentials and campaigns: how a reset returns to the fixtures a server started with.
    pub fn resolved(mut self, loaded: &FixturesLoaded) -> Fixtures {
        for (a, got) in self.apps.iter_mut().zip(&loaded.apps) {
            a.id = Some(got.app_id.clone());
            a.account_id = Some(got.account_id.clone());
            a.secret_key = Some(got.secret_key.clone());
            a.api_key = Some(got.api_key.clone());
        }
        for (c, id) in self.campaigns.iter_mut().zip(&loaded.campaigns) {
            c.id = Some(id.clone());
        }
        self
    }
}

/// A generic acknowledgement.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    /// `ok`.
    pub object: String,
    /// What happened.
    pub message: String,
}

fn ack(m: &str) -> Json<Ack> {
    Json(Ack {
        object: "ok".into(),
        message: m.into(),
    })
}

/// Creates an app with fresh credentials.
pub fn new_app(
    sb: &mut Sandbox,
    name: &str,
    account_id: Option<String>,
    id: Option<String>,
    secret: Option<String>,
    legacy: Option<String>,
) -> ApiResult<MockApp> {
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::validation(
            "name",
            "`name` must be 1–200 characters.",
        ));
    }
    let id = id.unwrap_or_else(|| ids::new_id("app_"));
    if sb.credentials.app(&id).is_some() {
        return Err(ApiError::validation(
            "id",
            format!("App {id} already exists."),
        ));
    }
    let secret = secret.unwrap_or_else(|| ids::secret("sk_test_", 27));
    let legacy = legacy.unwrap_or_else(|| ids::secret("mk_", 12));
    if sb.credentials.key_taken(&secret, &legacy) {
        return Err(ApiError::validation(
            "secret_key",
            "This key is already in use.",
        ));
    }
    let account = account_id.unwrap_or_else(|| ids::new_id("acct_"));
    let now = sb.now();
    let creds = &mut sb.credentials;
    creds.add_account(&account);
    creds.add_app(&id, &account, name, &legacy, now);
    creds.add_key(&id, Some("default".into()), secret.clone(), now);
    Ok(MockApp {
        object: "mock_app".into(),
        app_id: id,
        account_id: account,
        secret_key: secret,
        api_key: legacy,
    })
}

/// Loads fixtures (replacing nothing).
pub fn load_fixtures(sb: &mut Sandbox, f: Fixtures) -> ApiResult<FixturesLoaded> {
    for (i, it) in f.items.iter().enumerate() {
        if sb.catalog.item(&it.id).is_some() || !it.id.starts_with("itm_") {
            return Err(ApiError::validation(
                format!("items[{i}].id"),
                "Item ids start with itm_ and must be new.",
            ));
        }
    }
    for a in &f.accounts {
        sb.credentials.add_account(a);
    }
    let mut apps = Vec::new();
    for a in f.apps {
        apps.push(new_app(
            sb,
            &a.name,
            a.account_id,
            a.id,
            a.secret_key,
            a.api_key,
        )?);
    }
    let mut items = Vec::new();
    for mut it in f.items {
        it.object = "item".into();
        items.push(it.id.clone());
        sb.catalog.add(it);
    }
    let mut campaigns = Vec::new();
    for (i, c) in f.campaigns.into_iter().enumerate() {
        if sb.credentials.app(&c.app_id).is_none() {
            return Err(ApiError::validation(
                format!("campaigns[{i}].app_id"),
                "Unknown app.",
            ));
        }
        let id = campaigns::insert_campaign(sb, &c.app_id, c.campaign, c.id).map_err(|mut e| {
            e.param = e.param.map(|p| format!("campaigns[{i}].campaign.{p}"));
            e
        })?;
        let now = sb.now();
        if let Some(st) = c.status {
            let st = if st == CampaignStatus::Approved || st == CampaignStatus::Live {
                let cc = &sb.campaigns[&id].c;
                if now >= cc.end_at {
                    CampaignStatus::Finished
                } else if now >= cc.start_at {
                    CampaignStatus::Live
                } else {
                    CampaignStatus::Approved
                }
            } else {
                st
            };
            sb.campaigns.get_mut(&id).expect("inserted").c.status = st;
            campaigns::schedule_campaign(sb, &id);
        }
        campaigns.push(id);
    }
    Ok(FixturesLoaded {
        object: "fixtures".into(),
        apps,
        items,
        campaigns,
    })
}

fn clock_view(sb: &Sandbox) -> ClockView {
    ClockView {
        now: sb.now(),
        frozen: sb.clock.is_frozen(),
        offset_seconds: sb.clock.offset_seconds(),
    }
}

/// `POST /_mock/reset`
#[utoipa::path(post, path = "/_mock/reset", tag = "mock",
    responses((status = 200, body = Ack), (status = 500, description = "The startup fixtures did not load again; nothing changed", body = ErrorEnvelope)))]
pub async fn reset(S(app): S<AppState>) -> ApiResult<Json<Ack>> {
    reset_sandbox(&app)
}

/// Resets the sandbox to how the server started (what `POST /_mock/reset` does; the console's reset too).
pub fn reset_sandbox(app: &AppState) -> ApiResult<Json<Ack>> {
    let mut fresh = Sandbox::seeded(app.0.demo.base_url.clone(), &app.0.demo, &app.0.legacy);
    // The fixtures the server started with, ids and keys included (built on a clock at real time,
    // where the reset puts the server's clock).
    if let Some(f) = &app.0.startup_fixtures {
        load_fixtures(&mut fresh, f.clone()).map_err(|e| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal_error",
            message: format!("The startup fixtures did not load again: {}", e.message),
            ..e
        })?;
    }
    let old = {
        let mut g = app.lock_raw();
        // The server keeps its one clock (the journal reads it too), back at real time.
        fresh.clock = g.clock.clone();
        fresh.clock.reset();
        // Likewise its credential generation, moved on: no credential cached before is used again.
        fresh.credentials.continue_generation(&g.credentials);
        fresh.resets = g.resets + 1;
        app.0.idem.clear(fresh.now());
        app.journal().clear();
        std::mem::replace(&mut *g, fresh)
    };
    // Free the old state outside the lock, then hand the freed pages back to the OS so a reset
    // brings the process's memory back near its start (the soak test checks this).
    drop(old);
    crate::memory::release_free_memory();
    Ok(ack(
        "Sandbox reset to how the server started (seeded demo and startup fixtures); clock back to real time.",
    ))
}

/// `POST /_mock/fixtures`
#[utoipa::path(post, path = "/_mock/fixtures", tag = "mock", request_body = Fixtures,
    responses((status = 201, body = FixturesLoaded), (status = "4XX", body = ErrorEnvelope)))]
pub async fn fixtures(
    S(app): S<AppState>,
    JsonBody(f): JsonBody<Fixtures>,
) -> ApiResult<(StatusCode, Json<FixturesLoaded>)> {
    let mut g = app.lock();
    load_fixtures(&mut g, f).map(|r| (StatusCode::CREATED, Json(r)))
}

/// `GET /_mock/demo`
#[utoipa::path(get, path = "/_mock/demo", tag = "mock", responses((status = 200, body = Demo)))]
pub async fn demo(S(app): S<AppState>) -> Json<Demo> {
    Json(app.0.demo.clone())
}

/// `GET /_mock/health`'s answer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`: the server answers.
    pub status: String,
    /// The mock's version (the crate's, the workspace's release version).
    pub version: String,
    /// Seconds since the server started, in real time (the virtual clock does not move it).
    pub uptime_seconds: u64,
    /// Where the state lives, and whether it answers.
    pub store: HealthStore,
}

/// The store as `GET /_mock/health` reports it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HealthStore {
    /// `memory`, `sqlite` or `postgres`.
    pub kind: String,
    /// The file, or `host:port/database` (no credentials); `memory` for the in-memory store.
    pub location: String,
    /// Whether the store answered just now (always `true` in memory).
    pub reachable: bool,
    /// Why it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last entry of the store's log this instance applied (absent in memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<i64>,
}

/// `GET /_mock/health`: readiness and container health checks. Takes no lock of the state, so it
/// answers while a long request holds it; it is kept out of the journal and faults (see
/// [`crate::http::layers`]), so a health check every few seconds changes nothing a test reads. With a
/// persistent store it asks the database, and answers `503` with `status: "unavailable"` while the
/// database does not answer.
#[utoipa::path(get, path = "/_mock/health", tag = "mock",
    responses((status = 200, description = "The server is up and serving", body = Health),
              (status = 503, description = "The server's database does not answer", body = Health)))]
pub async fn health(S(app): S<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let reach = crate::sync::reachable(&app).await;
    let store = match (app.sync(), &reach) {
        (Some(sync), Some(r)) => HealthStore {
            kind: sync.spec.kind().into(),
            location: sync.spec.location(),
            reachable: r.is_ok(),
            error: r.as_ref().err().cloned(),
            applied: Some(sync.applied()),
        },
        _ => HealthStore {
            kind: "memory".into(),
            location: "memory".into(),
            reachable: true,
            error: None,
            applied: None,
        },
    };
    let ok = store.reachable;
    let mut resp = (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(Health {
            status: if ok { "ok" } else { "unavailable" }.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_seconds: app.0.started.elapsed().as_secs(),
            store,
        }),
    )
        .into_response();
    // The health document, not an error envelope, even as a 503: it says what is unreachable.
    resp.extensions_mut()
        .insert(crate::http::envelope::Enveloped);
    resp
}

/// `POST /_mock/apps`
#[utoipa::path(post, path = "/_mock/apps", tag = "mock", request_body = NewAppBody,
    responses((status = 201, body = MockApp), (status = "4XX", body = ErrorEnvelope)))]
pub async fn apps(
    S(app): S<AppState>,
    JsonBody(b): JsonBody<NewAppBody>,
) -> ApiResult<(StatusCode, Json<MockApp>)> {
    let mut g = app.lock();
    if let Some(a) = &b.account_id
        && !g.credentials.has_account(a)
    {
        return Err(ApiError::not_found("account", a).param("account_id"));
    }
    new_app(&mut g, &b.name, b.account_id, None, None, None).map(|a| (StatusCode::CREATED, Json(a)))
}

/// `GET /_mock/clock`
#[utoipa::path(get, path = "/_mock/clock", tag = "mock", responses((status = 200, body = ClockView)))]
pub async fn clock(S(app): S<AppState>) -> Json<ClockView> {
    Json(clock_now(&app))
}

/// The clock now (`GET /_mock/clock`).
pub fn clock_now(app: &AppState) -> ClockView {
    clock_view(&app.lock())
}

/// `POST /_mock/clock/advance`: runs every rule that became due, in time order, and delivers due webhooks.
#[utoipa::path(post, path = "/_mock/clock/advance", tag = "mock", request_body = AdvanceBody,
    responses((status = 200, body = ClockView), (status = "4XX", body = ErrorEnvelope)))]
pub async fn advance(
    S(app): S<AppState>,
    JsonBody(b): JsonBody<AdvanceBody>,
) -> ApiResult<Json<ClockView>> {
    advance_checked(&app, b.seconds).await.map(Json)
}

/// Checks `seconds` and advances the clock by it (what `POST /_mock/clock/advance` does).
pub async fn advance_checked(app: &AppState, seconds: i64) -> ApiResult<ClockView> {
    if !(0..=100 * 365 * 86_400).contains(&seconds) {
        return Err(ApiError::validation("seconds", "`seconds` must be ≥ 0."));
    }
    advance_by(app, seconds).await;
    Ok(clock_now(app))
}

/// Advances the clock `seconds`, running every rule that became due in time order, then delivers
/// the webhooks that became due (what `POST /_mock/clock/advance` does).
pub async fn advance_by(app: &AppState, seconds: i64) {
    step_to(app, |g| {
        (g.now() + chrono::Duration::seconds(seconds), None)
    })
    .await;
    crate::delivery::flush(app).await;
}

/// Moves the clock to a target in steps, so rules (and webhook retries) run in time order.
async fn step_to(app: &AppState, target: impl FnOnce(&Sandbox) -> (DateTime<Utc>, Option<bool>)) {
    let (t, frozen) = {
        let g = app.lock();
        target(&g)
    };
    loop {
        let next_due = {
            let mut g = app.lock();
            let next = g
                .due
                .peek()
                .map(|std::cmp::Reverse((at, _, _))| *at)
                .filter(|at| *at <= t);
            let frozen_now = g.clock.is_frozen();
            match next {
                Some(at) => {
                    g.clock.set(at, frozen_now);
                    g.run_due();
                    true
                }
                None => {
                    g.clock.set(t, frozen.unwrap_or(frozen_now));
                    g.run_due();
                    false
                }
            }
        };
        // Deliver webhooks due at this instant, so retries are scheduled from the right time.
        crate::delivery::flush(app).await;
        if !next_due {
            break;
        }
    }
}

/// `POST /_mock/clock/set`
#[utoipa::path(post, path = "/_mock/clock/set", tag = "mock", request_body = SetClockBody,
    responses((status = 200, body = ClockView), (status = "4XX", body = ErrorEnvelope)))]
pub async fn set_clock(
    S(app): S<AppState>,
    JsonBody(b): JsonBody<SetClockBody>,
) -> ApiResult<Json<ClockView>> {
    set_clock_to(&app, b).await.map(Json)
}

/// Sets the clock (forward only) and whether it is frozen, running the rules that became due in time
/// order (what `POST /_mock/clock/set` does).
pub async fn set_clock_to(app: &AppState, b: SetClockBody) -> ApiResult<ClockView> {
    if let Some(now) = b.now {
        let g = app.lock();
        if crate::domain::clock::trunc(now) < g.now() {
            return Err(ApiError::validation(
                "now",
                "The clock cannot go backwards.",
            ));
        }
    }
    let frozen = b.frozen.unwrap_or(false);
    step_to(app, |g| (b.now.unwrap_or_else(|| g.now()), Some(frozen))).await;
    Ok(clock_now(app))
}

/// `POST /_mock/faults`
#[utoipa::path(post, path = "/_mock/faults", tag = "mock", request_body = Fault,
    responses((status = 201, body = Fault), (status = "4XX", body = ErrorEnvelope)))]
pub async fn add_fault(
    S(app): S<AppState>,
    JsonBody(f): JsonBody<Fault>,
) -> ApiResult<(StatusCode, Json<Fault>)> {
    arm_fault(&app, f).map(|f| (StatusCode::CREATED, Json(f)))
}

/// Checks a fault and arms it (what `POST /_mock/faults` does).
pub fn arm_fault(app: &AppState, f: Fault) -> ApiResult<Fault> {
    if f.route
        .split_once(' ')
        .is_none_or(|(_, p)| !p.starts_with('/'))
    {
        return Err(ApiError::validation(
            "route",
            "`route` is `METHOD /path` (`*` for any method).",
        ));
    }
    // A route that names nothing served would be accepted and never fire.
    if f.route
        .split_once(' ')
        .is_some_and(|(_, p)| crate::http::layers::route_template(p).is_none())
    {
        return Err(ApiError::validation(
            "route",
            "`route` names no served route: give a path or template of the API (`POST /v1/triggers`, `GET /v1/rewards/{id}`).",
        ));
    }
    if f.count == 0 {
        return Err(ApiError::validation("count", "`count` must be ≥ 1."));
    }
    if let Some(a) = &f.action
        && a != "reset"
        && a != "rate_limit"
    {
        return Err(ApiError::validation(
            "action",
            "`action` is reset or rate_limit.",
        ));
    }
    if let Some(s) = f.status
        && !(400..=599).contains(&s)
    {
        return Err(ApiError::validation("status", "`status` must be 400–599."));
    }
    if f.status.is_none() && f.action.is_none() && f.latency_ms.is_none() {
        return Err(ApiError::validation(
            "status",
            "A fault needs `status`, `action` or `latency_ms`.",
        ));
    }
    let mut g = app.lock();
    app.0
        .faults_armed
        .store(true, std::sync::atomic::Ordering::Release);
    g.faults.arm(f.clone());
    drop(g);
    Ok(f)
}

/// `GET /_mock/faults`
#[utoipa::path(get, path = "/_mock/faults", tag = "mock", responses((status = 200, body = FaultList)))]
pub async fn list_faults(S(app): S<AppState>) -> Json<List<Fault>> {
    let data = app.lock().faults.list().to_vec();
    Json(List {
        object: "list",
        data,
        has_more: false,
        next_cursor: None,
    })
}

/// `DELETE /_mock/faults`
#[utoipa::path(delete, path = "/_mock/faults", tag = "mock", responses((status = 200, body = Ack)))]
pub async fn clear_faults(S(app): S<AppState>) -> Json<Ack> {
    clear_all_faults(&app)
}

/// Clears every armed fault (what `DELETE /_mock/faults` does).
pub fn clear_all_faults(app: &AppState) -> Json<Ack> {
    app.lock().faults.clear();
    ack("Faults cleared.")
}

/// `GET /_mock/journal`
#[utoipa::path(get, path = "/_mock/journal", tag = "mock", params(("limit" = Option<i64>, Query)),
    responses((status = 200, body = JournalList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn journal(S(app): S<AppState>, q: QueryMap) -> ApiResult<Json<List<JournalEntry>>> {
    let limit = match q.get("limit") {
        None => 10_000,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| ApiError::validation("limit", "`limit` must be 1–10000."))?,
    };
    let (data, has_more) = app.journal().recent(limit);
    Ok(Json(List {
        object: "list",
        data,
        has_more,
        next_cursor: None,
    }))
}

/// `DELETE /_mock/journal`
#[utoipa::path(delete, path = "/_mock/journal", tag = "mock", responses((status = 200, body = Ack)))]
pub async fn clear_journal(S(app): S<AppState>) -> Json<Ack> {
    app.journal().clear();
    ack("Journal cleared.")
}

/// `GET /_mock/webhooks/deliveries`
#[utoipa::path(get, path = "/_mock/webhooks/deliveries", tag = "mock", params(("event_type" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = DeliveryList), (status = "4XX", body = ErrorEnvelope)))]
pub async fn deliveries(S(app): S<AppState>, q: QueryMap) -> ApiResult<Json<List<Delivery>>> {
    let limit = match q.get("limit") {
        None => 10_000,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| ApiError::validation("limit", "`limit` must be 1–10000."))?,
    };
    let g = app.lock();
    let mut data: Vec<_> = g
        .webhooks
        .deliveries()
        .filter(|d| q.get("event_type").is_none_or(|t| d.event_type == t))
        .cloned()
        .collect();
    let skip = data.len().saturating_sub(limit);
    data.drain(..skip);
    Ok(Json(List {
        object: "list",
        data,
        has_more: skip > 0,
        next_cursor: None,
    }))
}

/// `GET /_mock/mode`
#[utoipa::path(get, path = "/_mock/mode", tag = "mock", responses((status = 200, body = ModeBody)))]
pub async fn get_mode(S(app): S<AppState>) -> Json<ModeBody> {
    let test = app.lock().test_mode;
    Json(ModeBody {
        mode: if test { "test" } else { "live" }.into(),
    })
}

/// `POST /_mock/mode`
#[utoipa::path(post, path = "/_mock/mode", tag = "mock", request_body = ModeBody,
    responses((status = 200, body = ModeBody), (status = "4XX", body = ErrorEnvelope)))]
pub async fn set_mode(
    S(app): S<AppState>,
    JsonBody(b): JsonBody<ModeBody>,
) -> ApiResult<Json<ModeBody>> {
    set_test_mode(&app, b).map(Json)
}

/// Sets test or live mode (what `POST /_mock/mode` does).
pub fn set_test_mode(app: &AppState, b: ModeBody) -> ApiResult<ModeBody> {
    let test = match b.mode.as_str() {
        "test" => true,
        "live" => false,
        _ => return Err(ApiError::validation("mode", "`mode` is test or live.")),
    };
    app.lock().test_mode = test;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_fixtures_load_again_as_the_same_apps_keys_and_campaigns() {
        let app = crate::app::test_app();
        let demo = app.0.demo.clone();
        let now = chrono::Utc::now();
        let f: Fixtures = serde_json::from_value(serde_json::json!({
            "apps": [{"name": "Generated"}],
            "campaigns": [{"app_id": demo.app_id, "status": "approved", "campaign": {
                "name": "Fixture", "brand_name": "Brand",
                "start_at": now - chrono::Duration::hours(1), "end_at": now + chrono::Duration::days(30),
                "budget": {"amount": 10_000, "currency": "USD"},
                "cost_per_action": {"amount": 500, "currency": "USD"},
                "marketplaces": ["US"],
                "reward_groups": [{"id": "US", "marketplace": "US", "items": ["itm_gc_10"]}],
                "moments": [{"id": "m1"}],
                "announcement_message": "Hi", "redemption_message": "Enjoy"}}]
        }))
        .unwrap();
        let seeded = || Sandbox::seeded(demo.base_url.clone(), &demo, &app.0.legacy);
        let mut first = seeded();
        let loaded = load_fixtures(&mut first, f.clone()).unwrap();
        let resolved = f.clone().resolved(&loaded);
        let mut again = seeded();
        let reloaded = load_fixtures(&mut again, resolved.clone()).unwrap();
        // Loading the bare fixtures twice generates other ids and keys; the resolved ones do not.
        let other = load_fixtures(&mut seeded(), f).unwrap();
        assert_ne!(other.apps[0].secret_key, loaded.apps[0].secret_key);
        assert_ne!(other.campaigns, loaded.campaigns);
        let creds = |l: &FixturesLoaded| {
            l.apps
                .iter()
                .map(|a| {
                    (
                        a.app_id.clone(),
                        a.account_id.clone(),
                        a.secret_key.clone(),
                        a.api_key.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(creds(&reloaded), creds(&loaded));
        assert_eq!(reloaded.campaigns, loaded.campaigns);
        let id = &loaded.campaigns[0];
        assert_eq!(again.campaigns[id].c.status, CampaignStatus::Live);
        assert_eq!(again.campaigns[id].c.status, first.campaigns[id].c.status);
        // And a third load from the resolved fixtures still works (a reset after a reset).
        load_fixtures(&mut seeded(), resolved).unwrap();
    }
}
