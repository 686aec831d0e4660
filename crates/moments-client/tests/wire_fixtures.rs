//! Wire-format contract: every shared fixture in `tests/fixtures/wire/` decodes into the client's
//! model for its `schema` and re-encodes without losing any field the model knows.
//!
//! A field present in a fixture with a non-null value that the model does not know makes the test
//! fail too (except `object`, which the models leave out), so a contract field the client forgot
//! is caught here.

use std::path::PathBuf;

use moments_client::ErrorCode;
use moments_client::models::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wire")
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn same_time(a: &str, b: &str) -> bool {
    let p = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    matches!((p(a), p(b)), (Some(x), Some(y)) if x == y)
}

/// Compares `original` (the fixture) with `reencoded` (through the model), collecting problems.
fn compare(
    path: &str,
    original: &Value,
    reencoded: &Value,
    unknown_ok: &[&str],
    problems: &mut Vec<String>,
) {
    match (original, reencoded) {
        (Value::Object(o), Value::Object(r)) => {
            for (k, ov) in o {
                let p = format!("{path}.{k}");
                match r.get(k) {
                    Some(rv) => compare(&p, ov, rv, unknown_ok, problems),
                    None if is_empty(ov) || unknown_ok.contains(&k.as_str()) => {}
                    None => problems.push(format!("{p}: not in the model (value {ov})")),
                }
            }
            for (k, rv) in r {
                if !o.contains_key(k) && !is_empty(rv) {
                    problems.push(format!("{path}.{k}: invented by the model ({rv})"));
                }
            }
        }
        (Value::Array(o), Value::Array(r)) => {
            if o.len() != r.len() {
                problems.push(format!("{path}: {} items became {}", o.len(), r.len()));
            }
            for (i, (ov, rv)) in o.iter().zip(r).enumerate() {
                compare(&format!("{path}[{i}]"), ov, rv, unknown_ok, problems);
            }
        }
        (Value::String(a), Value::String(b)) if a == b || same_time(a, b) => {}
        (a, b) if a == b => {}
        (a, b) => problems.push(format!("{path}: {a} became {b}")),
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(
    body: &Value,
    unknown_ok: &[&str],
) -> Result<T, String> {
    let model: T = serde_json::from_value(body.clone()).map_err(|e| format!("decode: {e}"))?;
    let re = serde_json::to_value(&model).map_err(|e| format!("encode: {e}"))?;
    let mut problems = Vec::new();
    compare("$", body, &re, unknown_ok, &mut problems);
    if problems.is_empty() {
        Ok(model)
    } else {
        Err(problems.join("\n  "))
    }
}

#[derive(serde::Deserialize, Serialize)]
struct Envelope {
    error: ErrorBody,
}

#[derive(serde::Deserialize, Serialize)]
struct ErrorBody {
    code: ErrorCode,
    message: String,
    param: Option<String>,
    request_id: Option<String>,
    retryable: bool,
}

fn check(schema: &str, body: &Value, headers: &Value) -> Result<(), String> {
    const OBJ: &[&str] = &["object"];
    match schema {
        "App" => round_trip::<App>(body, OBJ).map(drop),
        "ApiKey" => round_trip::<ApiKey>(body, OBJ).map(drop),
        "ApiKeyList" => round_trip::<Page<ApiKey>>(body, OBJ).map(drop),
        "CustomerToken" => round_trip::<CustomerToken>(body, OBJ).map(drop),
        "Item" => round_trip::<Item>(body, OBJ).map(drop),
        "ItemList" => round_trip::<Page<Item>>(body, OBJ).map(drop),
        "Campaign" => round_trip::<Campaign>(body, OBJ).map(drop),
        "CampaignList" => round_trip::<Page<Campaign>>(body, OBJ).map(drop),
        "TriggerResult" => {
            let r = round_trip::<TriggerResult>(body, OBJ)?;
            match r.outcome {
                Outcome::Reward if r.reward.is_some() => Ok(()),
                Outcome::Progress if r.progress.is_some() => Ok(()),
                o => Err(format!("outcome {o} without its object")),
            }
        }
        "Reward" => round_trip::<Reward>(body, OBJ).map(drop),
        "RewardList" => round_trip::<Page<Reward>>(body, OBJ).map(drop),
        "Redemption" => round_trip::<Redemption>(body, OBJ).map(drop),
        "Progress" => round_trip::<Progress>(body, OBJ).map(drop),
        "ProgressList" => round_trip::<Page<Progress>>(body, OBJ).map(drop),
        "RewardInfo" => round_trip::<RewardInfo>(body, OBJ).map(drop),
        "FraudReview" => round_trip::<FraudReview>(body, OBJ).map(drop),
        "FraudReviewList" => round_trip::<Page<FraudReview>>(body, OBJ).map(drop),
        "Report" => round_trip::<Report>(body, OBJ).map(drop),
        "WebhookEndpoint" => round_trip::<WebhookEndpoint>(body, OBJ).map(drop),
        "WebhookEndpointList" => round_trip::<Page<WebhookEndpoint>>(body, OBJ).map(drop),
        "CompatResponse" => round_trip::<LegacyRewardResponse>(body, &["errorCode"]).map(drop),
        "Event" => {
            let ev = round_trip::<Event>(body, OBJ)?;
            if matches!(ev.event_type, EventType::Unknown(_)) {
                return Err(format!("unknown event type {}", ev.event_type));
            }
            match ev.object() {
                EventObject::Other(_) => {
                    Err("event object did not decode into a typed model".into())
                }
                EventObject::Reward(r) => {
                    round_trip::<Reward>(&serde_json::to_value(&*r).unwrap(), OBJ).map(drop)
                }
                _ => Ok(()),
            }
        }
        "ErrorEnvelope" => {
            let env = round_trip::<Envelope>(body, &[])?;
            if let ErrorCode::Unknown(c) = &env.error.code {
                return Err(format!("error code {c:?} is not in the client's ErrorCode"));
            }
            let header_id = headers
                .as_object()
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("x-request-id"))
                })
                .and_then(|(_, v)| v.as_str());
            if let (Some(h), Some(b)) = (header_id, env.error.request_id.as_deref())
                && h != b
            {
                return Err(format!(
                    "X-Request-Id {h} differs from error.request_id {b}"
                ));
            }
            Ok(())
        }
        other => Err(format!(
            "schema {other:?} has no client model mapped in this test"
        )),
    }
}

#[test]
fn every_wire_fixture_round_trips_through_the_client_models() {
    let dir = fixtures_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no wire fixtures in {}", dir.display());
    let mut failures = Vec::new();
    for f in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let Some(schema) = doc.get("schema").and_then(|s| s.as_str()) else {
            failures.push(format!("{name}: no `schema`"));
            continue;
        };
        let body = &doc["response"]["body"];
        if let Err(e) = check(schema, body, &doc["response"]["headers"]) {
            failures.push(format!("{name} ({schema}):\n  {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn the_comparison_catches_lost_and_unknown_fields() {
    let mut body = serde_json::json!({"object": "app", "id": "app_1", "account_id": "acct_1", "name": "Demo",
        "legacy_api_key_hint": null, "created_at": "2026-11-23T10:00:00Z"});
    round_trip::<App>(&body, &["object"]).unwrap();
    body["surprise"] = "value".into();
    let err = round_trip::<App>(&body, &["object"]).unwrap_err();
    assert!(err.contains("$.surprise"), "{err}");
    body.as_object_mut().unwrap().remove("surprise");
    body["created_at"] = "2026-11-23T10:00:00.000Z".into();
    round_trip::<App>(&body, &["object"]).unwrap();
}
