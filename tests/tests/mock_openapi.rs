//! The OpenAPI document covers every served route, and every wire fixture in
//! `tests/fixtures/wire/` validates against the component schema it names.
//!
//! Regenerate the fixtures from a live mock with `MOCK_WRITE_FIXTURES=1 cargo test -p moments-e2e --test mock_openapi`.

use std::path::PathBuf;

use moments_e2e::mock::{Answer, Mock};
use serde_json::{Map, Value, json};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("wire")
}

async fn spec(m: &Mock) -> Value {
    let a = m.call("GET", "/openapi.json", None, None, None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["openapi"], "3.1.0");
    a.body
}

#[tokio::test]
async fn every_served_route_is_in_the_openapi_document() {
    let m = Mock::start().await;
    let doc = spec(&m).await;
    let paths = doc["paths"].as_object().unwrap();
    let mut ops = 0;
    for (_, item) in paths {
        ops += item
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
            .count();
    }
    let routes = moments_mock_server::routes();
    assert_eq!(
        ops,
        routes.len(),
        "the document and the route table list the same operations"
    );
    assert!(ops >= 50, "the whole API is documented: {ops} operations");
    for (method, path) in routes {
        assert!(
            doc["paths"][path.as_str()][method.to_lowercase()].is_object(),
            "{method} {path} missing from /openapi.json"
        );
        // And the router really serves it (never route_not_found / method_not_allowed).
        if path == "/_mock/reset" {
            continue;
        }
        let concrete = path
            .replace("{id}", "x")
            .replace("{moment_id}", "x")
            .replace("{token}", "x")
            .replace("{reward_id}", "x")
            .replace("{customer_id}", "x");
        let key = m.key.clone();
        let a = m
            .call(method, &concrete, Some(&key), Some(&m.idem()), None)
            .await;
        assert!(
            !["route_not_found", "method_not_allowed"].contains(&a.code()),
            "{method} {path}: {}",
            a.text
        );
        assert!(
            a.header("x-request-id")
                .is_some_and(|r| r.starts_with("req_")),
            "{method} {path} has a request id"
        );
    }
}

/// Validates `v` against a JSON Schema subset (what utoipa emits): `$ref`, `type` (string or
/// list), `properties`/`required` (unknown properties are errors unless `additionalProperties`),
/// `items`, `enum`, `oneOf`/`anyOf`/`allOf`.
fn validate(doc: &Value, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        let s = &doc["components"]["schemas"][name];
        if s.is_null() {
            errs.push(format!("{path}: unknown $ref {r}"));
            return;
        }
        return validate(doc, s, v, path, errs);
    }
    for (k, all) in [("oneOf", false), ("anyOf", false)] {
        let _ = all;
        if let Some(alts) = schema.get(k).and_then(Value::as_array) {
            let ok = alts.iter().any(|s| {
                let mut e = vec![];
                validate(doc, s, v, path, &mut e);
                e.is_empty()
            });
            if !ok {
                errs.push(format!("{path}: matches none of {k}"));
            }
            return;
        }
    }
    if let Some(alts) = schema.get("allOf").and_then(Value::as_array) {
        for s in alts {
            validate(doc, s, v, path, errs);
        }
        return;
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errs.push(format!("{path}: {v} not in enum"));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let ok = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => true,
        });
        if !ok {
            errs.push(format!("{path}: {v} is not {types:?}"));
            return;
        }
    }
    if let (Some(obj), true) = (
        v.as_object(),
        schema.get("properties").is_some() || types.contains(&"object"),
    ) {
        let empty = Map::new();
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let k = req.as_str().unwrap();
            if !obj.contains_key(k) {
                errs.push(format!("{path}: missing required `{k}`"));
            }
        }
        for (k, val) in obj {
            match props.get(k) {
                Some(s) => validate(doc, s, val, &format!("{path}.{k}"), errs),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(true)) | None if props.is_empty() => {}
                    Some(s) if s.is_object() => validate(doc, s, val, &format!("{path}.{k}"), errs),
                    _ => errs.push(format!("{path}: property `{k}` not in the schema")),
                },
            }
        }
    }
    if let (Some(arr), Some(items)) = (v.as_array(), schema.get("items")) {
        for (i, x) in arr.iter().enumerate() {
            validate(doc, items, x, &format!("{path}[{i}]"), errs);
        }
    }
}

