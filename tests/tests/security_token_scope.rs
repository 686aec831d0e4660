//! "The token is the truth" (`docs/api.md` § Authentication), tested as an attacker holding a
//! customer token would try it: a matrix generated from the mock's own OpenAPI document.
//!
//! Rows: every `/v1/` operation a customer token may call, found by calling each operation of the
//! document with a token (an operation that does not refuse the token is token-callable, and the set
//! must be the one `docs/api.md` documents). Columns: every path or query parameter and every request
//! body field (nested, through `$ref`s) that names a customer, marketplace, segment, reward group,
//! variant or IP. Each cell sends the operation's valid request with that one value changed to
//! another customer's, marketplace's, segment's, group's, variant's or address's, and must be refused
//! `403 forbidden` with `param` naming the field — and change nothing (no reward, no spend). Where
//! the token has a value of its own (customer, marketplace, segment), naming it is allowed: that
//! cell must succeed. A new operation or field that names one of these is in the matrix the day it
//! is added to the document.
//!
//! The matrix is printed: `cargo test -p moments-e2e --test security_token_scope -- --nocapture`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use moments_e2e::mock::{Answer, Mock};
use serde_json::{Map, Value, json};

/// The token-callable operations `docs/api.md` documents (method, template).
const TOKEN_OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/v1/campaigns/{id}/moments/{moment_id}/reward_info"),
    ("GET", "/v1/catalog/items"),
    ("GET", "/v1/catalog/items/{id}"),
    ("GET", "/v1/customers/{customer_id}/progress"),
    ("GET", "/v1/rewards"),
    ("GET", "/v1/rewards/{id}"),
    ("POST", "/v1/triggers"),
];

/// What a scoped field names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Names {
    Customer,
    Marketplace,
    Segment,
    Group,
    Variant,
    Ip,
}

impl Names {
    /// The kind of a parameter or field path (`customer.segment`, `reward_group_id`), if scoped.
    fn of(path: &str) -> Option<Names> {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.contains(&"ip") {
            return Some(Names::Ip);
        }
        // The leaf decides for `customer.marketplace`; a parent names the kind of its `id`.
        for s in segments.iter().rev() {
            let kind = if s.contains("marketplace") {
                Names::Marketplace
            } else if s.contains("segment") {
                Names::Segment
            } else if s.contains("group") {
                Names::Group
            } else if s.contains("variant") {
                Names::Variant
            } else if s.contains("customer") {
                Names::Customer
            } else {
                continue;
            };
            return Some(kind);
        }
        None
    }

    /// A value that widens the token: another customer, the other marketplace of the campaign,
    /// the segment of the expensive tier, the group of that tier, the other variant, another address.
    fn hostile(self) -> &'static str {
        match self {
            Names::Customer => "cust_intruder",
            Names::Marketplace => "DE",
            Names::Segment => "top",
            Names::Group => "us_top",
            Names::Variant => "B",
            Names::Ip => "203.0.113.7",
        }
    }

    /// The token's own value, where it has one.
    fn own(self) -> Option<&'static str> {
        match self {
            Names::Customer => Some(CUSTOMER),
            Names::Marketplace => Some("US"),
            Names::Segment => Some("new"),
            Names::Group | Names::Variant | Names::Ip => None,
        }
    }
}

const CUSTOMER: &str = "cust_scope_new";
const MOMENT: &str = "scoped_moment";

