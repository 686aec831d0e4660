//! `MockServer`: binds, seeds, serves connections (with connection-reset faults) and shuts down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

use crate::app::AppState;
use crate::domain::ids;
use crate::domain::sandbox::{Demo, Sandbox};
use crate::http::layers::faults::ConnCtl;

/// The fixed demo secret key (documented, so README examples work).
pub const DEMO_SECRET_KEY: &str = "sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc";
/// The fixed demo legacy key.
pub const DEMO_LEGACY_KEY: &str = "mk_demo_8f2b9c1d4e5a6b7c";
/// The demo app id.
pub const DEMO_APP_ID: &str = "app_demo_fitness";
/// The demo account id.
pub const DEMO_ACCOUNT_ID: &str = "acct_demo";
/// The demo campaign id.
pub const DEMO_CAMPAIGN_ID: &str = "cmp_demo_workouts";

/// Configuration of a mock server.
#[derive(Clone, Debug, Default)]
pub struct MockConfig {
    /// Address to bind (default `127.0.0.1:0`).
    pub bind: Option<SocketAddr>,
    /// Generate demo keys from the CSPRNG instead of the documented fixed ones.
    pub random_demo_keys: bool,
    /// Fixtures JSON to load at start (the body of `POST /_mock/fixtures`). They are part of the
    /// start state: `POST /_mock/reset` loads them again, with the same ids and keys.
    pub fixtures: Option<serde_json::Value>,
    /// Base of the URLs the mock hands out (reward links, `/_mock/demo`'s `base_url`), for clients
    /// that reach it at another address than the one it binds: an Android emulator
    /// (`http://10.0.2.2:8080`), a container, a tunnel. `http` or `https`, a host and optionally a
    /// port, nothing else (a trailing `/` is dropped). Default: the bound address.
    pub public_url: Option<String>,
    /// Calls per second per legacy key that the compatibility endpoints allow (default 5, the
    /// original service's limit), counted in real time whatever the virtual clock does.
    pub compat_rate_per_second: Option<std::num::NonZeroU32>,
    /// Where the state lives (default: in memory). See `docs/sandbox.md`.
    pub store: crate::store::StoreSpec,
    /// How long start-up waits for an unreachable database, retrying with backoff (default 60 s).
    pub store_wait: Option<std::time::Duration>,
    /// A shared sandbox of tenants (implied by a PostgreSQL store): see `docs/sandbox.md`.
    pub shared: bool,
    /// The admin key of a shared sandbox (default: a random one, [`MockServer::admin_key`]).
    pub admin_key: Option<String>,
}

/// A start state: the seeded sandbox, the demo and the fixtures it was built with (their ids resolved).
pub(crate) struct Start {
    pub state: Sandbox,
    pub demo: Demo,
    pub legacy: String,
    pub fixtures: Option<crate::control::Fixtures>,
}

/// Builds the start state: demo keys, the seeded demo, the fixtures. With a persistent store this
/// runs in the store's genesis context ([`crate::domain::applying`]), so every instance, and every
/// rebuild, makes the same ids and keys.
pub(crate) fn build_start(
    base_url: &str,
    random_demo_keys: bool,
    fixtures: Option<&serde_json::Value>,
) -> std::io::Result<Start> {
    let (secret, legacy) = if random_demo_keys {
        (ids::secret("sk_test_", 27), ids::secret("mk_", 12))
    } else {
        (DEMO_SECRET_KEY.to_string(), DEMO_LEGACY_KEY.to_string())
    };
    let mut demo = Demo {
        app_id: DEMO_APP_ID.into(),
        account_id: DEMO_ACCOUNT_ID.into(),
        api_key: legacy.clone(),
        secret_key: secret,
        campaign_id: DEMO_CAMPAIGN_ID.into(),
        // Filled from the seeded campaign below (one source: `Sandbox::seeded`).
        moment_ids: vec![],
        moments: vec![],
        reward_group_ids: vec!["US".into(), "UK".into(), "DE".into()],
        base_url: base_url.to_owned(),
    };
    let mut state = Sandbox::seeded(base_url.to_owned(), &demo, &legacy);
    demo.moments = state.demo_moments(DEMO_CAMPAIGN_ID);
    demo.moment_ids = demo.moments.iter().map(|m| m.id.clone()).collect();
    let mut startup_fixtures = None;
    if let Some(f) = fixtures {
        let f: crate::control::Fixtures =
            crate::http::extract::parse_json(f.to_string().as_bytes())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        let loaded = crate::control::load_fixtures(&mut state, f.clone())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        startup_fixtures = Some(f.resolved(&loaded));
    }
    Ok(Start {
        state,
        demo,
        legacy,
        fixtures: startup_fixtures,
    })
}

/// The start state of a persistent store's sandbox, built again (a rebuild after a failed commit).
pub(crate) fn genesis_state(app: &AppState, genesis: &crate::store::Genesis) -> Sandbox {
    crate::domain::applying::Applying::new(genesis.created_at, genesis.seed, None, true)
        .sync_scope(|| {
            build_start(
                &app.0.demo.base_url,
                genesis.random_demo_keys,
                genesis.fixtures.as_ref(),
            )
        })
        .map(|s| s.state)
        .unwrap_or_else(|_| {
            Sandbox::seeded(app.0.demo.base_url.clone(), &app.0.demo, &app.0.legacy)
        })
}

