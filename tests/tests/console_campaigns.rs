//! The Moments Console's campaigns over plain HTTP: the form creates what the API creates, the
//! API's validation errors show beside their fields, each status shows exactly the lifecycle
//! actions the API allows, names are escaped, and one app never sees another's campaigns.

use moments_e2e::console::{ConsoleClient, Page};
use moments_e2e::mock::Mock;
use serde_json::{Value, json};

/// The form of a campaign in US and UK, starting in an hour, with a goal, a cap and an A/B test.
fn campaign_form(name: &str) -> Vec<(String, String)> {
    let now = chrono::Utc::now();
    let t = |h: i64| {
        (now + chrono::Duration::hours(h))
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    [
        ("name", name.to_string()),
        ("brand_name", "Acme Fitness".into()),
        ("start_at", t(1)),
        ("end_at", t(24 * 30)),
        ("budget.amount", "1000.00".into()),
        ("cost_per_action.amount", "5".into()),
        ("marketplaces", "US".into()),
        ("marketplaces", "UK".into()),
        ("moments[0].id", "first_run".into()),
        ("moments[0].name", "First run".into()),
        ("moments[0].client_reportable", "true".into()),
        ("moments[1].id", "ten_runs".into()),
        ("moments[1].goal.target", "10".into()),
        ("moments[1].goal.window_seconds", "2592000".into()),
        ("moments[1].frequency_cap.max_rewards", "2".into()),
        ("moments[1].frequency_cap.period_seconds", "604800".into()),
        ("reward_groups[0].id", "US".into()),
        ("reward_groups[0].marketplace", "US".into()),
        ("reward_groups[0].items", "itm_gc_10".into()),
        ("reward_groups[0].items", "itm_echo_dot".into()),
        ("reward_groups[0].variants[0].id", "A".into()),
        ("reward_groups[0].variants[0].weight", "50".into()),
        ("reward_groups[0].variants[0].items", "itm_gc_10".into()),
        ("reward_groups[0].variants[1].id", "B".into()),
        ("reward_groups[0].variants[1].weight", "50".into()),
        ("reward_groups[0].variants[1].items", "itm_echo_dot".into()),
        ("reward_groups[1].id", "UK".into()),
        ("reward_groups[1].marketplace", "UK".into()),
        ("reward_groups[1].segments", "runners, walkers".into()),
        ("reward_groups[1].items", "itm_gc_10".into()),
        ("reward_groups[2].id", "UK-default".into()),
        ("reward_groups[2].marketplace", "UK".into()),
        ("reward_groups[2].items", "itm_echo_dot".into()),
        ("announcement_message", "Run and win".into()),
        ("redemption_message", "Pick your prize".into()),
        ("fraud.max_customers_per_device", "2".into()),
        ("op", "save".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

async fn post_form(c: &mut ConsoleClient, path: &str, form: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    c.post(path, &pairs).await
}

async fn api_campaign(m: &Mock, key: &str, id: &str) -> Value {
    m.call("GET", &format!("/v1/campaigns/{id}"), Some(key), None, None)
        .await
        .body
}

/// The lifecycle actions a campaign page offers (by their forms' paths), sorted.
fn offered(p: &Page, id: &str) -> Vec<String> {
    let prefix = format!("/console/campaigns/{id}/actions/");
    let mut v: Vec<String> = p
        .text
        .split('"')
        .filter_map(|s| s.strip_prefix(prefix.as_str()))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_campaign_made_in_the_form_goes_through_its_lifecycle_with_only_the_allowed_actions() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    c.get("/console/campaigns/new").await;
    let p = post_form(
        &mut c,
        "/console/campaigns/new",
        &campaign_form("Spring runs"),
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.text);
    let at = p.location().expect("to the campaign's page");
    let id = at.trim_start_matches("/console/campaigns/").to_string();

    let api = api_campaign(&m, &m.key, &id).await;
    assert_eq!(api["status"], "draft");
    assert_eq!(api["marketplaces"], json!(["US", "UK"]));
    assert_eq!(api["budget"]["amount"], 100_000);
    assert_eq!(
        api["reward_groups"][0]["variants"][1]["items"],
        json!(["itm_echo_dot"])
    );
    assert_eq!(
        api["reward_groups"][1]["segments"],
        json!(["runners", "walkers"])
    );
    assert_eq!(api["moments"][1]["goal"]["target"], 10);
    assert_eq!(
        api["moments"][1]["frequency_cap"]["period_seconds"],
        604_800
    );
    assert_eq!(api["moments"][0]["client_reportable"], true);
    assert_eq!(api["fraud"]["max_customers_per_device"], 2);

    let p = c.get(&at).await;
    assert_eq!(p.status, 200);
    assert!(p.text.contains("Created as a draft") || p.text.contains("created as a draft"));
    assert_eq!(offered(&p, &id), ["end", "submit"]);
    assert!(p.text.contains("Landing page preview"), "{}", p.text);
    assert!(p.text.contains("Pick your prize"));

    for (action, status, next) in [
        (
            "submit",
            "pending_approval",
            vec!["approve", "end", "reject"],
        ),
        ("approve", "approved", vec!["end", "pause"]),
        ("pause", "suspended", vec!["end", "resume"]),
        ("resume", "approved", vec!["end", "pause"]),
    ] {
        let r = c
            .post(&format!("/console/campaigns/{id}/actions/{action}"), &[])
            .await;
        assert_eq!(r.status, 303, "{action}: {}", r.text);
        assert_eq!(
            api_campaign(&m, &m.key, &id).await["status"],
            status,
            "{action}"
        );
        let p = c.get(&at).await;
        assert_eq!(offered(&p, &id), next, "after {action}");
        assert!(
            p.text.contains(&format!("status-{status}")),
            "after {action}"
        );
    }
    // An action the status refuses is refused as the API refuses it, and changes nothing.
    c.post(&format!("/console/campaigns/{id}/actions/submit"), &[])
        .await;
    let p = c.get(&at).await;
    assert!(
        p.text.contains("Cannot submit a campaign in status"),
        "{}",
        p.text
    );
    assert_eq!(api_campaign(&m, &m.key, &id).await["status"], "approved");

    // The clock reaches the start: live, with reward info per marketplace as the app would read it.
    m.server.advance_clock(2 * 3600).await;
    let p = c.get(&at).await;
    assert!(p.text.contains("status-live"));
    assert_eq!(offered(&p, &id), ["end", "pause"]);
    let info = m
        .call(
            "GET",
            &format!("/v1/campaigns/{id}/moments/first_run/reward_info?marketplace=UK"),
            Some(&m.key),
            None,
            None,
        )
        .await;
    assert_eq!(info.status, 200, "{}", info.text);
    let group = info.body["reward_group_id"].as_str().unwrap();
    assert!(
        p.text.contains(&format!("<code>{group}</code>")),
        "{}",
        p.text
    );

    let r = c
        .post(&format!("/console/campaigns/{id}/actions/end"), &[])
        .await;
    assert_eq!(r.status, 303);
    let p = c.get(&at).await;
    assert!(offered(&p, &id).is_empty(), "{:?}", offered(&p, &id));
    assert!(
        !p.text.contains(&format!("/console/campaigns/{id}/edit")),
        "a finished campaign is not editable"
    );
}

#[tokio::test]
async fn a_rejection_carries_its_reason_and_the_campaign_can_be_submitted_again() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    c.get("/console/campaigns/new").await;
    let at = post_form(
        &mut c,
        "/console/campaigns/new",
        &campaign_form("To reject"),
    )
    .await
    .location()
    .unwrap();
    let id = at.trim_start_matches("/console/campaigns/").to_string();
    c.post(&format!("/console/campaigns/{id}/actions/submit"), &[])
        .await;
    let r = c
        .post(
            &format!("/console/campaigns/{id}/actions/reject"),
            &[("reason", "Images missing")],
        )
        .await;
    assert_eq!(r.status, 303);
    let api = api_campaign(&m, &m.key, &id).await;
    assert_eq!(
        (api["status"].as_str(), api["rejection_reason"].as_str()),
        (Some("rejected"), Some("Images missing"))
    );
    let p = c.get(&at).await;
    assert!(p.text.contains("Images missing"));
    assert_eq!(offered(&p, &id), ["end", "submit"]);
}

#[tokio::test]
async fn the_api_validation_error_shows_beside_its_field_with_the_values_kept() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    c.get("/console/campaigns/new").await;
    let mut form = campaign_form("Too big");
    for (k, v) in form.iter_mut() {
        if k == "budget.amount" {
            *v = "6000".into();
        }
    }
    let p = post_form(&mut c, "/console/campaigns/new", &form).await;
    assert_eq!(p.status, 400, "{}", p.text);
    let field = p
        .text
        .find(r#"id="f-budget-amount""#)
        .expect("the budget field");
    let error = p
        .text
        .find(r#"id="f-budget-amount-error""#)
        .expect("its error");
    assert!(
        error > field && error - field < 600,
        "the error is beside the field"
    );
    assert!(p.text.contains("monthly budget must be"), "{}", p.text);
    assert!(
        p.text.contains(r#"value="Too big""#),
        "the typed values are kept"
    );

    // An item not sold in the group's marketplace: the error is beside that group's items.
    let mut form = campaign_form("Bad item");
    form.push(("reward_groups[1].items".into(), "itm_not_in_catalog".into()));
    let p = post_form(&mut c, "/console/campaigns/new", &form).await;
    assert_eq!(p.status, 400);
    assert!(
        p.text.contains("Unknown item `itm_not_in_catalog`"),
        "{}",
        p.text
    );
    assert!(p.text.contains("Reward group 2"));

    // "Add a moment" posts back a blank slot, saves nothing.
    let mut form = campaign_form("Growing");
    form.retain(|(k, _)| k != "op");
    form.push(("op".into(), "add_moment".into()));
    let p = post_form(&mut c, "/console/campaigns/new", &form).await;
    assert_eq!(p.status, 200);
    assert!(p.text.contains(r#"name="moments[2].id""#));
    let list = m
        .call("GET", "/v1/campaigns", Some(&m.key), None, None)
        .await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "only the demo campaign"
    );
}

#[tokio::test]
async fn a_live_campaign_is_edited_where_the_api_allows_it() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    let edit = format!("/console/campaigns/{}/edit", m.campaign);
    let p = c.get(&edit).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(
        p.text
            .contains("Once approved, these fields keep their values: brand_name, start_at")
    );
    // Post the form back as shown, with one change the API allows on a live campaign.
    let mut form: Vec<(String, String)> = form_values(&p.text);
    for (k, v) in form.iter_mut() {
        if k == "name" {
            *v = "Workouts, renamed".into();
        }
    }
    let r = post_form(&mut c, &edit, &form).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        api_campaign(&m, &m.key, &m.campaign).await["name"],
        "Workouts, renamed"
    );
    // One it refuses: the error beside the field.
    for (k, v) in form.iter_mut() {
        if k == "cost_per_action.amount" {
            *v = "7.00".into();
        }
    }
    let p = post_form(&mut c, &edit, &form).await;
    assert_eq!(p.status, 409, "{}", p.text);
    assert!(
        p.text.contains(r#"id="f-cost_per_action-amount-error""#),
        "{}",
        p.text
    );
}

/// The fields a browser would post from the page's campaign form (inputs with their values,
/// checked checkboxes, selected options, textareas).
fn form_values(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(
            tag[at..at + tag[at..].find('"')?]
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">"),
        )
    };
    let form = &html[html.find("class=\"campaign-form\"").unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    let mut out = vec![];
    for chunk in form.split('<').skip(1) {
        let tag = chunk.split('>').next().unwrap_or_default();
        if let Some(rest) = tag.strip_prefix("input ") {
            let kind = attr(rest, "type").unwrap_or_default();
            if kind == "checkbox" && !rest.contains(" checked") {
                continue;
            }
            if let (Some(n), Some(v)) = (attr(rest, "name"), attr(rest, "value")) {
                out.push((n, v));
            }
        } else if let Some(rest) = tag.strip_prefix("textarea ") {
            let n = attr(rest, "name").unwrap();
            let v = chunk.split_once('>').unwrap().1.to_string();
            out.push((n, v));
        } else if let Some(rest) = tag.strip_prefix("select ") {
            let n = attr(rest, "name").unwrap();
            let sel = form[form.find(&format!("name=\"{n}\"")).unwrap()..]
                .split("</select>")
                .next()
                .unwrap();
            let v = sel
                .split("<option ")
                .filter(|o| o.contains(" selected"))
                .find_map(|o| attr(&format!(" {o}"), "value"))
                .unwrap_or_default();
            out.push((n, v));
        }
    }
    out.push(("op".into(), "save".into()));
    out
}

#[tokio::test]
async fn a_campaign_named_like_a_script_renders_as_text() {
    let m = Mock::start().await;
    let mut form = campaign_form("<script>alert(1)</script>");
    form.retain(|(k, _)| k != "op");
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    c.get("/console/campaigns/new").await;
    let at = post_form(&mut c, "/console/campaigns/new", &form)
        .await
        .location()
        .unwrap();
    for path in ["/console/campaigns", at.as_str(), &format!("{at}/edit")] {
        let p = c.get(path).await;
        assert_eq!(p.status, 200, "{path}");
        assert!(!p.text.contains("<script>alert(1)</script>"), "{path}");
        assert!(
            p.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_second_app_sees_and_changes_none_of_the_first_apps_campaigns() {
    let m = Mock::start().await;
    let other = m
        .call(
            "POST",
            "/_mock/apps",
            None,
            None,
            Some(&json!({"name": "Other brand"})),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.text);
    let other_key = other.body["secret_key"].as_str().unwrap().to_string();
    let mut c = ConsoleClient::signed_in(&m.base, &other_key).await;
    let p = c.get("/console/campaigns").await;
    assert_eq!(p.status, 200);
    assert!(!p.text.contains(&m.campaign), "{}", p.text);
    assert!(p.text.contains("No campaign yet"));
    for path in [
        format!("/console/campaigns/{}", m.campaign),
        format!("/console/campaigns/{}/edit", m.campaign),
    ] {
        let p = c.get(&path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(!p.text.contains("Demo"), "{path}");
    }
    let r = c
        .post(
            &format!("/console/campaigns/{}/actions/pause", m.campaign),
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        api_campaign(&m, &m.key, &m.campaign).await["status"],
        "live"
    );
    // The sandbox page's "to the campaign's end" lists only its own campaigns.
    let p = c.get("/console/sandbox").await;
    assert!(!p.text.contains(&m.campaign));
    // And the app page is its own.
    let p = c.get("/console/app").await;
    assert!(p.text.contains(other.body["app_id"].as_str().unwrap()));
    assert!(!p.text.contains(m.server.demo().app_id.as_str()));
}

#[tokio::test]
async fn changing_a_groups_marketplace_shows_that_marketplaces_items_and_prices() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    let p = c.get("/console/campaigns/new").await;
    // The select posts the form back with htmx; the button beside it does without.
    assert!(
        p.text
            .contains(r#"hx-vals="{&quot;op&quot;:&quot;refresh&quot;}""#),
        "{}",
        p.text
    );
    let mut form = campaign_form("Refreshed");
    form.retain(|(k, _)| k != "op");
    form.push(("reward_groups[0].marketplace".into(), "JP".into()));
    form.retain(|(k, v)| !(k == "reward_groups[0].marketplace" && v == "US"));
    form.push(("op".into(), "refresh".into()));
    let p = post_form(&mut c, "/console/campaigns/new", &form).await;
    assert_eq!(p.status, 200, "{}", p.text);
    let group =
        &p.text[p.text.find("Reward group 1").unwrap()..p.text.find("Reward group 2").unwrap()];
    assert!(group.contains(" JPY"), "prices in yen");
    assert!(!group.contains(" USD"), "no dollar price in a JP group");
    let list = m
        .call("GET", "/v1/campaigns", Some(&m.key), None, None)
        .await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "nothing saved"
    );
}