/// A campaign in US and DE whose US tiers differ by segment: `new` gets $1, `top` gets $200.
async fn tiered_campaign(m: &Mock) -> String {
    let items = |market: &str| {
        let path = format!("/v1/catalog/items?marketplace={market}&kind=digital&limit=2");
        async move {
            let a = m.get(&path).await;
            assert_eq!(a.status, 200, "{}", a.text);
            a.body["data"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["id"].as_str().expect("id").to_owned())
                .collect::<Vec<_>>()
        }
    };
    let (us, de) = (items("US").await, items("DE").await);
    let mut body = m.campaign_body(-60, 500_000, 100).await;
    body["marketplaces"] = json!(["US", "DE"]);
    body["reward_groups"] = json!([
        {"id": "us_new", "marketplace": "US", "segments": ["new"], "items": [us[0]]},
        {"id": "us_top", "marketplace": "US", "segments": ["top"], "items": [us[1]],
         "cost_per_action": {"amount": 20_000, "currency": "USD"}},
        {"id": "us_ab", "marketplace": "US", "items": [us[0]],
         "variants": [{"id": "A", "weight": 1, "items": [us[0]]}, {"id": "B", "weight": 1, "items": [us[1]]}]},
        {"id": "de", "marketplace": "DE", "items": [de[0]]}
    ]);
    body["moments"] = json!([{"id": MOMENT, "client_reportable": true,
                              "frequency_cap": {"max_rewards": 1000, "period_seconds": null}}]);
    body["fraud"] = json!({"max_actions_per_customer_per_hour": 1000,
                           "max_actions_per_device_per_hour": 1000,
                           "max_actions_per_ip_per_hour": 1000});
    m.launch(body).await
}

async fn mint(m: &Mock, customer: &str, segment: Option<&str>) -> String {
    let mut body = json!({"customer_id": customer, "marketplace": "US"});
    if let Some(s) = segment {
        body["segment"] = json!(s);
    }
    let a = m.post("/v1/customer_tokens", body).await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.body["token"].as_str().expect("token").to_owned()
}

/// Resolves `$ref`s and nullable wrappers to the object schemas a value may take.
fn objects<'a>(doc: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().expect("a ref name");
        return objects(doc, &doc["components"]["schemas"][name]);
    }
    for k in ["oneOf", "anyOf", "allOf"] {
        if let Some(alts) = schema[k].as_array() {
            return alts.iter().flat_map(|s| objects(doc, s)).collect();
        }
    }
    if schema["properties"].is_object() {
        vec![schema]
    } else {
        vec![]
    }
}

/// Every leaf field path of a request body schema (`customer.segment`, `device.ip`).
fn leaves(doc: &Value, schema: &Value, prefix: &str, out: &mut Vec<String>) {
    for obj in objects(doc, schema) {
        for (name, prop) in obj["properties"].as_object().expect("properties") {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            let before = out.len();
            leaves(doc, prop, &path, out);
            if out.len() == before {
                out.push(path);
            }
        }
    }
}

/// Sets `path` (dotted) in a JSON object, creating objects on the way.
fn set(body: &mut Value, path: &str, value: &str) {
    let mut at = body;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        if !at[*p].is_object() {
            at[*p] = Value::Object(Map::new());
        }
        at = &mut at[*p];
    }
    at[parts[parts.len() - 1]] = json!(value);
}

/// Where a scoped value goes in a request.
#[derive(Clone, Debug)]
enum Place {
    Path(String),
    Query(String),
    Body(String),
}

impl Place {
    fn name(&self) -> &str {
        match self {
            Place::Path(n) | Place::Query(n) | Place::Body(n) => n,
        }
    }
}

/// One operation of the document with what the test needs to call it.
struct Operation {
    method: String,
    template: String,
    params: Vec<(String, String)>, // (name, in)
    body: Option<Value>,           // request body schema
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        if !template.starts_with("/v1/") {
            continue;
        }
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "patch", "put", "delete"].contains(&method.as_str()) {
                continue;
            }
            let params = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        p["name"].as_str().expect("name").to_owned(),
                        p["in"].as_str().expect("in").to_owned(),
                    )
                })
                .collect();
            let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
            out.push(Operation {
                method: method.to_uppercase(),
                template: template.clone(),
                params,
                body: (!body.is_null()).then_some(body),
            });
        }
    }
    out
}

/// The valid request a token may send to an operation, and the cells of its row.
struct Row {
    path_values: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<Value>,
    places: Vec<Place>,
}

struct World {
    m: Mock,
    token: String,
    campaign: String,
    reward: String,
    item: String,
}

