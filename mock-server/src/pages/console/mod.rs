//! The Moments Console: the sandbox's web console at `/console` (docs/console.md).
//!
//! Server-rendered HTML (maud templates, which escape every value), progressive enhancement with
//! the vendored htmx, no state beyond sessions. Every action calls the same domain functions as the
//! API, as the signed-in app's secret key would. The console is mounted beside the API's router,
//! outside its journal, envelope, fault and idempotency layers: a console page is not an API request.

pub mod app;
pub mod assets;
pub mod campaign_form;
pub mod campaigns;
pub mod charts;
pub mod form;
pub mod journal;
pub mod layout;
pub mod reports;
pub mod rewards;
pub mod sandbox;
pub mod session;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::{any, get, post};

use crate::app::AppState;
use session::Sessions;

/// The console's router state: the server and the console's sessions.
#[derive(Clone)]
pub struct ConsoleState {
    /// The server.
    pub app: AppState,
    /// The sessions, the console's only state.
    pub sessions: Arc<Sessions>,
}

impl FromRef<ConsoleState> for AppState {
    fn from_ref(s: &ConsoleState) -> AppState {
        s.app.clone()
    }
}

async fn home() -> Response {
    layout::redirect("/console/campaigns")
}

async fn not_found() -> Response {
    layout::error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "The console has no page at this address.",
    )
}

/// The console's routes, mounted at `/console` beside the API (`http::router::router`).
pub fn router(app: AppState) -> Router {
    let state = ConsoleState {
        app,
        sessions: Arc::default(),
    };
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/assets/{file}", get(assets::serve))
        .merge(sections())
        .route("/console/{*rest}", any(not_found))
        .layer(crate::http::layers::store::StoreLayer(state.app.clone()))
        .layer(from_fn_with_state(state.clone(), session::csrf_guard))
        .layer(from_fn(session::security_headers))
        .with_state(state)
}

/// The console's sections without the session guard, for applying a persistent store's log
/// entries (a console request's entry names the key its session acted with).
pub fn replay_routes(app: AppState) -> Router {
    let state = ConsoleState {
        app,
        sessions: Arc::default(),
    };
    sections().with_state(state)
}

fn sections() -> Router<ConsoleState> {
    Router::new()
        .merge(app::routes())
        .merge(campaigns::routes())
        .merge(sandbox::routes())
        .merge(reports::routes())
        .merge(rewards::routes())
        .merge(webhooks::routes())
        .merge(journal::routes())
    // Further sections: one `.merge(<section>::routes())` line each, here.
}
