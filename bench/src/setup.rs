//! Puts the mock in the state the load scripts need, over its public HTTP API.

use serde_json::{Value, json};

use crate::scenarios::{BENCH_ITEM, Fixture, replay_body};

/// The key of the root tenant's control API: its demo secret key. A shared sandbox (the mock's
/// PostgreSQL store implies one) acts on a tenant's control API (`/_mock/…`) only for a secret key of
/// that tenant; the in-memory mock accepts it too.
pub const ROOT_CONTROL_KEY: &str = moments_mock_server::DEMO_SECRET_KEY;

/// A control API call (`/_mock/…` under the tenant's base URL) with `key`, a secret key of the tenant.
fn control(req: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
    req.bearer_auth(key)
}

async fn call(req: reqwest::RequestBuilder) -> Result<Value, String> {
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("setup call failed with {status}: {body}"));
    }
    Ok(body)
}

/// Loads a digital item with ample stock, creates a live campaign ([`new_campaign`]), issues one
/// reward, and saves the OpenAPI document in `work` for Prism: all in the root tenant of the mock at
/// `base`.
pub async fn prepare(base: &str, run: &str, work: &std::path::Path) -> Result<Fixture, String> {
    let fixture = prepare_in(base, ROOT_CONTROL_KEY, run, work).await?;
    let http = reqwest::Client::new();
    let spec = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    std::fs::write(work.join("openapi.json"), spec).map_err(|e| e.to_string())?;
    Ok(fixture)
}

/// [`prepare`] without the OpenAPI document, in the tenant whose base URL is `base`
/// (`http://HOST:PORT` for the root tenant, `http://HOST:PORT/t/ID` for tenant `ID`), with
/// `control_key` (a secret key of that tenant) for its control API.
pub async fn prepare_in(
    base: &str,
    control_key: &str,
    run: &str,
    work: &std::path::Path,
) -> Result<Fixture, String> {
    let http = reqwest::Client::new();
    call(
        control(http.post(format!("{base}/_mock/fixtures")), control_key).json(&json!({
            "items": [{
                "id": BENCH_ITEM, "title": "Bench e-gift code", "description": "load-test item",
                "kind": "digital", "image_url": "https://example.invalid/bench.png",
                "prices": {"US": {"amount": 100, "currency": "USD"}},
                "stock": {"US": 100_000_000}
            }]
        })),
    )
    .await?;

    let campaign = new_campaign_in(base, control_key, run).await?;
    let mut fixture = Fixture {
        secret_key: campaign.secret_key,
        campaign_id: campaign.id,
        moment_id: "bench".into(),
        reward_id: String::new(),
        reward_token: String::new(),
        pool: work.join("redemption-pool-").display().to_string(),
        base_path: base_path(base),
    };
    let first = call(http.post(format!("{base}/v1/triggers"))
            .bearer_auth(&fixture.secret_key)
            .header("Idempotency-Key", format!("bench-first-{run}"))
            .json(&json!({
                "campaign_id": fixture.campaign_id, "moment_id": "bench",
                "customer": {"id": format!("bench-first-{run}"), "marketplace": "US"},
                "device": {"type": "Android", "id": format!("bench-first-{run}"), "ip": "10.254.0.1"}
            })),
    )
    .await?;
    fixture.reward_id = first["reward"]["id"]
        .as_str()
        .ok_or("no reward issued")?
        .to_owned();
    let url = first["reward"]["url"].as_str().ok_or("reward has no url")?;
    fixture.reward_token = url.rsplit('/').next().unwrap_or_default().to_owned();
    Ok(fixture)
}

/// The path of a base URL (`http://HOST:PORT/t/ID` → `/t/ID`; empty for `http://HOST:PORT`).
fn base_path(base: &str) -> String {
    let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("", |i| &after_scheme[i..])
        .trim_end_matches('/')
        .to_owned()
}

/// A campaign of the bench and the secret key of the app that owns it.
#[derive(Clone, Debug)]
pub struct BenchCampaign {
    /// The owner app's secret key.
    pub secret_key: String,
    /// `cmp_…`.
    pub id: String,
}

/// Creates an app in an account of its own and a live campaign of it paying 1 cent per action:
/// the campaign's $5,000 monthly budget (the most a campaign may have) covers 500,000 rewards and the
/// account's $15,000 cap 1.5 million, so each load that issues rewards gets a campaign and an
/// account of its own. In the root tenant of the mock at `base`.
pub async fn new_campaign(base: &str, run: &str) -> Result<BenchCampaign, String> {
    new_campaign_in(base, ROOT_CONTROL_KEY, run).await
}