impl World {
    fn row(&self, doc: &Value, op: &Operation) -> Row {
        let mut path_values = Vec::new();
        let mut places = Vec::new();
        for (name, at) in &op.params {
            if at == "path" {
                let v = match (op.template.as_str(), name.as_str()) {
                    (t, "id") if t.starts_with("/v1/campaigns/") => self.campaign.clone(),
                    (t, "id") if t.starts_with("/v1/rewards/") => self.reward.clone(),
                    (t, "id") if t.starts_with("/v1/catalog/") => self.item.clone(),
                    (_, "moment_id") => MOMENT.to_owned(),
                    (_, "customer_id") => CUSTOMER.to_owned(),
                    // Not token-callable: any value (the token is refused first).
                    _ => "x".to_owned(),
                };
                path_values.push((name.clone(), v));
            }
            if Names::of(name).is_some() {
                places.push(if at == "path" {
                    Place::Path(name.clone())
                } else {
                    Place::Query(name.clone())
                });
            }
        }
        let body = op.body.as_ref().map(|schema| {
            let mut fields = Vec::new();
            leaves(doc, schema, "", &mut fields);
            places.extend(
                fields
                    .into_iter()
                    .filter(|f| Names::of(f).is_some())
                    .map(Place::Body),
            );
            if op.template == "/v1/triggers" {
                json!({"campaign_id": self.campaign, "moment_id": MOMENT, "device": {"type": "Android"}})
            } else {
                json!({})
            }
        });
        Row {
            path_values,
            query: Vec::new(),
            body,
            places,
        }
    }

    async fn send(&self, op: &Operation, row: &Row) -> Answer {
        let mut path = op.template.clone();
        for (name, v) in &row.path_values {
            path = path.replace(&format!("{{{name}}}"), v);
        }
        if !row.query.is_empty() {
            let q: Vec<String> = row.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            path = format!("{path}?{}", q.join("&"));
        }
        let idem = (op.method == "POST").then(|| self.m.idem());
        self.m
            .call(
                &op.method,
                &path,
                Some(&self.token),
                idem.as_deref(),
                row.body.as_ref(),
            )
            .await
    }

    /// The request of `row` with one place set to `value`.
    fn with(&self, row: &Row, place: &Place, value: &str) -> Row {
        let mut r = Row {
            path_values: row.path_values.clone(),
            query: row.query.clone(),
            body: row.body.clone(),
            places: vec![],
        };
        match place {
            Place::Path(n) => {
                for (name, v) in &mut r.path_values {
                    if name == n {
                        *v = value.to_owned();
                    }
                }
            }
            Place::Query(n) => r.query.push((n.clone(), value.to_owned())),
            Place::Body(path) => {
                let body = r.body.as_mut().expect("a body");
                // The customer object is all or nothing: its other fields are the token's own.
                if let Some(rest) = path.strip_prefix("customer.") {
                    body["customer"] =
                        json!({"id": CUSTOMER, "marketplace": "US", "segment": "new"});
                    body["customer"][rest] = json!(value);
                } else {
                    set(body, path, value);
                }
            }
        }
        r
    }
}

