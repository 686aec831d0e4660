//! The mock server's request handling, in process: arbitrary method, route, path parameter,
//! query, credential, content type, idempotency key and body go through the real axum router
//! (extractors, JSON parsing, auth, idempotency, handlers). Nothing may panic and nothing may
//! answer 5xx: hostile input gets a 4xx error envelope.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use http::Request;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use moments_mock_server::state::{AppState, Shared, State};
use moments_mock_server::{DEMO_LEGACY_KEY, DEMO_SECRET_KEY, Demo};
use tower::ServiceExt;

#[derive(Arbitrary, Debug)]
struct Input {
    method: u8,
    route: u8,
    param: String,
    query: String,
    auth: u8,
    content_type: u8,
    idempotency_key: Option<String>,
    body: Vec<u8>,
}

/// The routes of the API (the control API is left out: it injects 5xx faults by design).
const ROUTES: &[&str] = &[
    "/v1/app",
    "/v1/api_keys",
    "/v1/api_keys/{}",
    "/v1/customer_tokens",
    "/v1/catalog/items",
    "/v1/catalog/items/{}",
    "/v1/campaigns",
    "/v1/campaigns/{}",
    "/v1/campaigns/{}/submit",
    "/v1/campaigns/{}/approve",
    "/v1/campaigns/{}/reject",
    "/v1/campaigns/{}/pause",
    "/v1/campaigns/{}/resume",
    "/v1/campaigns/{}/end",
    "/v1/campaigns/cmp_demo_workouts/moments/{}/reward_info",
    "/v1/triggers",
    "/v1/rewards",
    "/v1/rewards/{}",
    "/v1/rewards/{}/cancel",
    "/v1/redemptions/{}",
    "/r/{}",
    "/v1/customers/{}/progress",
    "/v1/fraud_reviews",
    "/v1/fraud_reviews/{}/release",
    "/v1/reports",
    "/v1/webhook_endpoints",
    "/v1/webhook_endpoints/{}",
    "/prod/GetRewardInfo",
    "/prod/GetReward",
    "/{}",
];

struct Harness {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
}

/// Builds the mock's router around a seeded state, as `MockServer::start_with` does, without a
/// socket. (If the mock grows a public `router_for_tests()`-style constructor, use it here.)
fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let base = "http://127.0.0.1:9".to_string();
        let demo = Demo {
            app_id: "app_demo_fitness".into(),
            account_id: "acct_demo".into(),
            api_key: DEMO_LEGACY_KEY.into(),
            secret_key: DEMO_SECRET_KEY.into(),
            campaign_id: "cmp_demo_workouts".into(),
            moment_ids: vec![
                "first_workout".into(),
                "five_workouts".into(),
                "level_5".into(),
            ],
            reward_group_ids: vec!["US".into(), "UK".into(), "DE".into()],
            base_url: base.clone(),
        };
        let state = State::seeded(base, &demo, DEMO_LEGACY_KEY);
        let app = AppState(Arc::new(Shared {
            state: Mutex::new(state),
            demo,
            legacy: DEMO_LEGACY_KEY.into(),
            http: reqwest::Client::new(),
            flush_lock: tokio::sync::Mutex::new(()),
        }));
        let router = rt.block_on(async { moments_mock_server::api::router(app) });
        Harness { rt, router }
    })
}

fuzz_target!(|input: Input| {
    let h = harness();
    let method =
        ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"][input.method as usize % 7];
    let route = ROUTES[input.route as usize % ROUTES.len()];
    let mut uri = route.replace("{}", &input.param);
    if !input.query.is_empty() {
        uri.push('?');
        uri.push_str(&input.query);
    }
    let mut req = Request::builder().method(method).uri(&uri);
    match input.auth % 5 {
        0 => {}
        1 => req = req.header("authorization", format!("Bearer {DEMO_SECRET_KEY}")),
        2 => req = req.header("authorization", format!("Bearer {}", input.param)),
        3 => req = req.header("x-api-key", DEMO_LEGACY_KEY),
        _ => req = req.header("authorization", input.param.as_str()),
    }
    match input.content_type % 4 {
        0 => {}
        1 => req = req.header("content-type", "application/json"),
        2 => req = req.header("content-type", "application/x-www-form-urlencoded"),
        _ => req = req.header("content-type", input.query.as_str()),
    }
    if let Some(k) = &input.idempotency_key {
        req = req.header("idempotency-key", k.as_str());
    }
    // Inputs that are not even a valid HTTP request never reach the server.
    let Ok(req) = req.body(Body::from(input.body)) else {
        return;
    };
    let res =
        h.rt.block_on(h.router.clone().oneshot(req))
            .expect("infallible");
    assert!(
        !res.status().is_server_error(),
        "{method} {uri} answered {}",
        res.status()
    );
});
