//! The tenants of a shared sandbox (`--shared`, implied by a PostgreSQL store).
//!
//! A tenant is a sandbox of its own: its apps, accounts, campaigns and rewards, and its own virtual
//! clock (its time rules follow it, no other tenant's), faults, mode, journal and reset. The
//! tenant `default` is served at the root (`/v1/…`, `/_mock/…`, the demo); tenant `acme` under
//! `/t/acme/…`, which is its base URL (its reward links are `…/t/acme/r/TOKEN`); a request at the
//! root with a secret key or customer token of `acme` is served by `acme` too. In a shared
//! sandbox each tenant's control API (`/_mock/…` but the health check) acts only for a caller with
//! a secret key of that tenant, and the operations on the whole sandbox — creating a tenant, listing
//! them, resetting all — are under `/_mock/admin/…` and need the admin key given at start
//! ([`crate::MockConfig::admin_key`]).
//!
//! With a persistent store each tenant has its own log: their writes do not wait for each other,
//! and an instance serves a tenant another instance created as soon as a request names it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower::ServiceExt;

use crate::app::{AppState, Shared};
use crate::domain::applying::Applying;
use crate::domain::errors::ApiError;
use crate::domain::sandbox::Demo;
use crate::server::{Start, build_start};
use crate::store::{Genesis, Store, StoreSpec};

/// The tenant served at the root.
pub const DEFAULT: &str = "default";

/// One tenant: its server handle and its routes.
#[derive(Clone)]
pub struct Tenant {
    /// Its state and stores.
    pub app: AppState,
    /// Its routes (the API, the control API, the console, reward links).
    pub router: Router,
}

/// What every tenant is built with.
pub struct Settings {
    /// Whether this is a shared sandbox.
    pub shared: bool,
    /// The admin key (a shared sandbox has one).
    pub admin_key: Option<String>,
    /// The persistent store, if any, and its description.
    pub store: Option<(Arc<Store>, StoreSpec)>,
    /// The base of the URLs handed out (the root tenant's base URL).
    pub public_base: String,
    /// The compatibility endpoints' rate.
    pub compat_rate: Option<std::num::NonZeroU32>,
    /// Random demo keys for the root tenant.
    pub random_demo_keys: bool,
    /// The root tenant's fixtures.
    pub fixtures: Option<serde_json::Value>,
}

/// The tenants this instance serves.
pub struct Tenants {
    settings: Settings,
    /// The root tenant (also in `map`), reached without the map's lock.
    root: std::sync::OnceLock<Tenant>,
    http: reqwest::Client,
    map: RwLock<HashMap<String, Tenant>>,
    /// One tenant is built at a time (two requests naming a new tenant build it once).
    building: tokio::sync::Mutex<()>,
}

/// A tenant as `/_mock/admin/tenants` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantView {
    /// Always `tenant`.
    pub object: String,
    /// Its id (the `/t/{id}` of its URLs).
    pub id: String,
    /// Its base URL: what its apps' SDKs are configured with.
    pub base_url: String,
    /// Its demo app, keys and campaign (only in the answer that creates it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo: Option<Demo>,
}

/// `POST /_mock/admin/tenants`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Its id: 1–40 of `a-z`, `0-9` and `-` (default: a random `tnt-…`).
    pub id: Option<String>,
    /// Fixtures loaded into its sandbox at creation (as `POST /_mock/fixtures`; its reset loads them again).
    pub fixtures: Option<serde_json::Value>,
}

