//! The authorization matrix, generated from the mock's own OpenAPI document.
//!
//! Every `/v1/` operation served at `GET /openapi.json` is called with every hostile credential —
//! none, a wrong key, another app's key, an expired customer token, another customer's token, a
//! customer token on a moment that is not client-reportable, a customer token on a campaign-management
//! route — and must answer the status and code that `docs/api.md` documents, without any id of the
//! other app or customer in the answer. Path parameters are filled from real resources of the demo
//! app. An operation the test does not know fails the test, so a new route cannot ship unclassified.
//!
//! The matrix is printed (`cargo test -p moments-e2e --test security_auth_matrix -- --nocapture`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use moments_e2e::mock::Mock;
use reqwest::Method;
use serde_json::{Value, json};

/// Who may call an operation, from `docs/api.md` § Authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Secret keys only: campaign management, keys, tokens, fraud, reports, webhooks.
    Secret,
    /// Secret keys, or customer tokens acting for their own customer.
    Customer,
    /// No `Authorization`: the token in the path is the credential (redemption).
    Public,
}

/// The hostile credential of a matrix column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Case {
    NoCredential,
    WrongKey,
    OtherAppKey,
    ExpiredToken,
    OtherCustomerToken,
    TokenNotReportableMoment,
    TokenManagementRoute,
}

const CASES: [Case; 7] = [
    Case::NoCredential,
    Case::WrongKey,
    Case::OtherAppKey,
    Case::ExpiredToken,
    Case::OtherCustomerToken,
    Case::TokenNotReportableMoment,
    Case::TokenManagementRoute,
];

impl Case {
    fn short(self) -> &'static str {
        match self {
            Case::NoCredential => "none",
            Case::WrongKey => "wrong",
            Case::OtherAppKey => "other-app",
            Case::ExpiredToken => "expired",
            Case::OtherCustomerToken => "other-cust",
            Case::TokenNotReportableMoment => "not-reportable",
            Case::TokenManagementRoute => "mgmt-route",
        }
    }
}

