//! Puts the mock in the state the load scripts need, over its public HTTP API.

use serde_json::{Value, json};

use crate::scenarios::{BENCH_ITEM, Fixture, replay_body};

/// A control API call (`/_mock/…`) with the demo secret key: a shared sandbox (the mock's PostgreSQL
/// store implies one) acts only for a secret key of the sandbox; the in-memory mock accepts it too.
fn control(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    req.bearer_auth(moments_mock_server::DEMO_SECRET_KEY)
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
/// reward, and saves the OpenAPI document in `work` for Prism.
pub async fn prepare(base: &str, run: &str, work: &std::path::Path) -> Result<Fixture, String> {
    let http = reqwest::Client::new();
    call(
        control(http.post(format!("{base}/_mock/fixtures"))).json(&json!({
            "items": [{
                "id": BENCH_ITEM, "title": "Bench e-gift code", "description": "load-test item",
                "kind": "digital", "image_url": "https://example.invalid/bench.png",
                "prices": {"US": {"amount": 100, "currency": "USD"}},
                "stock": {"US": 100_000_000}
            }]
        })),
    )
    .await?;

    let campaign = new_campaign(base, run).await?;
    let mut fixture = Fixture {
        secret_key: campaign.secret_key,
        campaign_id: campaign.id,
        moment_id: "bench".into(),
        reward_id: String::new(),
        reward_token: String::new(),
        pool: work.join("redemption-pool-").display().to_string(),
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
/// account of its own.
pub async fn new_campaign(base: &str, run: &str) -> Result<BenchCampaign, String> {
    let http = reqwest::Client::new();
    let app = call(
        control(http.post(format!("{base}/_mock/apps")))
            .json(&json!({"name": format!("bench {run}")})),
    )
    .await?;
    let sk = app["secret_key"]
        .as_str()
        .ok_or("the new app has no secret_key")?;
    let clock = call(control(http.get(format!("{base}/_mock/clock")))).await?;
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
    call(control(http.post(format!("{base}/_mock/clock/advance"))).json(&json!({"seconds": 120})))
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
