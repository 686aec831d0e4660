//! What the handlers' annotations cannot say, written into the generated OpenAPI document:
//! unique operation ids, optional bodies, the query parameters' rules, the money rules of
//! request bodies, and the links between operations (which response field feeds which request).

use serde_json::{Map, Value, json};

use crate::domain::ledger::{CAMPAIGN_CAP, MIN_BUDGET};
use crate::domain::money::MARKETPLACES;
use crate::http::extract::{LIMIT_DEFAULT, LIMIT_MAX, LIMIT_MIN};
use crate::http::pagination::CURSOR_PATTERN;

/// Applies every addition, in order.
pub fn apply(doc: &mut Value) {
    unique_operation_ids(doc);
    optional_bodies(doc);
    schemas(doc);
    query_parameters(doc);
    links(doc);
}

/// Brand-chosen ids and segments (`crate::domain::principal::valid_label`).
const LABEL_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn operations(doc: &mut Value) -> impl Iterator<Item = (String, String, &mut Value)> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .flat_map(|(path, item)| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|m| m.iter_mut())
                .filter(|(method, _)| METHODS.contains(&method.as_str()))
                .map(move |(method, op)| (method.clone(), path.clone(), op))
        })
}

/// utoipa names an operation after its handler, so `get`, `list`, `create` and `submit` recur:
/// those become `<tag>_<name>` (`campaigns_get`, `redemption_submit`); unique names stay.
fn unique_operation_ids(doc: &mut Value) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for (_, _, op) in operations(doc) {
        if let Some(id) = op["operationId"].as_str() {
            *seen.entry(id.to_owned()).or_default() += 1;
        }
    }
    for (_, _, op) in operations(doc) {
        let Some(id) = op["operationId"].as_str().map(str::to_owned) else {
            continue;
        };
        if seen[&id] > 1 {
            let tag = op["tags"][0].as_str().unwrap_or("api").to_owned();
            op["operationId"] = json!(format!("{tag}_{id}"));
        }
    }
}

/// The server reads an empty body as `{}`, so a body none of whose fields is required may be left
/// out (`POST /v1/api_keys`, `PATCH /v1/campaigns/{id}`, …): the document says so.
fn optional_bodies(doc: &mut Value) {
    let schemas = doc["components"]["schemas"].clone();
    for (_, _, op) in operations(doc) {
        let Some(body) = op.get_mut("requestBody") else {
            continue;
        };
        let Some(r) = body["content"]["application/json"]["schema"]["$ref"].as_str() else {
            continue;
        };
        let s = &schemas[r.trim_start_matches("#/components/schemas/")];
        let none_required = s["required"].as_array().is_none_or(Vec::is_empty);
        if s.is_object() && none_required {
            body["required"] = json!(false);
        }
    }
}

fn usd(min: i64, max: i64, nullable: bool) -> Value {
    let mut s = json!({
        "type": "object",
        "description": "Money in USD cents.",
        "required": ["amount", "currency"],
        "properties": {
            "amount": {"type": "integer", "format": "int64", "minimum": min, "maximum": max},
            "currency": {"type": "string", "enum": ["USD"]}
        },
        "additionalProperties": false
    });
    if nullable {
        s = json!({"oneOf": [{"type": "null"}, s]});
    }
    s
}