/// What a cell must answer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// Exactly this status and error code.
    Error(u16, &'static str),
    /// One of these (status, code) pairs (documented ambiguity, see `docs/security.md`).
    OneOf(Vec<(u16, &'static str)>),
    /// A valid credential acting on its own data: any answer but 401, 403 or 5xx.
    OwnData,
    /// The column does not apply to this operation.
    NotApplicable,
}

/// Classifies an operation by method and template (parameters written `{}`).
fn classify(method: &str, template: &str) -> Option<Access> {
    use Access::*;
    let a = match (method, template) {
        ("GET", "/v1/app") => Secret,
        ("GET" | "POST", "/v1/api_keys") => Secret,
        ("DELETE", "/v1/api_keys/{}") => Secret,
        ("POST", "/v1/customer_tokens") => Secret,
        ("GET", "/v1/catalog/items") => Customer,
        ("GET", "/v1/catalog/items/{}") => Customer,
        ("GET" | "POST", "/v1/campaigns") => Secret,
        ("GET" | "PATCH", "/v1/campaigns/{}") => Secret,
        ("POST", t)
            if t.starts_with("/v1/campaigns/{}/")
                && matches!(
                    &t["/v1/campaigns/{}/".len()..],
                    "submit" | "approve" | "reject" | "pause" | "resume" | "end"
                ) =>
        {
            Secret
        }
        ("GET", "/v1/campaigns/{}/moments/{}/reward_info") => Customer,
        ("POST", "/v1/triggers") => Customer,
        ("GET", "/v1/rewards") => Customer,
        ("GET", "/v1/rewards/{}") => Customer,
        ("POST", "/v1/rewards/{}/cancel") => Secret,
        ("GET" | "POST", "/v1/redemptions/{}") => Public,
        ("GET", "/v1/customers/{}/progress") => Customer,
        ("GET", "/v1/fraud_reviews") => Secret,
        ("POST", "/v1/fraud_reviews/{}/release" | "/v1/fraud_reviews/{}/block") => Secret,
        ("GET", "/v1/reports") => Secret,
        ("GET" | "POST", "/v1/webhook_endpoints") => Secret,
        ("GET" | "DELETE", "/v1/webhook_endpoints/{}") => Secret,
        ("POST", "/v1/webhook_endpoints/{}/rotate_secret") => Secret,
        _ => return None,
    };
    Some(a)
}

/// `/v1/campaigns/{campaign_id}` → `/v1/campaigns/{}`.
fn normalize(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                "{}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The real resources of the demo app the matrix aims at.
#[derive(Debug)]
struct Fixture {
    app_id: String,
    account_id: String,
    campaign_id: String,
    key_id: String,
    endpoint_id: String,
    item_id: String,
    /// Customer A: owns `reward_id`.
    customer: String,
    reward_id: String,
    reward_token: String,
    webhook_secret: String,
    demo_secret: String,
    demo_legacy: String,
    /// A's own token (positive control).
    token_a: String,
    /// Customer B's token, same app.
    token_b: String,
    /// A token that expired on the mock's clock.
    token_expired: String,
    /// Another app's secret key and legacy key.
    other_secret: String,
    other_legacy: String,
}

impl Fixture {
    /// The strings of the demo app that another app must never see.
    fn app_private(&self) -> Vec<&str> {
        vec![
            &self.app_id,
            &self.account_id,
            &self.campaign_id,
            &self.key_id,
            &self.endpoint_id,
            &self.customer,
            &self.reward_id,
            &self.reward_token,
            &self.webhook_secret,
            &self.demo_secret,
            &self.demo_legacy,
        ]
    }

    /// The strings of customer A that customer B must never see.
    fn customer_private(&self) -> Vec<&str> {
        vec![
            &self.customer,
            &self.reward_id,
            &self.reward_token,
            &self.token_a,
            &self.webhook_secret,
            &self.demo_secret,
        ]
    }
}

struct Answer {
    status: u16,
    code: Option<String>,
    body: String,
    request_id: Option<String>,
}

/// The shared harness's mock, answering in the matrix's terms (status, error code, raw body).
struct Api {
    m: Mock,
}

impl Api {
    async fn start() -> Api {
        Api {
            m: Mock::start().await,
        }
    }

    /// A call with a fresh `Idempotency-Key` on every `POST`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let key = (method == Method::POST).then(|| self.m.idem());
        let a = self
            .m
            .call(method.as_str(), path, auth, key.as_deref(), body)
            .await;
        Answer {
            status: a.status,
            code: Some(a.code().to_owned()).filter(|c| !c.is_empty()),
            request_id: a.header("x-request-id"),
            body: a.text,
        }
    }

    async fn json(&self, method: Method, path: &str, auth: Option<&str>, body: Value) -> Value {
        let a = self.call(method.clone(), path, auth, Some(&body)).await;
        assert!(
            (200..300).contains(&a.status),
            "setup call {method} {path} failed: {} {}",
            a.status,
            a.body
        );
        serde_json::from_str(&a.body).expect("JSON")
    }
}

/// The first string anywhere in `v` that starts with `prefix`.
fn find_prefixed(v: &Value, prefix: &str) -> Option<String> {
    match v {
        Value::String(s) if s.starts_with(prefix) => Some(s.clone()),
        Value::Array(a) => a.iter().find_map(|x| find_prefixed(x, prefix)),
        Value::Object(o) => o.values().find_map(|x| find_prefixed(x, prefix)),
        _ => None,
    }
}

async fn setup(api: &Api) -> Fixture {
    let demo = api
        .json(Method::GET, "/_mock/demo", None, json!(null))
        .await;
    let s = |k: &str| demo[k].as_str().unwrap_or_default().to_owned();
    let demo_secret = s("secret_key");
    let campaign_id = s("campaign_id");
    let sk = Some(demo_secret.as_str());
    let app = api.json(Method::GET, "/v1/app", sk, json!(null)).await;
    let keys = api.json(Method::GET, "/v1/api_keys", sk, json!(null)).await;
    let key_id = keys["data"][0]["id"].as_str().expect("a key id").to_owned();
    let endpoint = api
        .json(
            Method::POST,
            "/v1/webhook_endpoints",
            sk,
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let items = api
        .json(Method::GET, "/v1/catalog/items?limit=1", sk, json!(null))
        .await;
    let customer = "cust_alice_matrix".to_owned();
    let trig = api
        .json(
            Method::POST,
            "/v1/triggers",
            sk,
            json!({"campaign_id": campaign_id, "moment_id": "first_workout",
                   "customer": {"id": customer, "marketplace": "US"},
                   "device": {"type": "Android", "id": "dev-alice"}}),
        )
        .await;
    let reward = &trig["reward"];
    let url = reward["url"].as_str().expect("a reward url");
    let mint =
        |c: &str, ttl: u32| json!({"customer_id": c, "marketplace": "US", "ttl_seconds": ttl});
    let expired = api
        .json(Method::POST, "/v1/customer_tokens", sk, mint(&customer, 60))
        .await;
    api.json(
        Method::POST,
        "/_mock/clock/advance",
        None,
        json!({"seconds": 120}),
    )
    .await;
    let token_a = api
        .json(
            Method::POST,
            "/v1/customer_tokens",
            sk,
            mint(&customer, 86400),
        )
        .await;
    let token_b = api
        .json(
            Method::POST,
            "/v1/customer_tokens",
            sk,
            mint("cust_bob_matrix", 86400),
        )
        .await;
    let other = api
        .json(
            Method::POST,
            "/_mock/apps",
            None,
            json!({"name": "Intruder Inc"}),
        )
        .await;
    Fixture {
        app_id: app["id"].as_str().expect("app id").to_owned(),
        account_id: app["account_id"].as_str().expect("account id").to_owned(),
        campaign_id,
        key_id,
        endpoint_id: endpoint["id"].as_str().expect("endpoint id").to_owned(),
        webhook_secret: endpoint["secret"].as_str().expect("whsec").to_owned(),
        item_id: items["data"][0]["id"].as_str().expect("item id").to_owned(),
        customer,
        reward_id: reward["id"].as_str().expect("reward id").to_owned(),
        reward_token: url.rsplit('/').next().expect("token").to_owned(),
        demo_legacy: s("api_key"),
        demo_secret,
        token_a: token_a["token"].as_str().expect("token").to_owned(),
        token_b: token_b["token"].as_str().expect("token").to_owned(),
        token_expired: expired["token"].as_str().expect("token").to_owned(),
        other_secret: find_prefixed(&other, "sk_").expect("the new app's secret key"),
        other_legacy: find_prefixed(&other, "mk_").expect("the new app's legacy key"),
    }
}

/// Fills a path template from the fixture; `None` for a parameter the test cannot name.
fn fill(template: &str, f: &Fixture) -> Option<String> {
    let segs: Vec<&str> = template.split('/').collect();
    let mut out = Vec::with_capacity(segs.len());
    for (i, seg) in segs.iter().enumerate() {
        if !(seg.starts_with('{') && seg.ends_with('}')) {
            out.push((*seg).to_owned());
            continue;
        }
        let value = match segs.get(i.wrapping_sub(1)).copied().unwrap_or("") {
            "campaigns" => f.campaign_id.clone(),
            "rewards" | "fraud_reviews" => f.reward_id.clone(),
            "api_keys" => f.key_id.clone(),
            "webhook_endpoints" => f.endpoint_id.clone(),
            "items" => f.item_id.clone(),
            "customers" => f.customer.clone(),
            "moments" => "first_workout".to_owned(),
            "redemptions" => f.reward_token.clone(),
            _ => return None,
        };
        out.push(value);
    }
    Some(out.join("/"))
}

/// Whether the path names a resource owned by the demo app (another app must get 404).
fn names_app_resource(template: &str) -> bool {
    [
        "/v1/campaigns/{}",
        "/v1/rewards/{}",
        "/v1/api_keys/{}",
        "/v1/webhook_endpoints/{}",
        "/v1/fraud_reviews/{}",
    ]
    .iter()
    .any(|p| template.starts_with(p))
        || template == "/v1/triggers"
}

/// Whether the path names customer A (another customer's token must be refused).
fn names_customer(template: &str) -> bool {
    template.starts_with("/v1/rewards/{}") || template.starts_with("/v1/customers/{}")
}

fn expectation(case: Case, access: Access, method: &str, template: &str) -> Expect {
    use Expect::*;
    if access == Access::Public {
        // The token in the path is the credential; any Authorization is ignored.
        return match case {
            Case::NoCredential | Case::WrongKey | Case::OtherAppKey | Case::ExpiredToken => OwnData,
            _ => NotApplicable,
        };
    }
    let is_trigger = method == "POST" && template == "/v1/triggers";
    match case {
        Case::NoCredential => Error(401, "authentication_required"),
        Case::WrongKey => Error(401, "invalid_api_key"),
        Case::ExpiredToken => Error(401, "token_expired"),
        Case::OtherAppKey => {
            if template == "/v1/customers/{}/progress" {
                // Customer ids are the brand's own labels: another app sees only its own (none).
                OneOf(vec![(200, ""), (404, "resource_not_found")])
            } else if names_app_resource(template) {
                Error(404, "resource_not_found")
            } else {
                OwnData
            }
        }
        Case::OtherCustomerToken => match access {
            Access::Secret => Error(403, "forbidden"),
            _ if is_trigger => Error(403, "forbidden"),
            _ if template == "/v1/rewards/{}" => {
                // A reward of another customer: refused, without necessarily revealing it exists.
                OneOf(vec![(403, "forbidden"), (404, "resource_not_found")])
            }
            _ if names_customer(template) => Error(403, "forbidden"),
            _ => OwnData,
        },
        Case::TokenNotReportableMoment => {
            if is_trigger {
                Error(403, "moment_not_client_reportable")
            } else {
                NotApplicable
            }
        }
        Case::TokenManagementRoute => match access {
            Access::Secret => Error(403, "forbidden"),
            _ => NotApplicable,
        },
    }
}

/// The credential, query and body a cell sends.
fn request_for(
    case: Case,
    method: &str,
    template: &str,
    f: &Fixture,
) -> (Option<String>, String, Option<Value>) {
    let cred = match case {
        Case::NoCredential => None,
        Case::WrongKey => Some("sk_test_NotARealKeyButLongEnoughToLookLikeOne0000".to_owned()),
        Case::OtherAppKey => Some(f.other_secret.clone()),
        Case::ExpiredToken => Some(f.token_expired.clone()),
        Case::OtherCustomerToken => Some(f.token_b.clone()),
        Case::TokenNotReportableMoment | Case::TokenManagementRoute => Some(f.token_a.clone()),
    };
    let customer_cred = matches!(
        case,
        Case::ExpiredToken
            | Case::OtherCustomerToken
            | Case::TokenNotReportableMoment
            | Case::TokenManagementRoute
    );
    let query = if template.ends_with("/reward_info") && !customer_cred {
        "?marketplace=US".to_owned()
    } else {
        String::new()
    };
    let body = match (method, template) {
        ("POST", "/v1/triggers") => {
            let moment = if case == Case::TokenNotReportableMoment {
                "level_5"
            } else {
                "first_workout"
            };
            let mut b = json!({"campaign_id": f.campaign_id, "moment_id": moment,
                               "device": {"type": "iOS", "id": "dev-matrix"}});
            if !matches!(case, Case::TokenNotReportableMoment) {
                // Act for customer A: for B's token that is "another customer in the body".
                b["customer"] = json!({"id": f.customer, "marketplace": "US"});
            }
            Some(b)
        }
        ("POST", "/v1/redemptions/{}") => Some(json!({})),
        // A valid body, so another app's key reaches the ownership check (validation comes first).
        ("POST", "/v1/campaigns/{}/reject") => Some(json!({"reason": "probe"})),
        ("POST" | "PATCH", _) => Some(json!({})),
        _ => None,
    };
    (cred, query, body)
}

fn leaks<'a>(body: &str, private: &[&'a str], sent: &str) -> Vec<&'a str> {
    private
        .iter()
        .copied()
        .filter(|p| !p.is_empty() && body.contains(p) && !sent.contains(p))
        .collect()
}