fn valid_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Tenants {
    /// The tenants of a server: the root one is built (and its log applied) now.
    pub async fn start(settings: Settings) -> std::io::Result<Arc<Tenants>> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let tenants = Arc::new(Tenants {
            settings,
            http,
            map: RwLock::default(),
            root: std::sync::OnceLock::new(),
            building: tokio::sync::Mutex::new(()),
        });
        let genesis = match &tenants.settings.store {
            None => None,
            Some((store, _)) => {
                let proposal = Genesis {
                    seed: crate::domain::applying::new_seed(),
                    created_at: chrono::Utc::now(),
                    random_demo_keys: tenants.settings.random_demo_keys,
                    fixtures: tenants.settings.fixtures.clone(),
                };
                let g = store
                    .sandbox(DEFAULT, Some(proposal))
                    .await?
                    .expect("just created");
                if tenants.settings.fixtures.is_some() && g.fixtures != tenants.settings.fixtures {
                    tracing::warn!(
                        "the store already holds a sandbox: the fixtures it was created with apply, not these"
                    );
                }
                Some(g)
            }
        };
        let t = tenants
            .build(
                DEFAULT,
                tenants.settings.random_demo_keys,
                tenants.settings.fixtures.clone(),
                genesis,
            )
            .await?;
        tenants.insert(DEFAULT, t.clone());
        let _ = tenants.root.set(t);
        Ok(tenants)
    }

    /// Whether this is a shared sandbox.
    pub fn shared(&self) -> bool {
        self.settings.shared
    }

    /// The root tenant.
    pub fn root(&self) -> &Tenant {
        self.root.get().expect("built at start")
    }

    /// The tenants built in this instance.
    pub fn loaded(&self) -> Vec<Tenant> {
        let mut v: Vec<(String, Tenant)> = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.into_iter().map(|(_, t)| t).collect()
    }

    fn local(&self, id: &str) -> Option<Tenant> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    fn insert(&self, id: &str, t: Tenant) {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), t);
    }

    /// A tenant: built here already, or (with a persistent store) one another instance created.
    pub async fn get(&self, id: &str) -> Result<Option<Tenant>, ApiError> {
        if let Some(t) = self.local(id) {
            return Ok(Some(t));
        }
        let Some((store, _)) = &self.settings.store else {
            return Ok(None);
        };
        let _one = self.building.lock().await;
        if let Some(t) = self.local(id) {
            return Ok(Some(t));
        }
        let genesis = store.sandbox(id, None).await.map_err(unavailable)?;
        let Some(g) = genesis else { return Ok(None) };
        let t = self
            .build(id, g.random_demo_keys, g.fixtures.clone(), Some(g))
            .await
            .map_err(|e| ApiError {
                message: format!("The tenant's sandbox could not be built: {e}"),
                ..ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR)
            })?;
        self.insert(id, t.clone());
        Ok(Some(t))
    }

    /// Every tenant of the sandbox (with a persistent store, those other instances created too).
    pub async fn all(&self) -> Result<Vec<(String, Tenant)>, ApiError> {
        let mut ids: Vec<String> = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        if let Some((store, _)) = &self.settings.store {
            ids.extend(
                store
                    .heads()
                    .await
                    .map_err(unavailable)?
                    .into_iter()
                    .map(|(id, _)| id),
            );
        }
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            if let Some(t) = self.get(&id).await? {
                out.push((id, t));
            }
        }
        Ok(out)
    }

    /// The tenant other than the root whose secret key or customer token `cred` is, if any. A
    /// credential no tenant built here knows may be one another instance made: then the tenants
    /// this instance has not built are loaded, those whose logs moved on are brought up to date,
    /// and it is looked for again.
    async fn owner_of(&self, cred: &str) -> Option<Tenant> {
        // An expired customer token is still its tenant's: there it answers `token_expired`, which
        // tells the app's SDK to fetch a new one.
        let knows = |t: &Tenant| match crate::http::auth::resolve_credential(&t.app, cred) {
            Ok(_) => true,
            Err(e) => e.code == "token_expired",
        };
        if knows(self.root()) {
            return None;
        }
        let others = |ts: Vec<Tenant>| {
            ts.into_iter()
                .find(|t| !Arc::ptr_eq(&t.app.0, &self.root().app.0) && knows(t))
        };
        if let Some(t) = others(self.loaded()) {
            return Some(t);
        }
        // Only what may be a credential is looked for further: anything else is the root's 401.
        let Some((store, _)) = &self.settings.store else {
            return None;
        };
        if !(cred.starts_with("sk_") || cred.starts_with("ct_")) {
            return None;
        }
        // One query says which sandboxes changed since this instance last applied their logs: an
        // unknown credential costs that query when none did.
        let heads = match store.heads().await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("looking for a credential's tenant: {e}");
                return None;
            }
        };
        let mut all = Vec::with_capacity(heads.len());
        for (id, head) in heads {
            let Ok(Some(t)) = self.get(&id).await else {
                continue;
            };
            let behind = t.app.sync().is_some_and(|s| s.applied() < head);
            if behind && let Err(e) = crate::sync::catch_up(&t.app).await {
                tracing::warn!("looking for a credential's tenant: {e}");
            }
            all.push(t);
        }
        if knows(self.root()) {
            return None;
        }
        others(all)
    }

    /// Creates a tenant (random demo keys; `fixtures` loaded).
    pub async fn create(&self, body: NewTenant) -> Result<TenantView, ApiError> {
        let id = match body.id {
            Some(id) if valid_id(&id) && id != DEFAULT => id,
            Some(_) => {
                return Err(ApiError::validation(
                    "id",
                    "A tenant id is 1–40 of a-z, 0-9 and `-`, and not `default`.",
                ));
            }
            None => crate::domain::ids::new_id("tnt-"),
        };
        if let Some(f) = &body.fixtures {
            crate::http::extract::parse_json::<crate::control::Fixtures>(f.to_string().as_bytes())?;
        }
        let taken = || {
            ApiError::new(
                StatusCode::CONFLICT,
                "tenant_exists",
                "A tenant with this id exists.",
            )
            .param("id")
        };
        if self.get(&id).await?.is_some() {
            return Err(taken());
        }
        let _one = self.building.lock().await;
        // Fixtures that do not load refuse the tenant before the store keeps it.
        build_start(&self.base_url(&id), true, body.fixtures.as_ref())
            .map_err(|e| ApiError::validation("fixtures", e.to_string()))?;
        let genesis = match &self.settings.store {
            None => None,
            Some((store, _)) => {
                let proposal = Genesis {
                    seed: crate::domain::applying::new_seed(),
                    created_at: chrono::Utc::now(),
                    random_demo_keys: true,
                    fixtures: body.fixtures.clone(),
                };
                let g = store
                    .sandbox(&id, Some(proposal.clone()))
                    .await
                    .map_err(unavailable)?
                    .expect("just created");
                // Another instance created it between the check and the insert.
                if g.seed != proposal.seed {
                    return Err(taken());
                }
                Some(g)
            }
        };
        if self.local(&id).is_some() {
            return Err(taken());
        }
        let t = self
            .build(&id, true, body.fixtures, genesis)
            .await
            .map_err(|e| ApiError::validation("fixtures", e.to_string()))?;
        let view = TenantView {
            object: "tenant".into(),
            id: id.clone(),
            base_url: t.app.0.demo.base_url.clone(),
            demo: Some(t.app.0.demo.clone()),
        };
        self.insert(&id, t);
        Ok(view)
    }

    fn base_url(&self, id: &str) -> String {
        if id == DEFAULT {
            self.settings.public_base.clone()
        } else {
            format!("{}/t/{id}", self.settings.public_base)
        }
    }

    async fn build(
        &self,
        id: &str,
        random_demo_keys: bool,
        fixtures: Option<serde_json::Value>,
        genesis: Option<Genesis>,
    ) -> std::io::Result<Tenant> {
        let base_url = self.base_url(id);
        let Start {
            state,
            demo,
            legacy,
            fixtures: startup_fixtures,
        } = match &genesis {
            None => build_start(&base_url, random_demo_keys, fixtures.as_ref())?,
            Some(g) => Applying::new(g.created_at, g.seed, None, true)
                .sync_scope(|| build_start(&base_url, g.random_demo_keys, g.fixtures.as_ref()))?,
        };
        let mut shared = Shared::new(state, demo, legacy, self.http.clone());
        shared.startup_fixtures = startup_fixtures;
        shared.shared = self.settings.shared;
        shared.tenant = id.to_owned();
        if let (Some((store, spec)), Some(g)) = (&self.settings.store, genesis) {
            shared.sync = Some(Arc::new(crate::sync::Sync::new(
                store.clone(),
                id,
                spec.clone(),
                g,
            )));
        }
        if let Some(rate) = self.settings.compat_rate {
            shared.compat_limiter = crate::http::compat::CompatLimiter::new(rate);
        }
        let app = AppState(Arc::new(shared));
        let router = crate::http::router::router(app.clone());
        if let Some(sync) = app.sync() {
            sync.set_replay_router(crate::http::router::replay_router(app.clone()));
            crate::sync::replay_log(&app).await?;
        }
        Ok(Tenant { app, router })
    }

    /// Whether `auth` (an `Authorization` header's value) carries the admin key.
    fn is_admin(&self, auth: Option<&str>) -> bool {
        let (Some(key), Some(given)) = (
            &self.settings.admin_key,
            auth.and_then(|a| a.strip_prefix("Bearer ")),
        ) else {
            return false;
        };
        bool::from(key.as_bytes().ct_eq(given.trim().as_bytes()))
    }
}

