//! The campaign lifecycle table of docs/api.md, call by call, over HTTP.

use moments_e2e::mock::Mock;
use serde_json::{Value, json};

/// Puts a new campaign in `status` and returns its id.
async fn in_status(m: &Mock, status: &str) -> String {
    let start = if status == "approved" { 86_400 } else { -60 };
    let body = m.campaign_body(start, 10_000, 500).await;
    let id = m.post("/v1/campaigns", body).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let steps: &[&str] = match status {
        "draft" => &[],
        "pending_approval" => &["submit"],
        "rejected" => &["submit", "reject"],
        "approved" | "live" => &["submit", "approve"],
        "suspended" => &["submit", "approve", "pause"],
        "finished" => &["end"],
        _ => unreachable!(),
    };
    for s in steps {
        let body = if *s == "reject" {
            json!({"reason": "Image too small"})
        } else {
            json!({})
        };
        let a = m.post(&format!("/v1/campaigns/{id}/{s}"), body).await;
        assert_eq!(a.status, 200, "{s}: {}", a.text);
    }
    assert_eq!(
        m.get(&format!("/v1/campaigns/{id}")).await.body["status"],
        status
    );
    id
}

#[tokio::test]
async fn every_lifecycle_call_follows_the_table() {
    let m = Mock::start().await;
    // (from, call, Some(to) or None for 409 invalid_state_transition)
    type Row<'a> = (&'a str, &'a [(&'a str, Option<&'a str>)]);
    let table: &[Row] = &[
        (
            "draft",
            &[
                ("submit", Some("pending_approval")),
                ("approve", None),
                ("reject", None),
                ("pause", None),
                ("resume", None),
                ("end", Some("finished")),
            ],
        ),
        (
            "pending_approval",
            &[
                ("submit", None),
                ("approve", Some("live")),
                ("reject", Some("rejected")),
                ("pause", None),
                ("resume", None),
                ("end", Some("finished")),
            ],
        ),
        (
            "rejected",
            &[
                ("submit", Some("pending_approval")),
                ("approve", None),
                ("reject", None),
                ("pause", None),
                ("resume", None),
                ("end", Some("finished")),
            ],
        ),
        (
            "approved",
            &[
                ("submit", None),
                ("approve", None),
                ("reject", None),
                ("pause", Some("suspended")),
                ("resume", None),
                ("end", Some("finished")),
            ],
        ),
        (
            "live",
            &[
                ("submit", None),
                ("approve", None),
                ("reject", None),
                ("pause", Some("suspended")),
                ("resume", None),
                ("end", Some("finished")),
            ],
        ),
        (
            "suspended",
            &[
                ("submit", None),
                ("approve", None),
                ("reject", None),
                ("pause", None),
                ("resume", Some("live")),
                ("end", Some("finished")),
            ],
        ),
        (
            "finished",
            &[
                ("submit", None),
                ("approve", None),
                ("reject", None),
                ("pause", None),
                ("resume", None),
                ("end", None),
            ],
        ),
    ];
    for (from, calls) in table {
        for (call, to) in calls.iter() {
            let id = in_status(&m, from).await;
            let body = if *call == "reject" {
                json!({"reason": "No"})
            } else {
                json!({})
            };
            let a = m.post(&format!("/v1/campaigns/{id}/{call}"), body).await;
            match to {
                Some(to) => assert_eq!(
                    (a.status, a.body["status"].as_str()),
                    (200, Some(*to)),
                    "{from} --{call}--> {}",
                    a.text
                ),
                None => {
                    assert_eq!(
                        (a.status, a.code()),
                        (409, "invalid_state_transition"),
                        "{from} --{call}"
                    );
                    assert_eq!(a.body["error"]["param"], "status");
                    assert_eq!(
                        m.get(&format!("/v1/campaigns/{id}")).await.body["status"],
                        *from,
                        "nothing changed"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn patch_rules_by_status_and_the_clock_driven_states() {
    let m = Mock::start().await;
    let key = m.key.clone();
    let patch = |id: String, body: Value| {
        let (m, key) = (&m, key.clone());
        async move {
            m.call(
                "PATCH",
                &format!("/v1/campaigns/{id}"),
                Some(&key),
                None,
                Some(&body),
            )
            .await
        }
    };
    // Draft and rejected: any field.
    for st in ["draft", "rejected"] {
        let id = in_status(&m, st).await;
        let a = patch(id, json!({"marketplaces": ["US", "UK"], "reward_groups": [
            {"id": "US", "marketplace": "US", "items": ["itm_gc_10"]}, {"id": "UK", "marketplace": "UK", "items": ["itm_gc_10"]}]})).await;
        assert_eq!(a.status, 200, "{st}: {}", a.text);
        assert_eq!(a.body["marketplaces"], json!(["US", "UK"]));
    }
    // Pending and finished: nothing.
    for st in ["pending_approval", "finished"] {
        let id = in_status(&m, st).await;
        assert_eq!(
            patch(id, json!({"name": "x"})).await.code(),
            "invalid_state_transition"
        );
    }
    // Approved / live / suspended: limited fields.
    for st in ["approved", "live", "suspended"] {
        let id = in_status(&m, st).await;
        let ok = patch(id.clone(), json!({"name": "Renamed", "redemption_message": "Thanks!", "budget": {"amount": 20000, "currency": "USD"}})).await;
        assert_eq!(ok.status, 200, "{st}: {}", ok.text);
        assert_eq!(ok.body["name"], "Renamed");
        let locked = patch(
            id.clone(),
            json!({"cost_per_action": {"amount": 100, "currency": "USD"}}),
        )
        .await;
        assert_eq!(
            (locked.status, locked.body["error"]["param"].as_str()),
            (409, Some("cost_per_action"))
        );
        let past = patch(id, json!({"end_at": "2001-01-01T00:00:00Z"})).await;
        assert_eq!(
            (past.status, past.body["error"]["param"].as_str()),
            (400, Some("end_at"))
        );
    }
    // Approved → live at start_at; suspended stays suspended past end_at and resumes to finished.
    let a = in_status(&m, "approved").await;
    let s = in_status(&m, "suspended").await;
    m.advance(86_400).await;
    assert_eq!(
        m.get(&format!("/v1/campaigns/{a}")).await.body["status"],
        "live"
    );
    m.advance(61 * 86_400).await;
    assert_eq!(
        m.get(&format!("/v1/campaigns/{a}")).await.body["status"],
        "finished"
    );
    assert_eq!(
        m.get(&format!("/v1/campaigns/{s}")).await.body["status"],
        "suspended"
    );
    let r = m
        .post(&format!("/v1/campaigns/{s}/resume"), json!({}))
        .await;
    assert_eq!(r.body["status"], "finished");
    // Rejection keeps its reason; listing filters by status.
    let rj = in_status(&m, "rejected").await;
    assert_eq!(
        m.get(&format!("/v1/campaigns/{rj}")).await.body["rejection_reason"],
        "Image too small"
    );
    let l = m.get("/v1/campaigns?status=rejected").await;
    assert!(
        l.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "rejected")
    );
    assert_eq!(
        m.get("/v1/campaigns?status=bogus").await.body["error"]["param"],
        "status"
    );
}