struct Operation {
    method: String,
    template: String,
    normalized: String,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    let paths = doc["paths"].as_object().expect("an OpenAPI `paths` object");
    for (path, item) in paths {
        if !path.starts_with("/v1/") {
            continue;
        }
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                ops.push(Operation {
                    method: m.to_uppercase(),
                    template: path.clone(),
                    normalized: normalize(path),
                });
            }
        }
    }
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_v1_operation_refuses_every_hostile_credential() {
    let api = Api::start().await;
    let f = setup(&api).await;
    let doc = api
        .json(Method::GET, "/openapi.json", None, json!(null))
        .await;
    let ops = operations(&doc);
    assert!(
        ops.len() >= 30,
        "the OpenAPI document lists {} v1 operations",
        ops.len()
    );

    let unclassified: Vec<String> = ops
        .iter()
        .filter(|o| classify(&o.method, &o.normalized).is_none() || fill(&o.template, &f).is_none())
        .map(|o| format!("{} {}", o.method, o.template))
        .collect();
    assert!(
        unclassified.is_empty(),
        "operations the authorization matrix does not know (classify them in security_auth_matrix.rs): {unclassified:?}"
    );

    let mut failures = Vec::new();
    let mut table: BTreeMap<String, BTreeMap<Case, String>> = BTreeMap::new();
    let mut cells = 0usize;
    for op in &ops {
        let access = classify(&op.method, &op.normalized).expect("classified");
        let path = fill(&op.template, &f).expect("filled");
        let method = Method::from_bytes(op.method.as_bytes()).expect("method");
        let row = table
            .entry(format!("{:<6} {}", op.method, op.template))
            .or_default();
        for case in CASES {
            let expect = expectation(case, access, &op.method, &op.normalized);
            if expect == Expect::NotApplicable {
                row.insert(case, "·".into());
                continue;
            }
            // The public POST is only probed with `{}` (a validation error), so no cell redeems.
            let (cred, query, body) = request_for(case, &op.method, &op.normalized, &f);
            let full = format!("{path}{query}");
            let a = api
                .call(method.clone(), &full, cred.as_deref(), body.as_ref())
                .await;
            cells += 1;
            let label = format!("{} {} [{}]", op.method, op.template, case.short());
            row.insert(
                case,
                format!("{} {}", a.status, a.code.as_deref().unwrap_or("")),
            );
            if !a
                .request_id
                .as_deref()
                .is_some_and(|r| r.starts_with("req_"))
            {
                failures.push(format!("{label}: no X-Request-Id"));
            }
            let ok = match &expect {
                Expect::Error(s, c) => a.status == *s && a.code.as_deref() == Some(*c),
                Expect::OneOf(v) => v.iter().any(|(s, c)| {
                    a.status == *s && (c.is_empty() || a.code.as_deref() == Some(*c))
                }),
                Expect::OwnData => !matches!(a.status, 401 | 403) && a.status < 500,
                Expect::NotApplicable => true,
            };
            if !ok {
                failures.push(format!(
                    "{label}: expected {expect:?}, got {} {}",
                    a.status, a.body
                ));
            }
            let sent = format!("{full} {}", body.map(|b| b.to_string()).unwrap_or_default());
            let private = match case {
                // The reward token in the path is the credential of a redemption route.
                _ if access == Access::Public => vec![],
                Case::OtherAppKey => f.app_private(),
                Case::OtherCustomerToken => f.customer_private(),
                // A refused credential sees nothing of the app at all.
                _ => f.app_private(),
            };
            let leaked = leaks(&a.body, &private, &sent);
            if !leaked.is_empty() {
                failures.push(format!("{label}: the answer leaks {leaked:?}: {}", a.body));
            }
        }
    }

    let mut out = String::new();
    let _ = write!(out, "{:<58}", "operation");
    for c in CASES {
        let _ = write!(out, " {:<30}", c.short());
    }
    out.push('\n');
    for (op, row) in &table {
        let _ = write!(out, "{op:<58}");
        for c in CASES {
            let _ = write!(
                out,
                " {:<30}",
                row.get(&c).map(String::as_str).unwrap_or("?")
            );
        }
        out.push('\n');
    }
    eprintln!("{out}\n{} operations, {cells} hostile calls", ops.len());
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    api.m.server.shutdown().await;
}