fn unavailable(e: crate::store::StoreError) -> ApiError {
    tracing::warn!("store unavailable: {e}");
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "service_unavailable",
        message: "The sandbox's database cannot be reached; retry shortly.".into(),
        ..ApiError::from_status(StatusCode::SERVICE_UNAVAILABLE)
    }
}

/// Marks a request the admin API makes of a tenant: its control API needs no secret key of it.
#[derive(Clone, Copy, Debug)]
pub struct AdminCall;

/// Routes a request to its tenant: `/_mock/admin/…` to the admin API, `/t/{id}/…` (in a shared
/// sandbox) to tenant `id` with the prefix taken off, a request at the root with another tenant's
/// credential to that tenant, anything else to the root tenant.
pub async fn dispatch(tenants: Arc<Tenants>, mut req: Request) -> Result<Response, Infallible> {
    let path = req.uri().path();
    if tenants.shared() {
        if path == "/_mock/admin" || path.starts_with("/_mock/admin/") {
            return Ok(admin(&tenants, req).await);
        }
        if let Some(rest) = path.strip_prefix("/t/") {
            let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
            let id = id.to_owned();
            let tail = format!("/{tail}");
            let tenant = match tenants.get(&id).await {
                Ok(Some(t)) => t,
                Ok(None) => return Ok(ApiError::not_found("tenant", &id).into_response()),
                Err(e) => return Ok(e.into_response()),
            };
            let pq = match req.uri().query() {
                Some(q) => format!("{tail}?{q}"),
                None => tail,
            };
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = pq.parse().ok();
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
            return tenant.router.oneshot(req).await;
        }
        // A credential of another tenant at the root: that tenant serves the request, as at its
        // own base URL.
        if let Ok(cred) = crate::http::auth::bearer(req.headers())
            && let Some(owner) = tenants.owner_of(cred).await
        {
            return owner.router.oneshot(req).await;
        }
    }
    tenants.root().router.clone().oneshot(req).await
}