/// Request body rules on shared types: budgets and costs are USD within the campaign cap,
/// marketplaces and event types are the known codes, segments are labels.
fn schemas(doc: &mut Value) {
    let s = &mut doc["components"]["schemas"];
    s["Marketplace"] = json!({
        "type": "string",
        "description": "A marketplace code.",
        "enum": MARKETPLACES,
    });
    s["EventType"] = json!({
        "type": "string",
        "description": "A webhook event type.",
        "enum": crate::domain::webhooks::EVENT_TYPES,
    });
    let market = json!({"$ref": "#/components/schemas/Marketplace"});
    let label = json!({"type": "string", "pattern": LABEL_PATTERN});
    let set = |s: &mut Value, schema: &str, field: &str, v: Value| {
        let Some(p) = s.pointer_mut(&format!("/{schema}/properties/{field}")) else {
            return;
        };
        let description = p.get("description").cloned();
        *p = v;
        if let (Some(d), Some(o)) = (description, p.as_object_mut()) {
            o.insert("description".into(), d);
        }
    };
    for (schema, nullable) in [("CampaignCreate", false), ("CampaignUpdate", true)] {
        set(s, schema, "budget", usd(MIN_BUDGET, CAMPAIGN_CAP, nullable));
        // ≤ the budget too, which JSON Schema cannot compare.
        set(s, schema, "cost_per_action", usd(1, CAMPAIGN_CAP, nullable));
        let mut markets = json!({"type": "array", "items": market, "minItems": 1,
            "maxItems": MARKETPLACES.len(), "uniqueItems": true});
        if nullable {
            markets["type"] = json!(["array", "null"]);
        }
        set(s, schema, "marketplaces", markets);
    }
    for schema in ["RewardGroup", "Variant"] {
        set(s, schema, "cost_per_action", usd(1, CAMPAIGN_CAP, true));
    }
    set(s, "RewardGroup", "marketplace", market.clone());
    set(
        s,
        "RewardGroup",
        "segments",
        json!({"type": "array", "items": label}),
    );
    set(s, "CustomerTokenCreate", "marketplace", market.clone());
    set(
        s,
        "WebhookEndpointCreate",
        "url",
        json!({"type": "string", "maxLength": crate::domain::webhooks::URL_MAX_LEN,
            "pattern": crate::domain::webhooks::URL_PATTERN}),
    );
    set(
        s,
        "WebhookSecretRotate",
        "expires_in_seconds",
        json!({"type": ["integer", "null"], "format": "int64", "minimum": 0,
            "maximum": crate::domain::webhooks::ROTATION_OVERLAP_MAX_SECONDS}),
    );
    set(s, "TriggerCustomer", "marketplace", market);
    set(
        s,
        "WebhookEndpointCreate",
        "events",
        json!({"type": "array", "items": {"$ref": "#/components/schemas/EventType"}}),
    );
}

