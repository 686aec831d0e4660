//! The mock server's request handling, through its public API: a `MockServer` started in process
//! (as a test or an app embeds it) gets arbitrary method, route, path parameter, query, credential,
//! content type, idempotency key and body over loopback HTTP, through everything a client reaches
//! (connection handling, extractors, JSON parsing, auth, idempotency, handlers). Nothing may panic
//! and nothing may answer 5xx: hostile input gets a 4xx error envelope.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use moments_mock_server::{DEMO_LEGACY_KEY, DEMO_SECRET_KEY, MockServer};

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
    /// One thread drives both the client and the server's tasks, so each input is handled to the
    /// end inside its `block_on`.
    rt: tokio::runtime::Runtime,
    base: String,
    http: reqwest::Client,
    /// Kept alive for the whole run: one server, its state growing across inputs.
    _server: MockServer,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(MockServer::start()).expect("the mock starts");
        // A last resort: libFuzzer's `-timeout` (10 s in scripts/fuzz.sh) reports a slow input first.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Harness {
            base: server.base_url(),
            rt,
            http,
            _server: server,
        }
    })
}

fuzz_target!(|input: Input| {
    let h = harness();
    let method =
        ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"][input.method as usize % 7];
    let route = ROUTES[input.route as usize % ROUTES.len()];
    let mut uri = format!("{}{}", h.base, route.replace("{}", &input.param));
    if !input.query.is_empty() {
        uri.push('?');
        uri.push_str(&input.query);
    }
    let mut req = http::Request::builder().method(method).uri(&uri);
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
    let Ok(req) = req.body(input.body) else {
        return;
    };
    let Ok(req) = reqwest::Request::try_from(req) else {
        return;
    };
    let res =
        h.rt.block_on(async { h.http.execute(req).await })
            .unwrap_or_else(|e| panic!("{method} {uri}: no answer: {e}"));
    assert!(
        !res.status().is_server_error(),
        "{method} {uri} answered {}",
        res.status()
    );
});