const REQUIRED: &[&str] = &[
    "campaign_create",
    "campaign_get",
    "campaign_list",
    "trigger_reward",
    "trigger_progress",
    "reward_get",
    "reward_list",
    "redemption_get",
    "redemption_post",
    "customer_token_create",
    "catalog_item_list",
    "catalog_item_get",
    "reward_info",
    "report",
    "webhook_endpoint_create",
    "webhook_endpoint_rotate_secret",
    "fraud_review_list",
    "fraud_review_release",
    "event",
    "error_validation",
    "error_not_found",
    "error_budget_exhausted",
    "error_idempotency_conflict",
    "error_authentication_required",
    "compat_get_reward",
    "compat_get_reward_info",
    "compat_error",
    "app_get",
    "api_key_create",
    "progress_list",
];

#[tokio::test]
async fn wire_fixtures_validate_against_the_openapi_schemas() {
    if std::env::var_os("MOCK_WRITE_FIXTURES").is_some() {
        write_fixtures().await;
    }
    let m = Mock::start().await;
    let doc = spec(&m).await;
    let mut seen = vec![];
    let mut entries: Vec<_> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/wire exists")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let f: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let name = f["name"].as_str().unwrap().to_string();
        assert_eq!(p.file_stem().unwrap().to_str().unwrap(), name);
        let schema_name = f["schema"].as_str().unwrap();
        assert!(
            doc["components"]["schemas"][schema_name].is_object(),
            "{name}: no component {schema_name}"
        );
        let mut errs = vec![];
        validate(
            &doc,
            &json!({"$ref": format!("#/components/schemas/{schema_name}")}),
            &f["response"]["body"],
            "$",
            &mut errs,
        );
        assert!(
            errs.is_empty(),
            "{name} does not match {schema_name}: {errs:#?}"
        );
        assert!(f["request"]["method"].is_string() && f["request"]["path"].is_string());
        assert!(f["response"]["status"].is_u64());
        seen.push(name);
    }
    for r in REQUIRED {
        assert!(seen.iter().any(|s| s == r), "fixture {r} missing");
    }
    // The validator itself rejects drift.
    let mut errs = vec![];
    validate(
        &doc,
        &json!({"$ref": "#/components/schemas/Money"}),
        &json!({"amount": 1.5, "currency": "USD", "x": 1}),
        "$",
        &mut errs,
    );
    assert_eq!(errs.len(), 2, "{errs:?}");
}

struct Recorder {
    m: Mock,
}

impl Recorder {
    #[allow(clippy::too_many_arguments)]
    async fn rec(
        &self,
        name: &str,
        schema: &str,
        method: &str,
        path: &str,
        auth: Option<&str>,
        idem: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let a = self.m.call(method, path, auth, idem, body.as_ref()).await;
        let mut req_h = Map::new();
        if let Some(k) = auth {
            req_h.insert("Authorization".into(), json!(format!("Bearer {k}")));
        }
        if let Some(k) = idem {
            req_h.insert("Idempotency-Key".into(), json!(k));
        }
        if body.is_some() {
            req_h.insert("Content-Type".into(), json!("application/json"));
        }
        let mut res_h = Map::new();
        for h in [
            "content-type",
            "x-request-id",
            "idempotent-replayed",
            "retry-after",
        ] {
            if let Some(v) = a.header(h) {
                res_h.insert(h.into(), json!(v));
            }
        }
        let f = json!({"name": name, "schema": schema,
            "request": {"method": method, "path": path, "headers": req_h, "body": body},
            "response": {"status": a.status, "headers": res_h, "body": a.body}});
        write(name, &f);
        a
    }
}

fn write(name: &str, f: &Value) {
    std::fs::create_dir_all(fixtures_dir()).unwrap();
    std::fs::write(
        fixtures_dir().join(format!("{name}.json")),
        serde_json::to_string_pretty(f).unwrap() + "\n",
    )
    .unwrap();
}

async fn compat(m: &Mock, name: &str, path: &str, key: &str, body: Value) {
    let res = m
        .http
        .post(format!("{}{path}", m.base))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let mut res_h = Map::new();
    for h in ["content-type", "x-request-id"] {
        if let Some(v) = res.headers().get(h) {
            res_h.insert(h.into(), json!(v.to_str().unwrap()));
        }
    }
    let b: Value = res.json().await.unwrap();
    write(
        name,
        &json!({"name": name, "schema": "CompatResponse",
        "request": {"method": "POST", "path": path, "headers": {"x-api-key": key, "Content-Type": "application/json"}, "body": body},
        "response": {"status": status, "headers": res_h, "body": b}}),
    );
}

