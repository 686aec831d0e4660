//! The Moments Console in a real browser: Debian's headless Chromium driven over WebDriver
//! (`common::browser`). A brand signs in, creates a campaign in two marketplaces, submits and approves
//! it, moves the clock until it is live; a trigger through the API shows up in the rewards list and the
//! journal without a reload; the customer redeems on the landing page; the clock moves to delivery; the
//! timeline, the report's chart and its CSV show it. Also: a script-like name renders as text, a form
//! post without the CSRF token is refused, a second app sees none of the first app's data.
//!
//! Screenshots of each page are written to `target/console-screenshots/`. Needs `chromium` and
//! `chromium-driver` (`cargo xtask ci` installs them); without them the test fails when `CI` is set and is
//! skipped, loudly, elsewhere.

mod common;

use std::path::PathBuf;

use common::browser::{Browser, start_driver};
use moments_e2e::mock::Mock;
use serde_json::{Value, json};

const NAME: &str = "<script>alert(1)</script>";

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots")
}

async fn shot(b: &Browser, name: &str) {
    b.screenshot(&screenshot_dir().join(format!("{name}.png")))
        .await;
}

/// Clicks the submit button of the form whose `action` ends with `action`.
async fn press(b: &Browser, action: &str) {
    let button = b
        .expect_when(&format!("form[action$='{action}'] button[type='submit']"))
        .await;
    b.click(&button).await;
}

/// Ticks a checkbox (inside a closed `<details>` too), as a click on its label would.
async fn tick(b: &Browser, css: &str) {
    b.expect_when(css).await;
    b.execute(
        "const e = document.querySelector(arguments[0]); if (!e.checked) e.click(); return e.checked;",
        json!([css]),
    )
    .await;
}

async fn fill(b: &Browser, name: &str, value: &str) {
    let input = b.expect_when(&format!("[name='{name}']")).await;
    b.type_into(&input, value).await;
}

async fn choose(b: &Browser, select: &str, value: &str) {
    let option = b
        .expect_when(&format!("select[name='{select}'] option[value='{value}']"))
        .await;
    b.click(&option).await;
}

/// Presses "Advance a day" on the sandbox page `days` times.
async fn advance_days(b: &Browser, base: &str, days: u32) {
    for _ in 0..days {
        b.goto(&format!("{base}/console/sandbox")).await;
        let button = b
            .expect_when(
                "form[action='/console/sandbox/clock/advance']:has(input[value='86400']) button",
            )
            .await;
        b.click(&button).await;
        b.text_when(|t| t.contains("Clock advanced")).await;
    }
}

/// A `GET` from the page (with its session cookie): status and body.
async fn fetch(b: &Browser, path: &str) -> (u16, String) {
    let v = b
        .execute(
            "return fetch(arguments[0]).then(async r => [r.status, await r.text()]);",
            json!([path]),
        )
        .await;
    (
        v[0].as_u64().expect("a status") as u16,
        v[1].as_str().expect("a body").to_owned(),
    )
}

/// The CSV the console should give for an API report (the columns of `reports::CSV_COLUMNS`).
fn csv_of(report: &Value) -> String {
    let line = |row: &str, key: &str, m: &Value| {
        let n = |k: &str| m[k].as_i64().expect(k).to_string();
        [
            row.to_owned(),
            key.to_owned(),
            n("actions"),
            n("rewards_issued"),
            n("rewards_redeemed"),
            n("rewards_expired"),
            n("rewards_flagged"),
            n("rewards_cancelled"),
            m["spend"]["amount"].as_i64().expect("spend").to_string(),
            m["refunds"]["amount"]
                .as_i64()
                .expect("refunds")
                .to_string(),
            m["spend"]["currency"]
                .as_str()
                .expect("currency")
                .to_owned(),
        ]
        .join(",")
            + "\n"
    };
    let mut out =
        "row,key,actions,rewards_issued,rewards_redeemed,rewards_expired,rewards_flagged,\
                   rewards_cancelled,spend,refunds,currency\n"
            .to_owned();
    for r in report["rows"].as_array().expect("rows") {
        out += &line("group", r["key"].as_str().expect("key"), &r["metrics"]);
    }
    out + &line("total", "", &report["totals"])
}