/// Checks a public base URL and returns it without a trailing `/`.
fn public_base(url: &str) -> std::io::Result<String> {
    let invalid = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("public URL `{url}`: {why}"),
        )
    };
    let parsed = url::Url::parse(url).map_err(|e| {
        invalid(&format!(
            "not an absolute URL ({e}); write it as http://HOST:PORT"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if parsed.host().is_none() {
        return Err(invalid("a host is required"));
    }
    if parsed.path() != "/" {
        return Err(invalid(
            "no path: the mock serves its routes (and links to them) at the root",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(
            "no query or fragment: links are built as BASE/r/TOKEN",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "no credentials: the URL is handed out in every reward",
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// A running mock server with its own isolated state.
pub struct MockServer {
    addr: SocketAddr,
    local_url: String,
    demo: Demo,
    app: AppState,
    admin_key: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Expectations checked when the server drops ([`crate::testing::Expectation::mount`]).
    expectations: std::sync::Mutex<Vec<crate::testing::Expectation>>,
}

impl MockServer {
    /// Starts on `127.0.0.1:0` with the seeded demo.
    pub async fn start() -> std::io::Result<MockServer> {
        Self::start_with(MockConfig::default()).await
    }

    /// Starts with a configuration.
    pub async fn start_with(config: MockConfig) -> std::io::Result<MockServer> {
        let public = config.public_url.as_deref().map(public_base).transpose()?;
        let bind = config
            .bind
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(bind).await.map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::AddrInUse {
                format!("address {bind} is already in use")
            } else {
                format!("cannot listen on {bind}: {e}")
            };
            std::io::Error::new(e.kind(), why)
        })?;
        let addr = listener.local_addr()?;
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        let local_url = format!("http://{host}:{}", addr.port());
        let base_url = public.unwrap_or_else(|| local_url.clone());
        let store = match &config.store {
            crate::store::StoreSpec::Memory => None,
            spec => {
                let wait = config
                    .store_wait
                    .unwrap_or(std::time::Duration::from_secs(60));
                let store = crate::store::Store::open(spec, wait).await?;
                Some((Arc::new(store), spec.clone()))
            }
        };
        let shared = config.shared || matches!(config.store, crate::store::StoreSpec::Postgres(_));
        let admin_key = shared.then(|| {
            config
                .admin_key
                .clone()
                .unwrap_or_else(|| ids::secret("ak_", 24))
        });
        let tenants = crate::tenants::Tenants::start(crate::tenants::Settings {
            shared,
            admin_key: admin_key.clone(),
            store,
            public_base: base_url,
            compat_rate: config.compat_rate_per_second,
            random_demo_keys: config.random_demo_keys,
            fixtures: config.fixtures.clone(),
        })
        .await?;
        let app = tenants.root().app.clone();
        let demo = app.0.demo.clone();
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let serving = tenants.clone();
        let task = tokio::spawn(async move {
            let graceful = GracefulShutdown::new();
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
            let mut pruned = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    _ = tick.tick() => {
                        if pruned.elapsed() >= crate::sync::PRUNE_EVERY
                            && let Some(sync) = serving.root().app.sync()
                        {
                            pruned = tokio::time::Instant::now();
                            let store = sync.store.clone();
                            tokio::spawn(async move {
                                if let Err(e) = store.prune_claims(crate::sync::CLAIMS_KEPT).await {
                                    tracing::warn!("forgetting old webhook claims: {e}");
                                }
                            });
                        }
                        // Background tick: run due rules and deliver due webhooks, for each tenant.
                        for t in serving.loaded() {
                            let tick_app = t.app;
                            if tick_app.sync().is_some() {
                                // The store's tick waits for the database: in a task of its own, so
                                // accepting connections never waits for it (one at a time per tenant).
                                tokio::spawn(async move {
                                    if let Err(e) = crate::sync::tick(&tick_app).await {
                                        tracing::warn!("tick: {e}");
                                    }
                                    if tick_app.outbox_pending() {
                                        crate::delivery::flush(&tick_app).await;
                                    }
                                });
                                continue;
                            }
                            drop(tick_app.lock());
                            if tick_app.outbox_pending() {
                                tokio::spawn(async move { crate::delivery::flush(&tick_app).await });
                            }
                        }
                    }
                    accepted = listener.accept() => {
                        let Ok((stream, peer)) = accepted else { continue };
                        let ctl = Arc::new(Notify::new());
                        let serving = serving.clone();
                        let ctl2 = ctl.clone();
                        let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                            req.extensions_mut().insert(ConnCtl(ctl2.clone()));
                            req.extensions_mut().insert(ConnectInfo(peer));
                            crate::tenants::dispatch(serving.clone(), req.map(axum::body::Body::new))
                        });
                        let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                            .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                            .into_owned();
                        let watched = graceful.watch(conn);
                        tokio::spawn(async move {
                            tokio::select! {
                                _ = watched => {}
                                // A `reset` fault: drop the connection without an answer.
                                _ = ctl.notified() => {}
                            }
                        });
                    }
                }
            }
            drop(listener);
            for t in serving.loaded() {
                t.app.0.stopping.send_replace(true);
            }
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown()).await;
            // The stores close once nothing holds the tenants (a persistent store's instance state
            // holds its replay routes, which hold the tenant: let them go).
            for t in serving.loaded() {
                if let Some(sync) = t.app.sync() {
                    sync.close();
                }
            }
        });
        Ok(MockServer {
            addr,
            local_url,
            demo,
            app,
            admin_key,
            stop: Some(stop_tx),
            task: Some(task),
            expectations: std::sync::Mutex::default(),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: where this machine reaches the server (the
    /// bound address, whatever [`MockConfig::public_url`] says).
    pub fn base_url(&self) -> String {
        self.local_url.clone()
    }

    /// The base of the URLs the server hands out: [`MockConfig::public_url`], else [`Self::base_url`].
    pub fn public_url(&self) -> &str {
        &self.demo.base_url
    }

    /// The admin key of a shared sandbox ([`MockConfig::shared`]): the one given, or the one made
    /// at start.
    pub fn admin_key(&self) -> Option<&str> {
        self.admin_key.as_deref()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The demo fixture.
    pub fn demo(&self) -> &Demo {
        &self.demo
    }

    /// A typed client of this server's control API (clock, mode, faults, fixtures, journal and
    /// expectations, webhook deliveries, reset): see [`crate::testing`]. Each call makes a new client;
    /// keep one (clones are cheap).
    pub fn control(&self) -> crate::testing::Control {
        crate::testing::Control::in_process(self.local_url.clone(), self.app.clone())
    }

    pub(crate) fn mount(&self, e: crate::testing::Expectation) {
        self.expectations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }

    /// Checks the expectations [mounted](crate::testing::Expectation::mount) on this server against
    /// its journal now: the first unmet one is [`crate::testing::Error::Unmet`]. They are checked again
    /// when the server drops.
    pub fn verify(&self) -> Result<(), crate::testing::Error> {
        let entries = self
            .app
            .journal()
            .recent(crate::domain::journal::CAPACITY)
            .0;
        let mounted = self.expectations.lock().unwrap_or_else(|p| p.into_inner());
        for e in mounted.iter() {
            e.check(&entries).map_err(crate::testing::Error::Unmet)?;
        }
        Ok(())
    }

    /// The OpenAPI document served at `/openapi.json`.
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        crate::http::router::openapi()
    }

    /// Advances the virtual clock in process (same as `POST /_mock/clock/advance`).
    pub async fn advance_clock(&self, seconds: i64) {
        if let Some(sync) = self.app.sync() {
            // A change, so an entry of the store's log: the control API's own request.
            let req = axum::extract::Request::post("/_mock/clock/advance")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    serde_json::json!({ "seconds": seconds.max(0) }).to_string(),
                ))
                .expect("a valid request");
            if let Some(router) = sync.replay_router() {
                crate::sync::write_request(&self.app, router, req).await;
            }
            return;
        }
        crate::control::advance_by(&self.app, seconds.max(0)).await;
    }

    /// Graceful shutdown: stops accepting and finishes in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        // Mounted expectations, wiremock-style: a panic fails the test, unless it is failing already.
        let mounted = std::mem::take(
            self.expectations
                .get_mut()
                .unwrap_or_else(|p| p.into_inner()),
        );
        if !mounted.is_empty() && !std::thread::panicking() {
            let entries = self
                .app
                .journal()
                .recent(crate::domain::journal::CAPACITY)
                .0;
            let unmet: Vec<String> = mounted
                .iter()
                .filter_map(|e| e.check(&entries).err())
                .map(|u| u.to_string())
                .collect();
            if !unmet.is_empty() {
                panic!(
                    "{} unmet expectation(s) of the mock server:\n{}",
                    unmet.len(),
                    unmet.join("\n")
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::public_base;

    #[test]
    fn public_urls_are_checked_and_lose_their_trailing_slash() {
        assert_eq!(
            public_base("http://10.0.2.2:8080/").unwrap(),
            "http://10.0.2.2:8080"
        );
        assert_eq!(
            public_base("https://mock.example.com").unwrap(),
            "https://mock.example.com"
        );
        for (bad, why) in [
            ("10.0.2.2:8080", "http://HOST:PORT"),
            ("ftp://10.0.2.2", "http or https"),
            ("http://", "empty host"),
            ("http://h/?a=1", "no query"),
            ("https://h/moments", "no path"),
            ("http://h/#x", "no query or fragment"),
            ("http://user:pw@h/", "no credentials"),
        ] {
            let e = public_base(bad).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
            let text = e.to_string();
            assert!(text.contains(bad) && text.contains(why), "{bad}: {text}");
        }
    }
}