async fn write_fixtures() {
    let r = Recorder {
        m: Mock::start().await,
    };
    let m = &r.m;
    let key = m.key.clone();
    let k = Some(key.as_str());
    let camp = m.campaign.clone();
    r.rec("app_get", "App", "GET", "/v1/app", k, None, None)
        .await;
    r.rec(
        "api_key_create",
        "ApiKey",
        "POST",
        "/v1/api_keys",
        k,
        Some("fx-key-1"),
        Some(json!({"name": "ci"})),
    )
    .await;
    let body = m.campaign_body(3600, 50_000, 500).await;
    let c = r
        .rec(
            "campaign_create",
            "Campaign",
            "POST",
            "/v1/campaigns",
            k,
            Some("fx-cmp-1"),
            Some(body),
        )
        .await;
    let cid = c.body["id"].as_str().unwrap().to_string();
    r.rec(
        "campaign_get",
        "Campaign",
        "GET",
        &format!("/v1/campaigns/{camp}"),
        k,
        None,
        None,
    )
    .await;
    r.rec(
        "campaign_list",
        "CampaignList",
        "GET",
        "/v1/campaigns?limit=1",
        k,
        None,
        None,
    )
    .await;
    r.rec(
        "campaign_submit",
        "Campaign",
        "POST",
        &format!("/v1/campaigns/{cid}/submit"),
        k,
        Some("fx-sub-1"),
        None,
    )
    .await;
    let trig = json!({"campaign_id": camp, "moment_id": "first_workout", "customer": {"id": "cust_42", "marketplace": "US"},
                      "device": {"type": "Android", "id": "device-abc"}});
    let t = r
        .rec(
            "trigger_reward",
            "TriggerResult",
            "POST",
            "/v1/triggers",
            k,
            Some("fx-trig-1"),
            Some(trig.clone()),
        )
        .await;
    let mut other = trig.clone();
    other["device"]["type"] = json!("iOS");
    r.rec(
        "error_idempotency_conflict",
        "ErrorEnvelope",
        "POST",
        "/v1/triggers",
        k,
        Some("fx-trig-1"),
        Some(other),
    )
    .await;
    let prog = json!({"campaign_id": camp, "moment_id": "five_workouts", "customer": {"id": "cust_42", "marketplace": "US"}, "device": {"type": "Android"}, "quantity": 2});
    r.rec(
        "trigger_progress",
        "TriggerResult",
        "POST",
        "/v1/triggers",
        k,
        Some("fx-trig-2"),
        Some(prog),
    )
    .await;
    r.rec(
        "progress_list",
        "ProgressList",
        "GET",
        "/v1/customers/cust_42/progress",
        k,
        None,
        None,
    )
    .await;
    let rid = t.body["reward"]["id"].as_str().unwrap().to_string();
    let token = Mock::link_token(t.body["reward"]["url"].as_str().unwrap());
    r.rec(
        "reward_get",
        "Reward",
        "GET",
        &format!("/v1/rewards/{rid}"),
        k,
        None,
        None,
    )
    .await;
    r.rec(
        "reward_list",
        "RewardList",
        "GET",
        "/v1/rewards?limit=1",
        k,
        None,
        None,
    )
    .await;
    r.rec(
        "redemption_get",
        "Redemption",
        "GET",
        &format!("/v1/redemptions/{token}"),
        None,
        None,
        None,
    )
    .await;
    let addr = json!({"name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"});
    r.rec(
        "redemption_post",
        "Redemption",
        "POST",
        &format!("/v1/redemptions/{token}"),
        None,
        None,
        Some(json!({"item_id": "itm_echo_dot", "shipping_address": addr})),
    )
    .await;
    r.rec(
        "customer_token_create",
        "CustomerToken",
        "POST",
        "/v1/customer_tokens",
        k,
        Some("fx-ct-1"),
        Some(json!({"customer_id": "cust_42", "marketplace": "US", "ttl_seconds": 900})),
    )
    .await;
    r.rec(
        "catalog_item_list",
        "ItemList",
        "GET",
        "/v1/catalog/items?marketplace=US&kind=physical&limit=2",
        k,
        None,
        None,
    )
    .await;
    r.rec(
        "catalog_item_get",
        "Item",
        "GET",
        "/v1/catalog/items/itm_echo_dot",
        k,
        None,
        None,
    )
    .await;
    r.rec(
        "reward_info",
        "RewardInfo",
        "GET",
        &format!("/v1/campaigns/{camp}/moments/five_workouts/reward_info?marketplace=US"),
        k,
        None,
        None,
    )
    .await;
    r.rec(
        "report",
        "Report",
        "GET",
        &format!("/v1/reports?campaign_id={camp}&group_by=moment"),
        k,
        None,
        None,
    )
    .await;
    let whe = r
        .rec(
            "webhook_endpoint_create",
            "WebhookEndpoint",
            "POST",
            "/v1/webhook_endpoints",
            k,
            Some("fx-whe-1"),
            Some(
                json!({"url": "https://brand.example.com/hooks/moments", "events": ["reward.issued"]}),
            ),
        )
        .await;
    let whe_id = whe.body["id"].as_str().unwrap().to_string();
    r.rec(
        "webhook_endpoint_rotate_secret",
        "WebhookEndpoint",
        "POST",
        &format!("/v1/webhook_endpoints/{whe_id}/rotate_secret"),
        k,
        Some("fx-whe-rot-1"),
        Some(json!({"expires_in_seconds": 3600})),
    )
    .await;
    // A flagged reward for the fraud fixtures.
    for i in 0..4 {
        let b = json!({"campaign_id": camp, "moment_id": "first_workout", "customer": {"id": format!("shared_{i}"), "marketplace": "US"},
                       "device": {"type": "Android", "id": "device-shared"}});
        m.post("/v1/triggers", b).await;
    }
    let held = r
        .rec(
            "fraud_review_list",
            "FraudReviewList",
            "GET",
            "/v1/fraud_reviews?status=held",
            k,
            None,
            None,
        )
        .await;
    let fid = held.body["data"][0]["reward_id"]
        .as_str()
        .unwrap()
        .to_string();
    r.rec(
        "fraud_review_release",
        "FraudReview",
        "POST",
        &format!("/v1/fraud_reviews/{fid}/release"),
        k,
        Some("fx-rel-1"),
        None,
    )
    .await;
    // Errors.
    r.rec("error_validation", "ErrorEnvelope", "POST", "/v1/triggers", k, Some("fx-err-1"),
        Some(json!({"campaign_id": camp, "moment_id": "first_workout", "customer": {"id": "c", "marketplace": "US"}, "device": {"type": "Android"}, "quantity": 0}))).await;
    r.rec(
        "error_not_found",
        "ErrorEnvelope",
        "GET",
        "/v1/campaigns/cmp_does_not_exist",
        k,
        None,
        None,
    )
    .await;
    r.rec(
        "error_authentication_required",
        "ErrorEnvelope",
        "GET",
        "/v1/app",
        None,
        None,
        None,
    )
    .await;
    let small = {
        let mut b = m.campaign_body(-60, 5_000, 5_000).await;
        b["name"] = json!("Tiny budget");
        m.launch(b).await
    };
    m.trigger(&small, "m1", "a", "US").await;
    r.rec("error_budget_exhausted", "ErrorEnvelope", "POST", "/v1/triggers", k, Some("fx-err-2"),
        Some(json!({"campaign_id": small, "moment_id": "m1", "customer": {"id": "b", "marketplace": "US"}, "device": {"type": "Web"}}))).await;
    // Compat.
    let demo = m.server.demo().clone();
    let cb = json!({"appId": demo.app_id, "momentId": "first_workout", "deviceType": "Android", "campaignId": demo.campaign_id, "rewardGroupId": "US"});
    compat(
        m,
        "compat_get_reward_info",
        "/prod/GetRewardInfo",
        &demo.api_key,
        cb.clone(),
    )
    .await;
    compat(
        m,
        "compat_get_reward",
        "/prod/GetReward",
        &demo.api_key,
        cb.clone(),
    )
    .await;
    let mut bad = cb.clone();
    bad["rewardGroupId"] = json!("XX");
    compat(m, "compat_error", "/prod/GetReward", &demo.api_key, bad).await;
    // An event as delivered to a webhook endpoint.
    let (sig_url, got) = {
        use std::sync::{Arc, Mutex};
        let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let g = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |h: axum::http::HeaderMap, b: String| {
                let g = g.clone();
                async move {
                    g.lock()
                        .unwrap()
                        .push((h["moments-signature"].to_str().unwrap().to_string(), b));
                    "ok"
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        (url, got)
    };
    m.post(
        "/v1/webhook_endpoints",
        json!({"url": sig_url, "events": ["reward.issued"]}),
    )
    .await;
    m.trigger(&camp, "first_workout", "cust_43", "US").await;
    m.advance(0).await;
    let (sig, body) = got.lock().unwrap()[0].clone();
    let ev: Value = serde_json::from_str(&body).unwrap();
    write(
        "event",
        &json!({"name": "event", "schema": "Event",
        "request": {"method": "POST", "path": "/hook", "headers": {"Moments-Signature": sig, "Moments-Event-Type": "reward.issued", "Content-Type": "application/json"}, "body": ev},
        "response": {"status": 200, "headers": {}, "body": ev}}),
    );
}

/// The links schemathesis's stateful phase follows, and the rules the server enforces, are in the
/// document (`mock-server/src/api/extra.rs` and the `#[schema]` attributes of the wire types).
#[tokio::test]
async fn the_document_states_links_and_constraints() {
    let m = Mock::start().await;
    let doc = spec(&m).await;
    let mut ids = std::collections::HashSet::new();
    for (_, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            if let Some(id) = op["operationId"].as_str() {
                assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            }
        }
    }
    let links = |path: &str, method: &str, status: &str| {
        doc["paths"][path][method]["responses"][status]["links"].clone()
    };
    let created = links("/v1/campaigns", "post", "201");
    for name in [
        "GetCampaign",
        "UpdateCampaign",
        "SubmitCampaign",
        "ApproveCampaign",
        "RejectCampaign",
        "PauseCampaign",
        "ResumeCampaign",
        "EndCampaign",
        "TriggerMoment",
    ] {
        assert!(created[name].is_object(), "campaign create links {name}");
    }
    assert_eq!(created["SubmitCampaign"]["operationId"], "campaigns_submit");
    let triggered = links("/v1/triggers", "post", "200");
    for name in [
        "GetReward",
        "CancelReward",
        "ReleaseReward",
        "BlockReward",
        "GetRedemption",
        "Redeem",
    ] {
        assert!(triggered[name].is_object(), "trigger links {name}");
    }
    assert!(links("/v1/campaigns/{id}", "get", "200")["CopyCampaign"]["requestBody"].is_object());

    let s = &doc["components"]["schemas"];
    assert_eq!(s["CampaignCreate"]["properties"]["name"]["maxLength"], 200);
    assert_eq!(
        s["CampaignCreate"]["properties"]["budget"]["properties"]["amount"]["minimum"],
        5000
    );
    assert_eq!(
        s["CampaignCreate"]["properties"]["marketplaces"]["uniqueItems"],
        true
    );
    assert_eq!(
        s["Moment"]["properties"]["id"]["pattern"],
        "^[A-Za-z0-9_-]{1,64}$"
    );
    assert_eq!(s["Trigger"]["properties"]["quantity"]["maximum"], 1_000_000);
    assert_eq!(
        s["CustomerTokenCreate"]["properties"]["ttl_seconds"]["minimum"],
        60
    );
    let params = doc["paths"]["/v1/campaigns"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["anyOf"][0]["maximum"], 100);
    let info =
        doc["paths"]["/v1/campaigns/{id}/moments/{moment_id}/reward_info"]["get"]["parameters"]
            .as_array()
            .unwrap();
    assert!(
        info.iter()
            .any(|p| p["name"] == "marketplace" && p["required"] == true)
    );
    assert_eq!(
        doc["paths"]["/v1/api_keys"]["post"]["requestBody"]["required"],
        false
    );
    // The webhook URL rule is the server's own, and the server holds to it.
    let url = &s["WebhookEndpointCreate"]["properties"]["url"];
    assert_eq!(url["pattern"], moments_mock_server::WEBHOOK_URL_PATTERN);
    assert_eq!(url["maxLength"], moments_mock_server::WEBHOOK_URL_MAX_LEN);
    for (u, status) in [
        ("http://127.0.0.1:9/hook", 201),
        ("http://example.com:99999/", 400),
        ("http://user@example.com/", 400),
    ] {
        let a = m.post("/v1/webhook_endpoints", json!({"url": u})).await;
        assert_eq!(a.status, status, "{u}: {}", a.text);
    }
    let path = format!(
        "/v1/campaigns/{}/moments/first_workout/reward_info?marketplace=US&segment=a%20b",
        m.campaign
    );
    assert_eq!(
        m.get(&path).await.code(),
        "validation_error",
        "a segment is a label"
    );
}