#[tokio::test]
async fn a_brand_runs_a_campaign_in_the_console_in_chromium() {
    let Some(driver) = start_driver("a_brand_runs_a_campaign_in_the_console_in_chromium").await
    else {
        return;
    };
    let m = Mock::start().await;
    let base = m.base.clone();
    let b = Browser::open(&driver).await;

    // Sign in with the app's secret key.
    b.goto(&format!("{base}/console/sign-in")).await;
    shot(&b, "01-sign-in").await;
    fill(&b, "secret_key", &m.key).await;
    press(&b, "/console/sign-in").await;
    let text = b.text_when(|t| t.contains("Sign out")).await;
    assert!(text.contains("Campaigns"), "signed in: {text}");

    // Create a campaign in US and UK, its name a script.
    b.goto(&format!("{base}/console/campaigns/new")).await;
    fill(&b, "name", NAME).await;
    fill(&b, "brand_name", "Acme Fitness").await;
    fill(&b, "announcement_message", "Run and win").await;
    fill(&b, "redemption_message", "Pick your prize").await;
    tick(&b, "input[name='marketplaces'][value='UK']").await;
    fill(&b, "moments[0].id", "first_run").await;
    tick(
        &b,
        "input[name='reward_groups[0].items'][value='itm_echo_dot']",
    )
    .await;
    let add_group = b.expect("button[value='add_group']").await;
    b.click(&add_group).await;
    b.expect_when("[name='reward_groups[1].id']").await;
    fill(&b, "reward_groups[1].id", "UK").await;
    choose(&b, "reward_groups[1].marketplace", "UK").await;
    tick(
        &b,
        "input[name='reward_groups[1].items'][value='itm_gc_10']",
    )
    .await;
    shot(&b, "02-campaign-form").await;
    let save = b.expect("button[value='save']").await;
    b.click(&save).await;
    b.expect_when("form[action$='/actions/submit']").await;
    let url = b.url().await;
    let campaign = url
        .rsplit('/')
        .next()
        .expect("the campaign's page")
        .to_owned();
    assert!(
        campaign.starts_with("cmp_"),
        "on the campaign's page: {url}"
    );
    let text = b.text().await;
    assert!(
        text.contains(NAME),
        "the name renders as text, not as a script: {text}"
    );
    assert!(!b.alert_open().await, "no script of the name ran");
    let api: Value = m.get(&format!("/v1/campaigns/{campaign}")).await.body;
    assert_eq!(api["name"], NAME);
    assert_eq!(api["marketplaces"], json!(["US", "UK"]), "{api}");

    // Submit, approve as the reviewer, move the clock until it is live.
    press(&b, "/actions/submit").await;
    b.expect_when("form[action$='/actions/approve']").await;
    press(&b, "/actions/approve").await;
    b.text_when(|t| t.contains("approved")).await;
    shot(&b, "03-campaign-approved").await;
    advance_days(&b, &base, 2).await;
    shot(&b, "04-sandbox").await;
    assert_eq!(
        m.get(&format!("/v1/campaigns/{campaign}")).await.body["status"],
        "live"
    );

    // The rewards list in one tab, the journal in another; then a trigger through the API.
    b.goto(&format!("{base}/console/rewards")).await;
    let rewards_tab = b.window().await;
    let journal_tab = b.new_window().await;
    b.switch_to(&journal_tab).await;
    b.goto(&format!("{base}/console/journal")).await;
    b.expect_when("#journal-rows").await;
    // The live stream is open once htmx connected it.
    b.text_when(|t| t.contains("Request journal")).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let trigger = m.trigger(&campaign, "first_run", "runner-1", "US").await;
    assert_eq!(trigger.status, 200, "{}", trigger.text);
    let reward = trigger.body["reward"].clone();
    let reward_id = reward["id"].as_str().expect("a reward").to_owned();
    let link = format!("#journal-rows a[href='/console/rewards/{reward_id}']");
    b.expect_when(&link).await;
    shot(&b, "05-journal-live").await;
    b.switch_to(&rewards_tab).await;
    b.expect_when(&format!("tr[data-reward='{reward_id}']"))
        .await;
    shot(&b, "06-rewards-live").await;

    // The customer redeems the physical item on the landing page.
    let physical = Mock::physical_item(&reward);
    b.goto(reward["url"].as_str().expect("a link")).await;
    let choice = b
        .expect_when(&format!("input[name='item_id'][value='{physical}']"))
        .await;
    b.click(&choice).await;
    for (field, value) in [
        ("name", "Ada Lovelace"),
        ("line1", "12 Analytical Row"),
        ("city", "Seattle"),
        ("postal_code", "98109"),
        ("country", "US"),
    ] {
        fill(&b, field, value).await;
    }
    let submit = b.expect("form [type='submit']").await;
    b.click(&submit).await;
    b.text_when(|t| t.contains("Thank you")).await;

    // Five days later it is delivered: the timeline shows each step.
    advance_days(&b, &base, 5).await;
    b.goto(&format!("{base}/console/rewards/{reward_id}")).await;
    for step in ["issued", "redeemed", "shipped", "delivered"] {
        b.expect_when(&format!("#timeline li[data-step='{step}']"))
            .await;
    }
    let status = b.expect("#reward-status").await;
    assert_eq!(b.element_text(&status).await, "delivered");
    shot(&b, "07-reward-timeline").await;

    // The report's charts show the reward, and its CSV is the API's report.
    b.goto(&format!("{base}/console/reports?campaign_id={campaign}"))
        .await;
    let bars = b
        .execute(
            "return [...document.querySelectorAll('#chart-marketplace rect.bar')]\
             .filter(r => parseFloat(r.getAttribute('width')) > 0).length;",
            json!([]),
        )
        .await;
    assert!(
        bars.as_u64().unwrap_or(0) >= 2,
        "actions and rewards drawn for US: {bars}"
    );
    shot(&b, "08-reports").await;
    for group_by in ["marketplace", "day", "variant"] {
        let (status, csv) = fetch(
            &b,
            &format!("/console/reports/csv?campaign_id={campaign}&group_by={group_by}"),
        )
        .await;
        assert_eq!(status, 200);
        let api = m
            .get(&format!(
                "/v1/reports?campaign_id={campaign}&group_by={group_by}"
            ))
            .await;
        assert_eq!(api.status, 200, "{}", api.text);
        assert_eq!(csv, csv_of(&api.body), "{group_by}");
    }
    let marketplace_csv = fetch(
        &b,
        &format!("/console/reports/csv?campaign_id={campaign}&group_by=marketplace"),
    )
    .await
    .1;
    assert!(
        marketplace_csv.contains("\ngroup,US,1,1,1,"),
        "{marketplace_csv}"
    );

    // The other pages render, for the screenshots.
    for (path, name) in [
        (format!("/console/campaigns/{campaign}"), "09-campaign-live"),
        ("/console/webhooks".to_owned(), "10-webhooks"),
        ("/console/app".to_owned(), "11-app"),
        ("/console/campaigns".to_owned(), "12-campaigns"),
    ] {
        b.goto(&format!("{base}{path}")).await;
        b.expect_when("main h1").await;
        shot(&b, name).await;
    }

    // A form post without the CSRF token is refused, and changes nothing.
    let refused = b
        .execute(
            "return fetch(arguments[0], {method: 'POST', headers: {'content-type': \
             'application/x-www-form-urlencoded'}, body: ''}).then(r => r.status);",
            json!([format!("/console/campaigns/{campaign}/actions/pause")]),
        )
        .await;
    assert_eq!(refused, 403);
    assert_eq!(
        m.get(&format!("/v1/campaigns/{campaign}")).await.body["status"],
        "live"
    );

    // A second app's key sees none of it.
    let other_key = m.new_app_key("Other brand").await;
    press(&b, "/console/sign-out").await;
    b.goto(&format!("{base}/console/sign-in")).await;
    fill(&b, "secret_key", &other_key).await;
    press(&b, "/console/sign-in").await;
    b.text_when(|t| t.contains("Sign out")).await;
    for path in [
        "/console/campaigns",
        "/console/rewards",
        "/console/journal",
        "/console/reports",
    ] {
        b.goto(&format!("{base}{path}")).await;
        let text = b.text_when(|t| t.contains("Sign out")).await;
        assert!(
            !text.contains(&campaign) && !text.contains(&reward_id) && !text.contains(NAME),
            "{path} shows the first app's data: {text}"
        );
    }
    // Asked for by id, the first app's campaign and reward are not found, as the API answers.
    for (path, not_found) in [
        (
            format!("/console/reports?campaign_id={campaign}"),
            "No campaign",
        ),
        (format!("/console/rewards/{reward_id}"), "No reward"),
        (format!("/console/campaigns/{campaign}"), "No campaign"),
    ] {
        b.goto(&format!("{base}{path}")).await;
        let text = b.text_when(|t| !t.is_empty()).await;
        assert!(
            text.contains(not_found) && !text.contains(NAME) && !text.contains("runner-1"),
            "{path}: {text}"
        );
    }
    shot(&b, "13-second-app").await;

    b.quit().await;
}