/// `/_mock/admin/…`: `POST tenants` (create), `GET tenants` (list), `POST reset` (every tenant back
/// to its start). Each needs `Authorization: Bearer <admin key>`.
async fn admin(tenants: &Tenants, req: Request) -> Response {
    let auth = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !tenants.is_admin(auth) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_required",
            "The admin API needs `Authorization: Bearer <admin key>` (the key given at start with --admin-key).",
        )
        .into_response();
    }
    let method = req.method().clone();
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let result: Result<Response, ApiError> = async {
        match (method.as_str(), path.as_str()) {
            ("POST", "/_mock/admin/tenants") => {
                let body =
                    axum::body::to_bytes(req.into_body(), crate::http::layers::limits::BODY_LIMIT)
                        .await
                        .map_err(|_| ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE))?;
                let new: NewTenant = if body.is_empty() {
                    NewTenant::default()
                } else {
                    crate::http::extract::parse_json(&body)?
                };
                let view = tenants.create(new).await?;
                Ok((StatusCode::CREATED, axum::Json(view)).into_response())
            }
            ("GET", "/_mock/admin/tenants") => {
                let data: Vec<TenantView> = tenants
                    .all()
                    .await?
                    .into_iter()
                    .map(|(id, t)| TenantView {
                        object: "tenant".into(),
                        id,
                        base_url: t.app.0.demo.base_url.clone(),
                        demo: None,
                    })
                    .collect();
                Ok(axum::Json(serde_json::json!({"object": "list", "data": data})).into_response())
            }
            ("POST", "/_mock/admin/reset") => {
                let all = tenants.all().await?;
                let n = all.len();
                for (_, t) in all {
                    // Each tenant's own reset, as its app would ask for it (an entry of its log).
                    let mut req = Request::post("/_mock/reset")
                        .body(axum::body::Body::empty())
                        .expect("a valid request");
                    req.extensions_mut().insert(AdminCall);
                    let resp = t
                        .router
                        .clone()
                        .oneshot(req)
                        .await
                        .unwrap_or_else(|e| match e {});
                    if !resp.status().is_success() {
                        return Ok(resp);
                    }
                }
                Ok(axum::Json(serde_json::json!({
                    "object": "ack",
                    "message": format!("Every tenant ({n}) reset to how it started."),
                }))
                .into_response())
            }
            _ => Err(ApiError::from_status(StatusCode::NOT_FOUND)),
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tenant_ids_are_slugs() {
        for ok in ["acme", "qa-team-2", "a"] {
            assert!(super::valid_id(ok), "{ok}");
        }
        for bad in ["", "Acme", "a/b", "a b", "é", &"x".repeat(41)] {
            assert!(!super::valid_id(bad), "{bad}");
        }
    }
}
