//! The router and its OpenAPI 3.1 document, generated from the handlers' annotations.

use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi_extra as extra;
use crate::app::AppState;
use crate::control;
use crate::domain::errors::ApiError;
use crate::http::{
    apps, campaigns, catalog, compat, fraud, info, redemption, reports, rewards, triggers, webhooks,
};
use crate::pages::landing;

/// Every route served, as (method, path template): the operations of the OpenAPI document, which
/// the router is built from (`build`), so the route list cannot disagree with either. Templates
/// with fewer parameters come first, so a literal segment wins over a parameter.
pub fn routes() -> &'static [(String, String)] {
    static ROUTES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let doc: serde_json::Value =
            serde_json::from_str(openapi_string()).expect("the document reads back");
        let mut routes: Vec<(String, String)> = doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(template, item)| {
                item.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(method, _)| method.to_uppercase())
                    .filter(|m| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()))
                    .map(move |m| (m, template.clone()))
            })
            .collect();
        routes.sort_by_key(|(_, t)| t.matches('{').count());
        routes
    })
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Moments Rewards API", version = "1.0.0", description = "The v1 API, the compatibility endpoints and the mock control API. See docs/api.md."),
    components(schemas(
        crate::http::envelope::ErrorEnvelope, crate::domain::model::Event, crate::domain::model::EventData,
        crate::domain::webhooks::Delivery, crate::control::JournalEntry
    )),
    tags((name = "mock", description = "Only in the mock server"))
)]
struct ApiDoc;

/// `GET /openapi.json`
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    let mut r = (StatusCode::OK, openapi_string().to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn build() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .routes(routes!(openapi_json))
        .routes(routes!(apps::get_app))
        .routes(routes!(apps::list_keys, apps::create_key))
        .routes(routes!(apps::revoke_key))
        .routes(routes!(apps::create_token))
        .routes(routes!(catalog::list))
        .routes(routes!(catalog::get))
        .routes(routes!(campaigns::create, campaigns::list))
        .routes(routes!(campaigns::get, campaigns::update))
        .routes(routes!(campaigns::submit))
        .routes(routes!(campaigns::approve))
        .routes(routes!(campaigns::reject))
        .routes(routes!(campaigns::pause))
        .routes(routes!(campaigns::resume))
        .routes(routes!(campaigns::end))
        .routes(routes!(info::reward_info))
        .routes(routes!(triggers::trigger))
        .routes(routes!(rewards::list))
        .routes(routes!(rewards::get))
        .routes(routes!(rewards::cancel))
        .routes(routes!(rewards::progress))
        .routes(routes!(redemption::get, redemption::post))
        .routes(routes!(landing::page, landing::submit))
        .routes(routes!(fraud::list))
        .routes(routes!(fraud::release))
        .routes(routes!(fraud::block))
        .routes(routes!(reports::report))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(compat::get_reward_info))
        .routes(routes!(compat::get_reward))
        .routes(routes!(control::reset))
        .routes(routes!(control::fixtures))
        .routes(routes!(control::demo))
        .routes(routes!(control::health))
        .routes(routes!(control::apps))
        .routes(routes!(control::clock))
        .routes(routes!(control::advance))
        .routes(routes!(control::set_clock))
        .routes(routes!(
            control::add_fault,
            control::list_faults,
            control::clear_faults
        ))
        .routes(routes!(control::journal, control::clear_journal))
        .routes(routes!(control::deliveries))
        .routes(routes!(control::get_mode, control::set_mode))
        .split_for_parts()
}

/// The OpenAPI document: the annotations' plus what they cannot say (`api/extra.rs`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    serde_json::from_str(openapi_string()).expect("the document reads back")
}

fn openapi_string() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(build().1).expect("the document serializes");
        extra::apply(&mut doc);
        serde_json::to_string_pretty(&doc).expect("the document serializes")
    })
}

async fn not_found() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND)
}

/// The routes and their fallback without layers or state, built once per process: `build` also
/// builds every operation of the OpenAPI document, which was most of a mock's start time.
fn bare_routes() -> Router<AppState> {
    static ROUTES: OnceLock<Router<AppState>> = OnceLock::new();
    ROUTES.get_or_init(|| build().0.fallback(not_found)).clone()
}

/// The full router with its layers ([`crate::http::layers`] says what each does), outermost first.
pub fn router(app: AppState) -> Router {
    use crate::http::layers::envelope::EnvelopeLayer;
    use crate::http::layers::faults::FaultsLayer;
    use crate::http::layers::idempotency::IdempotencyLayer;
    use crate::http::layers::journal::JournalLayer;
    use crate::http::layers::limits::LimitsLayer;
    use crate::http::layers::request_id::RequestIdLayer;
    let layers = tower::ServiceBuilder::new()
        // Outermost, so faults and limit errors on a reward link's paths carry its headers too.
        .layer(axum::middleware::from_fn(
            crate::pages::landing::security_headers,
        ))
        .layer(RequestIdLayer)
        // Only in a shared sandbox: the in-memory mock's requests pass no extra layer.
        .option_layer(
            app.0
                .shared
                .then(|| axum::middleware::from_fn_with_state(app.clone(), shared_control_guard)),
        )
        .layer(JournalLayer(app.clone()))
        .layer(EnvelopeLayer)
        .layer(LimitsLayer)
        .layer(FaultsLayer(app.clone()))
        .layer(IdempotencyLayer(app.clone()))
        .layer(crate::http::layers::store::StoreLayer(app.clone()));
    let api = bare_routes().layer(layers).with_state(app.clone());
    // The console beside the API, outside its layers (`pages::console`). It serves the root tenant
    // of a shared sandbox only: its pages link to `/console/…` at the root.
    if app.0.tenant != crate::tenants::DEFAULT {
        return api;
    }
    crate::pages::console::router(app).merge(api)
}

/// The routes without their layers (the console's without its session guard), that a persistent
/// store's log entries are applied with: each entry is a request these routes handled once already,
/// past every layer ([`crate::sync`]).
pub fn replay_router(app: AppState) -> Router {
    crate::pages::console::replay_routes(app.clone()).merge(bare_routes().with_state(app))
}

/// In a shared sandbox (`crate::tenants`), the control API (`/_mock/…` but the health check) acts
/// only for a caller with a secret key of this tenant's sandbox: a customer token, another tenant's
/// key or no key is refused.
async fn shared_control_guard(
    axum::extract::State(app): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = req.uri().path();
    let control = path == "/_mock" || path.starts_with("/_mock/");
    if !control
        || crate::http::layers::is_health(&req)
        || req
            .extensions()
            .get::<crate::tenants::AdminCall>()
            .is_some()
    {
        return next.run(req).await;
    }
    match crate::http::auth::resolve_cached(&app, req.headers()) {
        Ok(crate::domain::principal::Principal::Secret { .. }) => next.run(req).await,
        _ => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_required",
            "In a shared sandbox the control API acts for the app whose secret key calls it: \
             send `Authorization: Bearer sk_…` of this tenant.",
        )
        .into_response(),
    }
}
