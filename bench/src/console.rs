//! `moments-bench console`: how long the Moments Console's pages take to answer with many rewards
//! stored. Starts the release mock, issues `--rewards` rewards through the API (one campaign, a customer,
//! device and IP each, some redeemed), signs in to the console as the campaign's app and requests each
//! page `--samples` times, one at a time over one keep-alive connection: the time to the whole answer
//! over loopback, an upper bound of the server's time. Writes a table with met/missed against the
//! budget (`docs/performance.md`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::procs::Server;
use crate::scenarios::BENCH_ITEM;

/// A page's answer must take at most this long (the 95th percentile of the samples).
pub const BUDGET: Duration = Duration::from_millis(50);

/// What to run.
pub struct Options {
    /// Rewards stored before the pages are measured.
    pub rewards: usize,
    /// Requests per page.
    pub samples: usize,
    /// The mock binary.
    pub mock_bin: PathBuf,
    /// The report.
    pub out: PathBuf,
}

/// Runs the benchmark and writes its report.
pub fn run(opts: &Options) -> Result<(), String> {
    let mut cmd = Command::new(&opts.mock_bin);
    cmd.args(["--port", "0"]);
    let server = Server::start("moments mock", cmd, None)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = rt.block_on(measure(&server.url, opts))?;
    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&opts.out, &report).map_err(|e| e.to_string())?;
    println!("{report}");
    println!("written to {}", opts.out.display());
    Ok(())
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

/// Issues `n` rewards of the campaign, 64 triggers at a time; redeems every tenth. Returns a reward id
/// and a customer id.
async fn issue(
    base: &str,
    key: &str,
    campaign: &str,
    n: usize,
) -> Result<(String, String), String> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut first = None;
    for chunk in (0..n).collect::<Vec<_>>().chunks(64) {
        let mut calls = tokio::task::JoinSet::new();
        for &i in chunk {
            let (http, base, key, campaign) = (
                http.clone(),
                base.to_owned(),
                key.to_owned(),
                campaign.to_owned(),
            );
            calls.spawn(async move {
                let ip = format!("10.{}.{}.{}", i / 62_500 % 250, i / 250 % 250, i % 250);
                let reward = call(
                    http.post(format!("{base}/v1/triggers"))
                        .bearer_auth(key)
                        .header("Idempotency-Key", format!("console-bench-{i}"))
                        .json(&json!({
                            "campaign_id": campaign, "moment_id": "bench",
                            "customer": {"id": format!("customer-{i}"), "marketplace": "US"},
                            "device": {"type": "Android", "id": format!("device-{i}"), "ip": ip}
                        })),
                )
                .await?;
                let url = reward["reward"]["url"].as_str().unwrap_or_default();
                if i % 10 == 0 {
                    call(
                        http.post(url.replace("/r/", "/v1/redemptions/"))
                            .json(&json!({"item_id": BENCH_ITEM})),
                    )
                    .await?;
                }
                Ok::<_, String>((
                    reward["reward"]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    format!("customer-{i}"),
                ))
            });
        }
        while let Some(r) = calls.join_next().await {
            let r = r.map_err(|e| e.to_string())??;
            first.get_or_insert(r);
        }
    }
    eprintln!(
        "{n} rewards issued in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    first.ok_or_else(|| "no reward issued".to_owned())
}