/// The positive control: the matrix's path filling names real resources (the demo secret reads
/// every GET, customer A's token reads every customer GET), so 403/404 above are not accidents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_aims_at_real_resources() {
    let api = Api::start().await;
    let f = setup(&api).await;
    let doc = api
        .json(Method::GET, "/openapi.json", None, json!(null))
        .await;
    let mut failures = Vec::new();
    for op in operations(&doc).iter().filter(|o| o.method == "GET") {
        let Some(access) = classify("GET", &op.normalized) else {
            continue;
        };
        let Some(path) = fill(&op.template, &f) else {
            continue;
        };
        let mut creds = vec![(f.demo_secret.as_str(), true)];
        if access == Access::Customer {
            creds.push((f.token_a.as_str(), false));
        }
        for (cred, secret) in creds {
            let q = if op.normalized.ends_with("/reward_info") && secret {
                "?marketplace=US"
            } else {
                ""
            };
            let a = api
                .call(Method::GET, &format!("{path}{q}"), Some(cred), None)
                .await;
            if a.status != 200 {
                failures.push(format!(
                    "GET {} as {}: {} {}",
                    op.template,
                    if secret { "secret" } else { "own token" },
                    a.status,
                    a.body
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    api.m.server.shutdown().await;
}

/// The compatibility endpoints: only the app's own legacy key in `x-api-key` works, and another
/// app's legacy key naming the demo campaign learns nothing about it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compat_endpoints_refuse_foreign_and_missing_keys() {
    let api = Api::start().await;
    let f = setup(&api).await;
    let body = json!({"appId": f.app_id, "momentId": "first_workout", "deviceType": "Android",
                      "campaignId": f.campaign_id, "rewardGroupId": "US"});
    for path in ["/prod/GetRewardInfo", "/prod/GetReward"] {
        for (label, key) in [
            ("no key", None),
            ("wrong key", Some("mk_not_a_real_key_0000000000")),
            ("secret key in x-api-key", Some(f.demo_secret.as_str())),
            ("customer token in x-api-key", Some(f.token_a.as_str())),
            ("another app's legacy key", Some(f.other_legacy.as_str())),
        ] {
            let mut req = api.m.http.post(format!("{}{path}", api.m.base)).json(&body);
            if let Some(k) = key {
                req = req.header("x-api-key", k);
            }
            let res = req.send().await.expect("answer");
            let status = res.status().as_u16();
            let v: Value = res.json().await.expect("JSON");
            assert!(
                matches!(status, 401 | 403 | 404),
                "{path} with {label}: {status} {v}"
            );
            assert!(
                v["rewardNotificationUrl"].is_null(),
                "{path} with {label} got a reward URL: {v}"
            );
            assert!(
                v["errorCode"].is_string(),
                "{path} with {label}: no errorCode: {v}"
            );
            let text = v.to_string();
            let leaked = leaks(
                &text,
                &[&f.demo_secret, &f.demo_legacy, &f.reward_token],
                "",
            );
            assert!(leaked.is_empty(), "{path} with {label} leaks {leaked:?}");
        }
    }
    api.m.server.shutdown().await;
}