/// [`new_campaign`] in the tenant whose base URL is `base`, with `control_key` (a secret key of that
/// tenant) for its control API.
pub async fn new_campaign_in(
    base: &str,
    control_key: &str,
    run: &str,
) -> Result<BenchCampaign, String> {
    let http = reqwest::Client::new();
    let app = call(
        control(http.post(format!("{base}/_mock/apps")), control_key)
            .json(&json!({"name": format!("bench {run}")})),
    )
    .await?;
    let sk = app["secret_key"]
        .as_str()
        .ok_or("the new app has no secret_key")?;
    let clock = call(control(
        http.get(format!("{base}/_mock/clock")),
        control_key,
    ))
    .await?;
    let now = chrono_like(&clock)?;
    let campaign = call(
        http.post(format!("{base}/v1/campaigns"))
            .bearer_auth(sk)
            .json(&json!({
                "name": format!("bench {run}"), "brand_name": "Bench",
                "start_at": now.0, "end_at": now.1,
                "budget": {"amount": 500_000, "currency": "USD"},
                "cost_per_action": {"amount": 1, "currency": "USD"},
                "marketplaces": ["US"],
                "reward_groups": [{"id": "US", "marketplace": "US", "items": [BENCH_ITEM]}],
                "moments": [{"id": "bench", "name": "bench moment"}],
                "announcement_message": "Bench", "redemption_message": "Bench"
            })),
    )
    .await?;
    let id = campaign["id"]
        .as_str()
        .ok_or("campaign has no id")?
        .to_owned();
    for step in ["submit", "approve"] {
        call(
            http.post(format!("{base}/v1/campaigns/{id}/{step}"))
                .bearer_auth(sk),
        )
        .await?;
    }
    // `start_at` is a second ahead: move the clock past it so the campaign is live.
    call(
        control(
            http.post(format!("{base}/_mock/clock/advance")),
            control_key,
        )
        .json(&json!({"seconds": 120})),
    )
    .await?;
    Ok(BenchCampaign {
        secret_key: sk.to_owned(),
        id,
    })
}

/// `start_at` one second from the server's now and `end_at` a year later, as RFC 3339 strings.
fn chrono_like(clock: &Value) -> Result<(String, String), String> {
    let now = clock["now"].as_str().ok_or("clock has no now")?;
    let parsed = chrono::DateTime::parse_from_rfc3339(now).map_err(|e| e.to_string())?;
    let start = parsed + chrono::Duration::seconds(1);
    let end = parsed + chrono::Duration::days(365);
    Ok((
        start
            .to_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end.to_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ))
}

/// The size of a real trigger answer, so the ceiling server answers as many bytes.
pub async fn trigger_response_bytes(base: &str, f: &Fixture, run: &str) -> Result<usize, String> {
    let http = reqwest::Client::new();
    let body = http
        .post(format!("{base}/v1/triggers"))
        .bearer_auth(&f.secret_key)
        .header("Idempotency-Key", format!("bench-replay-{run}"))
        .json(&replay_body(f, run))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    Ok(body.len())
}

/// Rewards issued so far by the bench's campaigns: their net spend in cents (1 cent per reward).
pub async fn rewards_issued(base: &str, campaigns: &[BenchCampaign]) -> Result<u64, String> {
    let http = reqwest::Client::new();
    let mut total = 0;
    for c in campaigns {
        let campaign = call(
            http.get(format!("{base}/v1/campaigns/{}", c.id))
                .bearer_auth(&c.secret_key),
        )
        .await?;
        total += campaign["spend"]["spent"]["amount"]
            .as_u64()
            .ok_or_else(|| format!("campaign has no spend: {campaign}"))?;
    }
    Ok(total)
}

/// A tenant of a shared sandbox, as [`new_tenant`] created it.
#[derive(Clone, Debug)]
pub struct BenchTenant {
    /// Its id.
    pub id: String,
    /// Its base URL on the instance that created it: `{mock}/t/{id}`.
    pub base: String,
    /// Its demo app's secret key, which its control API (`{base}/_mock/…`) acts for.
    pub secret_key: String,
}

/// Creates tenant `id` through the mock at `mock` (`POST /_mock/admin/tenants` with the admin key
/// the mock was started with).
pub async fn new_tenant(mock: &str, admin_key: &str, id: &str) -> Result<BenchTenant, String> {
    let http = reqwest::Client::new();
    let tenant = call(
        http.post(format!("{mock}/_mock/admin/tenants"))
            .bearer_auth(admin_key)
            .json(&json!({"id": id})),
    )
    .await?;
    let secret_key = tenant["demo"]["secret_key"]
        .as_str()
        .ok_or_else(|| format!("the new tenant has no demo secret_key: {tenant}"))?
        .to_owned();
    Ok(BenchTenant {
        id: id.to_owned(),
        base: format!("{mock}/t/{id}"),
        secret_key,
    })
}