/// A signed-in console session: its cookie.
async fn sign_in(http: &reqwest::Client, base: &str, key: &str) -> Result<String, String> {
    let page = http
        .get(format!("{base}/console/sign-in"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookie = session_cookie(&page).ok_or("no session cookie at sign-in")?;
    let text = page.text().await.map_err(|e| e.to_string())?;
    let at = text
        .find(r#"name="csrf" value=""#)
        .ok_or("no CSRF field on the sign-in page")?
        + r#"name="csrf" value=""#.len();
    let csrf = &text[at..at + text[at..].find('"').ok_or("unterminated CSRF value")?];
    let signed = http
        .post(format!("{base}/console/sign-in"))
        .header("cookie", format!("moments_console={cookie}"))
        .form(&[("secret_key", key), ("csrf", csrf)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if signed.status() != reqwest::StatusCode::SEE_OTHER {
        return Err(format!("sign-in answered {}", signed.status()));
    }
    session_cookie(&signed).ok_or_else(|| "no session cookie after sign-in".to_owned())
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?.strip_prefix("moments_console=")?;
        Some(v.split(';').next()?.to_owned())
    })
}

/// The samples' median, 95th percentile and maximum.
fn stats(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95), samples[samples.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

async fn measure(base: &str, opts: &Options) -> Result<String, String> {
    call(reqwest::Client::new().post(format!("{base}/_mock/fixtures")).json(&json!({
        "items": [{
            "id": BENCH_ITEM, "title": "Bench e-gift code", "description": "console bench item",
            "kind": "digital", "image_url": "https://example.invalid/bench.png",
            "prices": {"US": {"amount": 100, "currency": "USD"}},
            "stock": {"US": 100_000_000}
        }]
    })))
    .await?;
    let campaign = crate::setup::new_campaign(base, "console").await?;
    let (reward, customer) = issue(base, &campaign.secret_key, &campaign.id, opts.rewards).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let cookie = sign_in(&http, base, &campaign.secret_key).await?;
    let id = &campaign.id;
    let pages = [
        ("campaigns", "/console/campaigns".to_owned()),
        ("campaign", format!("/console/campaigns/{id}")),
        ("rewards, first page", "/console/rewards".to_owned()),
        (
            "rewards of a customer",
            format!("/console/rewards?customer_id={customer}"),
        ),
        (
            "rewards redeemed, first page",
            "/console/rewards?status=redeemed".to_owned(),
        ),
        ("reward", format!("/console/rewards/{reward}")),
        ("reports", format!("/console/reports?campaign_id={id}")),
        (
            "report CSV per day",
            format!("/console/reports/csv?campaign_id={id}&group_by=day"),
        ),
        ("journal", "/console/journal".to_owned()),
        ("webhooks", "/console/webhooks".to_owned()),
        ("app", "/console/app".to_owned()),
        ("sandbox", "/console/sandbox".to_owned()),
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Console pages with {} rewards stored ({} requests each, one at a time; time to the whole answer \
         over loopback; budget {} ms at the 95th percentile)\n",
        opts.rewards,
        opts.samples,
        BUDGET.as_millis()
    );
    let _ = writeln!(
        out,
        "| Page | Median (ms) | p95 (ms) | Max (ms) | Bytes | ≤ {} ms |",
        BUDGET.as_millis()
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|");
    for (name, path) in pages {
        let mut samples = Vec::with_capacity(opts.samples);
        let mut bytes = 0;
        for _ in 0..opts.samples {
            let t = Instant::now();
            let resp = http
                .get(format!("{base}{path}"))
                .header("cookie", format!("moments_console={cookie}"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            let body = resp.bytes().await.map_err(|e| e.to_string())?;
            samples.push(t.elapsed());
            if !status.is_success() {
                return Err(format!("{path} answered {status}"));
            }
            bytes = body.len();
        }
        let (median, p95, max) = stats(samples);
        let met = if p95 <= BUDGET { "met" } else { "missed" };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {bytes} | {met} |",
            ms(median),
            ms(p95),
            ms(max)
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_the_samples() {
        let samples = (1..=100).map(Duration::from_millis).collect();
        let (median, p95, max) = stats(samples);
        assert_eq!(
            (median, p95, max),
            (
                Duration::from_millis(51),
                Duration::from_millis(95),
                Duration::from_millis(100)
            )
        );
        let one = stats(vec![Duration::from_millis(7)]);
        assert_eq!(
            one,
            (
                Duration::from_millis(7),
                Duration::from_millis(7),
                Duration::from_millis(7)
            )
        );
    }
}