/// What the money and reward state of the app is: issued rewards and this month's spend.
async fn ledger(m: &Mock, campaign: &str) -> (usize, i64) {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/rewards?campaign_id={campaign}&limit=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let a = m.get(&path).await;
        assert_eq!(a.status, 200, "{}", a.text);
        n += a.body["data"].as_array().expect("data").len();
        match a.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let r = m.get(&format!("/v1/reports?campaign_id={campaign}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    (
        n,
        r.body["totals"]["spend"]["amount"].as_i64().expect("spend"),
    )
}

#[tokio::test]
async fn no_value_in_a_request_widens_a_customer_token() {
    let m = Mock::start().await;
    let campaign = tiered_campaign(&m).await;
    let token = mint(&m, CUSTOMER, Some("new")).await;
    // The customer's own reward, for the operations that read one.
    let first = m
        .call(
            "POST",
            "/v1/triggers",
            Some(&token),
            Some(&m.idem()),
            Some(
                &json!({"campaign_id": campaign, "moment_id": MOMENT, "device": {"type": "Android"}}),
            ),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["reward"]["reward_group_id"], "us_new");
    assert_eq!(first.body["reward"]["cost"]["amount"], 100);
    let item = m.get("/v1/catalog/items?marketplace=US&limit=1").await.body["data"][0]["id"]
        .as_str()
        .expect("an item")
        .to_owned();
    let w = World {
        reward: first.body["reward"]["id"].as_str().expect("id").to_owned(),
        m,
        token,
        campaign,
        item,
    };
    let doc =
        w.m.call("GET", "/openapi.json", None, None, None)
            .await
            .body;

    // Rows: the operations that do not refuse a customer token.
    let mut rows = Vec::new();
    let mut token_callable = BTreeSet::new();
    for op in operations(&doc) {
        if op.template.starts_with("/v1/redemptions/") {
            continue; // no Authorization: the link token is the credential
        }
        let row = w.row(&doc, &op);
        let a = w.send(&op, &row).await;
        if a.status == 403 && a.code() == "forbidden" && a.body["error"]["param"].is_null() {
            continue; // secret key only
        }
        assert!(
            (200..300).contains(&a.status),
            "{} {} with the customer's own token and a valid request: {} {}",
            op.method,
            op.template,
            a.status,
            a.text
        );
        token_callable.insert((op.method.clone(), op.template.clone()));
        rows.push((op, row));
    }
    let documented: BTreeSet<(String, String)> = TOKEN_OPERATIONS
        .iter()
        .map(|(m, t)| (m.to_string(), t.to_string()))
        .collect();
    assert_eq!(
        token_callable, documented,
        "the operations a customer token may call are the documented ones"
    );

    // The positive controls may issue rewards; the refused cells after them must not.
    let mut own_cells = 0;
    for (op, row) in &rows {
        for place in &row.places {
            let Some(own) = Names::of(place.name()).and_then(Names::own) else {
                continue;
            };
            let a = w.send(op, &w.with(row, place, own)).await;
            assert!(
                (200..300).contains(&a.status),
                "{} {} naming the token's own {} ({own}): {} {}",
                op.method,
                op.template,
                place.name(),
                a.status,
                a.text
            );
            own_cells += 1;
        }
    }
    let before = ledger(&w.m, &w.campaign).await;

    let mut table = String::new();
    let mut cells = 0;
    let mut covered = BTreeSet::new();
    for (op, row) in &rows {
        for place in &row.places {
            let kind = Names::of(place.name()).expect("a scoped place");
            covered.insert(format!("{kind:?}"));
            let a = w.send(op, &w.with(row, place, kind.hostile())).await;
            let param = a.body["error"]["param"].as_str().unwrap_or("(none)");
            writeln!(
                table,
                "{:<6} {:<55} {:<22} {:<16} → {} {} param={param}",
                op.method,
                op.template,
                place.name(),
                kind.hostile(),
                a.status,
                a.code()
            )
            .unwrap();
            assert_eq!(
                (a.status, a.code(), param),
                (403, "forbidden", place.name()),
                "{} {} with {} = {}: {}",
                op.method,
                op.template,
                place.name(),
                kind.hostile(),
                a.text
            );
            assert!(
                a.body["error"]["request_id"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("req_")),
                "{}",
                a.text
            );
            cells += 1;
        }
    }
    println!(
        "customer-token scope matrix ({cells} cells, {own_cells} own-value controls):\n{table}"
    );
    assert_eq!(
        ledger(&w.m, &w.campaign).await,
        before,
        "a refused request issued or charged nothing"
    );
    // The document names each kind somewhere a token can send it; a matrix without them would
    // prove nothing.
    for kind in ["Customer", "Marketplace", "Segment", "Group", "Ip"] {
        assert!(
            covered.contains(kind),
            "no cell names a {kind}: {covered:?}"
        );
    }
}

#[tokio::test]
async fn a_token_gets_its_own_segments_tier_whatever_it_sends() {
    let m = Mock::start().await;
    let campaign = tiered_campaign(&m).await;
    let new = mint(&m, "cust_tier_new", Some("new")).await;
    let none = mint(&m, "cust_tier_none", None).await;
    let trigger = |token: String, body: Value| {
        let m = &m;
        async move {
            m.call(
                "POST",
                "/v1/triggers",
                Some(&token),
                Some(&m.idem()),
                Some(&body),
            )
            .await
        }
    };
    let base = json!({"campaign_id": campaign, "moment_id": MOMENT, "device": {"type": "iOS"}});
    let mut claim_top = base.clone();
    claim_top["customer"] = json!({"id": "cust_tier_new", "marketplace": "US", "segment": "top"});
    let a = trigger(new.clone(), claim_top).await;
    assert_eq!((a.status, a.code()), (403, "forbidden"), "{}", a.text);
    assert_eq!(a.body["error"]["param"], "customer.segment");
    // A token without a segment cannot pick one either.
    let mut claim_top = base.clone();
    claim_top["customer"] = json!({"id": "cust_tier_none", "marketplace": "US", "segment": "top"});
    let a = trigger(none.clone(), claim_top).await;
    assert_eq!(a.body["error"]["param"], "customer.segment", "{}", a.text);
    let mut forced = base.clone();
    forced["reward_group_id"] = json!("us_top");
    let a = trigger(new.clone(), forced).await;
    assert_eq!(a.body["error"]["param"], "reward_group_id", "{}", a.text);
    let info = m
        .call(
            "GET",
            &format!("/v1/campaigns/{campaign}/moments/{MOMENT}/reward_info?segment=top"),
            Some(&new),
            None,
            None,
        )
        .await;
    assert_eq!(info.body["error"]["param"], "segment", "{}", info.text);

    // What each token does get: its own tier.
    let info = m
        .call(
            "GET",
            &format!("/v1/campaigns/{campaign}/moments/{MOMENT}/reward_info"),
            Some(&new),
            None,
            None,
        )
        .await;
    assert_eq!(info.body["reward_group_id"], "us_new", "{}", info.text);
    let a = trigger(new, base.clone()).await;
    assert_eq!(a.body["reward"]["reward_group_id"], "us_new", "{}", a.text);
    assert_eq!(a.body["reward"]["cost"]["amount"], 100);
    let a = trigger(none, base).await;
    assert_eq!(a.body["reward"]["reward_group_id"], "us_ab", "{}", a.text);
    // The secret key may still force a group for its customer.
    let a = m
        .post(
            "/v1/triggers",
            json!({"campaign_id": campaign, "moment_id": MOMENT, "reward_group_id": "us_top",
                   "customer": {"id": "cust_vip", "marketplace": "US", "segment": "top"},
                   "device": {"type": "Android"}}),
        )
        .await;
    assert_eq!(a.body["reward"]["reward_group_id"], "us_top", "{}", a.text);
    assert_eq!(a.body["reward"]["cost"]["amount"], 20_000);
}

#[tokio::test]
async fn a_tokens_ip_is_the_connections_so_ip_velocity_holds() {
    let m = Mock::start().await;
    let mut body = m.campaign_body(-60, 500_000, 100).await;
    body["fraud"] = json!({"max_actions_per_ip_per_hour": 3});
    let campaign = m.launch(body).await;
    let trig = |token: String, ip: Option<&'static str>| {
        let m = &m;
        let campaign = campaign.clone();
        async move {
            let mut device = json!({"type": "Android", "id": format!("dev-{token}")});
            if let Some(ip) = ip {
                device["ip"] = json!(ip);
            }
            m.call(
                "POST",
                "/v1/triggers",
                Some(&token),
                Some(&m.idem()),
                Some(&json!({"campaign_id": campaign, "moment_id": "m1", "device": device})),
            )
            .await
        }
    };
    // Every call from this connection's address counts, whatever the body would say: a new
    // `device.ip` per call is refused outright.
    for (i, ip) in ["198.51.100.1", "198.51.100.2"].into_iter().enumerate() {
        let t = mint(&m, &format!("cust_ip_spoof_{i}"), None).await;
        let a = trig(t, Some(ip)).await;
        assert_eq!((a.status, a.code()), (403, "forbidden"), "{}", a.text);
        assert_eq!(a.body["error"]["param"], "device.ip");
    }
    for i in 0..3 {
        let t = mint(&m, &format!("cust_ip_{i}"), None).await;
        let a = trig(t, None).await;
        assert_eq!(a.status, 200, "call {i}: {}", a.text);
    }
    let t = mint(&m, "cust_ip_3", None).await;
    let a = trig(t, None).await;
    assert_eq!(
        (a.status, a.code()),
        (429, "velocity_limit_exceeded"),
        "the fourth customer from one address in an hour: {}",
        a.text
    );
    assert!(a.header("retry-after").is_some());
}