/// Query parameters are read as strings by the handlers; their rules, by name and path.
fn query_parameters(doc: &mut Value) {
    let enum_ref = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    for (_, path, op) in operations(doc) {
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for p in params.iter_mut().filter(|p| p["in"] == "query") {
            let schema = match (p["name"].as_str().unwrap_or(""), path.as_str()) {
                ("limit", _) => json!({"type": "integer", "minimum": LIMIT_MIN,
                    "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT}),
                ("cursor", _) => json!({"type": "string", "pattern": CURSOR_PATTERN}),
                ("marketplace", _) => enum_ref("Marketplace"),
                ("status", "/v1/campaigns") => enum_ref("CampaignStatus"),
                ("status", "/v1/rewards") => enum_ref("RewardStatus"),
                ("status", "/v1/fraud_reviews") => {
                    json!({"type": "string", "enum": ["held", "released", "blocked"]})
                }
                ("kind", _) => enum_ref("ItemKind"),
                ("segment", _) => json!({"type": "string", "pattern": LABEL_PATTERN}),
                ("from" | "to", "/v1/reports") => json!({"type": "string", "format": "date"}),
                ("group_by", "/v1/reports") => json!({"type": "string",
                    "enum": ["moment", "marketplace", "segment", "variant", "day"]}),
                _ => continue,
            };
            // The server reads an empty parameter (`?cursor=`) as an absent one.
            p["schema"] = json!({"anyOf": [schema, {"type": "string", "maxLength": 0}]});
        }
        for p in params
            .iter_mut()
            .filter(|p| p["in"] == "header" && p["name"] == "Idempotency-Key")
        {
            // Printable ASCII; no space at either end, which HTTP would strip.
            p["schema"] = json!({"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": "^[\\x21-\\x7E](?:[\\x20-\\x7E]*[\\x21-\\x7E])?$"});
        }
        // With a secret key the marketplace is required (a customer token carries its own).
        if path == "/v1/campaigns/{id}/moments/{moment_id}/reward_info" {
            for p in params.iter_mut().filter(|p| p["name"] == "marketplace") {
                p["required"] = json!(true);
                p["schema"] = enum_ref("Marketplace");
            }
        }
    }
}

/// One link: from the response `status` of (`method`, `path`) to the operation (`to_method`,
/// `to_path`), with parameters and an optional request body of runtime expressions.
struct Link {
    from: (&'static str, &'static str, &'static str),
    name: &'static str,
    to: (&'static str, &'static str),
    parameters: Value,
    body: Option<Value>,
}

const CAMPAIGN_LIFECYCLE: [(&str, &str, &str); 9] = [
    ("GetCampaign", "get", "/v1/campaigns/{id}"),
    ("UpdateCampaign", "patch", "/v1/campaigns/{id}"),
    ("SubmitCampaign", "post", "/v1/campaigns/{id}/submit"),
    ("ApproveCampaign", "post", "/v1/campaigns/{id}/approve"),
    ("RejectCampaign", "post", "/v1/campaigns/{id}/reject"),
    ("PauseCampaign", "post", "/v1/campaigns/{id}/pause"),
    ("ResumeCampaign", "post", "/v1/campaigns/{id}/resume"),
    ("EndCampaign", "post", "/v1/campaigns/{id}/end"),
    (
        "CampaignRewardInfo",
        "get",
        "/v1/campaigns/{id}/moments/{moment_id}/reward_info",
    ),
];

/// The operations that answer a Campaign, with the status of that answer.
const CAMPAIGN_SOURCES: [(&str, &str, &str); 9] = [
    ("post", "/v1/campaigns", "201"),
    ("get", "/v1/campaigns/{id}", "200"),
    ("patch", "/v1/campaigns/{id}", "200"),
    ("post", "/v1/campaigns/{id}/submit", "200"),
    ("post", "/v1/campaigns/{id}/approve", "200"),
    ("post", "/v1/campaigns/{id}/reject", "200"),
    ("post", "/v1/campaigns/{id}/pause", "200"),
    ("post", "/v1/campaigns/{id}/resume", "200"),
    ("post", "/v1/campaigns/{id}/end", "200"),
];

/// Operations taking a reward id, and the name of its path parameter.
const REWARD_TARGETS: [(&str, &str, &str, &str); 4] = [
    ("GetReward", "get", "/v1/rewards/{id}", "id"),
    ("CancelReward", "post", "/v1/rewards/{id}/cancel", "id"),
    (
        "ReleaseReward",
        "post",
        "/v1/fraud_reviews/{reward_id}/release",
        "reward_id",
    ),
    (
        "BlockReward",
        "post",
        "/v1/fraud_reviews/{reward_id}/block",
        "reward_id",
    ),
];

/// Operations taking a reward link's token.
const TOKEN_TARGETS: [(&str, &str, &str); 4] = [
    ("GetRedemption", "get", "/v1/redemptions/{token}"),
    ("Redeem", "post", "/v1/redemptions/{token}"),
    ("LandingPage", "get", "/r/{token}"),
    ("LandingForm", "post", "/r/{token}"),
];

fn link_table() -> Vec<Link> {
    let mut t = vec![];
    // A campaign: every lifecycle call, its reward info, a trigger on it, and a copy of it (a new
    // draft with the same definition, whose lifecycle is then free to run).
    for (from_method, from_path, status) in CAMPAIGN_SOURCES {
        for (name, method, path) in CAMPAIGN_LIFECYCLE {
            let mut parameters = json!({"path.id": "$response.body#/id"});
            if path.ends_with("/reward_info") {
                parameters["path.moment_id"] = json!("$response.body#/moments/0/id");
                parameters["query.marketplace"] = json!("$response.body#/marketplaces/0");
            }
            t.push(Link {
                from: (from_method, from_path, status),
                name,
                to: (method, path),
                parameters,
                body: None,
            });
        }
        t.push(Link {
            from: (from_method, from_path, status),
            name: "TriggerMoment",
            to: ("post", "/v1/triggers"),
            // A key of its own per trigger, so none replays or conflicts with another.
            parameters: json!({"header.Idempotency-Key": "$response.header.X-Request-Id"}),
            body: Some(json!({
                "campaign_id": "$response.body#/id",
                "moment_id": "$response.body#/moments/0/id",
                // Each answer has its own request id: a new customer per trigger.
                "customer": {"id": "$response.header.X-Request-Id",
                             "marketplace": "$response.body#/marketplaces/0"}
            })),
        });
    }
    for (from_method, from_path, status, base) in [
        ("get", "/v1/campaigns/{id}", "200", "$response.body#"),
        ("get", "/v1/campaigns", "200", "$response.body#/data/0"),
    ] {
        let field = |f: &str| json!(format!("{base}/{f}"));
        let copy: Map<String, Value> = [
            "name",
            "brand_name",
            "start_at",
            "end_at",
            "budget",
            "cost_per_action",
            "marketplaces",
            "reward_groups",
            "moments",
            "announcement_message",
            "redemption_message",
            "reward_expiry_seconds",
            "fraud",
        ]
        .into_iter()
        .map(|f| (f.to_owned(), field(f)))
        .collect();
        t.push(Link {
            from: (from_method, from_path, status),
            name: "CopyCampaign",
            to: ("post", "/v1/campaigns"),
            parameters: json!({}),
            body: Some(Value::Object(copy)),
        });
    }
    t.push(Link {
        from: ("get", "/v1/campaigns", "200"),
        name: "GetCampaign",
        to: ("get", "/v1/campaigns/{id}"),
        parameters: json!({"path.id": "$response.body#/data/0/id"}),
        body: None,
    });
    // A reward: read, cancel, release or block it; open and redeem its link.
    for (from_method, from_path, status, base) in [
        ("post", "/v1/triggers", "200", "$response.body#/reward"),
        ("get", "/v1/rewards", "200", "$response.body#/data/0"),
        ("get", "/v1/rewards/{id}", "200", "$response.body#"),
    ] {
        for (name, method, path, param) in REWARD_TARGETS {
            t.push(Link {
                from: (from_method, from_path, status),
                name,
                to: (method, path),
                parameters: json!({format!("path.{param}"): format!("{base}/id")}),
                body: None,
            });
        }
        for (name, method, path) in TOKEN_TARGETS {
            t.push(Link {
                from: (from_method, from_path, status),
                name,
                to: (method, path),
                parameters: json!({"path.token": format!("{base}/url#regex:/r/([^/?#]+)")}),
                body: (path == "/v1/redemptions/{token}" && method == "post")
                    .then(|| json!({"item_id": format!("{base}/offer/items/0/item_id")})),
            });
        }
    }
    t.push(Link {
        from: ("get", "/v1/fraud_reviews", "200"),
        name: "ReleaseReward",
        to: ("post", "/v1/fraud_reviews/{reward_id}/release"),
        parameters: json!({"path.reward_id": "$response.body#/data/0/reward_id"}),
        body: None,
    });
    t.push(Link {
        from: ("get", "/v1/fraud_reviews", "200"),
        name: "BlockReward",
        to: ("post", "/v1/fraud_reviews/{reward_id}/block"),
        parameters: json!({"path.reward_id": "$response.body#/data/0/reward_id"}),
        body: None,
    });
    // Catalog items, webhook endpoints.
    t.push(Link {
        from: ("get", "/v1/catalog/items", "200"),
        name: "GetItem",
        to: ("get", "/v1/catalog/items/{id}"),
        parameters: json!({"path.id": "$response.body#/data/0/id"}),
        body: None,
    });
    for (from_method, from_path, status, base) in [
        ("post", "/v1/webhook_endpoints", "201", "$response.body#"),
        (
            "get",
            "/v1/webhook_endpoints",
            "200",
            "$response.body#/data/0",
        ),
    ] {
        for (name, method, path) in [
            ("GetWebhookEndpoint", "get", "/v1/webhook_endpoints/{id}"),
            (
                "DeleteWebhookEndpoint",
                "delete",
                "/v1/webhook_endpoints/{id}",
            ),
            (
                "RotateWebhookSecret",
                "post",
                "/v1/webhook_endpoints/{id}/rotate_secret",
            ),
        ] {
            t.push(Link {
                from: (from_method, from_path, status),
                name,
                to: (method, path),
                parameters: json!({"path.id": format!("{base}/id")}),
                body: None,
            });
        }
    }
    t
}

/// A path as a JSON pointer segment.
fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

fn operation_id(doc: &Value, method: &str, path: &str) -> Option<String> {
    doc["paths"][path][method]["operationId"]
        .as_str()
        .map(str::to_owned)
}

fn links(doc: &mut Value) {
    for l in link_table() {
        let (method, path, status) = l.from;
        // Operations another change removed (or has not added yet) get no link.
        let Some(target) = operation_id(doc, l.to.0, l.to.1) else {
            continue;
        };
        let Some(response) = doc
            .pointer_mut(&format!(
                "/paths/{}/{method}/responses/{status}",
                escape(path)
            ))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let mut link = json!({"operationId": target});
        if l.parameters.as_object().is_some_and(|p| !p.is_empty()) {
            link["parameters"] = l.parameters;
        }
        if let Some(b) = l.body {
            link["requestBody"] = b;
        }
        if l.name == "CopyCampaign" {
            // The copy is the whole body, not fields to merge into a generated one.
            link["x-schemathesis"] = json!({"merge_body": false});
        }
        response
            .entry("links")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("links is an object")
            .insert(l.name.to_owned(), link);
    }
}
