//! The `moments-mock-server` binary: flags, the printed URL and credentials, graceful SIGTERM.

use std::io::{BufRead, BufReader, Lines};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_moments-mock-server"))
}

/// Starts the binary with `args`, reads its first line and returns the child, its URL and the rest
/// of its output.
fn start(args: &[&str]) -> (Child, String, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("Moments mock server listening on ")
        .unwrap_or_else(|| panic!("URL line, got {first:?}"))
        .to_string();
    (child, url, lines)
}

/// Sends SIGTERM to `child` and asserts it exits with success.
fn terminate_gracefully(mut child: Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit, got {status:?}");
}

#[test]
fn help_documents_every_flag() {
    let out = Command::new(binary()).arg("--help").output().expect("runs");
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--host",
        "--port",
        "--random-demo-keys",
        "--fixtures",
        "--log",
        "--log-format",
        "--workers",
        "--public-url",
        "--compat-rate",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help:\n{text}");
    }
}

#[tokio::test]
async fn prints_url_and_credentials_then_shuts_down_on_sigterm() {
    let (child, url, mut lines) = start(&["--port", "0", "--random-demo-keys"]);
    let rest: Vec<String> = lines.by_ref().take(11).map(|l| l.unwrap()).collect();
    // Each demo moment says who may report it.
    let said = |id: &str| rest.iter().find(|l| l.trim().starts_with(id)).cloned();
    assert!(
        said("first_workout").is_some_and(|l| l.contains("the app (customer token)")),
        "{rest:?}"
    );
    assert!(
        said("level_5").is_some_and(|l| l.contains("server only")),
        "{rest:?}"
    );
    assert!(
        said("five_workouts").is_some_and(|l| l.contains("goal 5 in 30 days")),
        "{rest:?}"
    );
    let secret = rest
        .iter()
        .find_map(|l| l.trim().strip_prefix("secret key:"))
        .unwrap()
        .trim()
        .to_string();
    assert!(
        secret.starts_with("sk_test_") && secret != moments_mock_server::DEMO_SECRET_KEY,
        "random keys"
    );
    assert!(rest.iter().any(|l| l.contains("curl")));
    let console = rest
        .iter()
        .find_map(|l| l.trim().strip_prefix("console:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("the console's URL: {rest:?}"));
    assert_eq!(console, format!("{url}/console"));
    let http = reqwest::Client::new();
    let sign_in = http.get(format!("{console}/sign-in")).send().await.unwrap();
    assert_eq!(sign_in.status(), 200);
    let app = http
        .get(format!("{url}/v1/app"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(app.status(), 200);
    tokio::task::spawn_blocking(move || terminate_gracefully(child))
        .await
        .unwrap();
}

#[test]
fn sigterm_right_after_the_url_line_is_a_graceful_exit() {
    // A supervisor may signal as soon as it has read the URL: the handlers must already be installed.
    for _ in 0..5 {
        let (child, _url, _rest) = start(&["--port", "0"]);
        terminate_gracefully(child);
    }
}

#[tokio::test]
async fn reward_links_use_the_public_url_while_the_server_answers_on_its_own() {
    let (child, url, mut lines) = start(&["--port", "0", "--public-url", "http://10.0.2.2:8080/"]);
    let rest: Vec<String> = lines.by_ref().take(11).map(|l| l.unwrap()).collect();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(
        rest.iter()
            .any(|l| l.trim() == "reward links:    http://10.0.2.2:8080/r/…"),
        "{rest:?}"
    );
    let http = reqwest::Client::new();
    let t: serde_json::Value = http
        .post(format!("{url}/v1/triggers"))
        .bearer_auth(moments_mock_server::DEMO_SECRET_KEY)
        .header("Idempotency-Key", "public-url-1")
        .json(&serde_json::json!({
            "campaign_id": moments_mock_server::DEMO_CAMPAIGN_ID,
            "moment_id": "first_workout",
            "customer": {"id": "cust_public", "marketplace": "US"},
            "device": {"type": "Android"}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = t["reward"]["url"].as_str().unwrap_or_else(|| panic!("{t}"));
    let token = link
        .strip_prefix("http://10.0.2.2:8080/r/")
        .unwrap_or_else(|| panic!("the link uses the public URL: {link}"));
    // The same token opens the landing page at the address the server is bound to.
    let page = http.get(format!("{url}/r/{token}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let demo: serde_json::Value = http
        .get(format!("{url}/_mock/demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(demo["base_url"], "http://10.0.2.2:8080");
    tokio::task::spawn_blocking(move || terminate_gracefully(child))
        .await
        .unwrap();
}

#[test]
fn bad_arguments_are_usage_errors_that_name_the_value() {
    for (args, message) in [
        (
            ["--public-url", "10.0.2.2:8080"],
            "public URL `10.0.2.2:8080`",
        ),
        (
            ["--log", "moments=notalevel"],
            "invalid --log filter `moments=notalevel`",
        ),
    ] {
        let out = Command::new(binary())
            .args(["--port", "0"])
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing announced");
    }
}

/// A JSON request to the running binary; answers (status, body).
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = http.request(method, url);
    if let Some(k) = key {
        req = req
            .bearer_auth(k)
            .header("Idempotency-Key", format!("k-{}", next_key_number()));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// A number never handed out before in this process (for idempotency keys).
fn next_key_number() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[tokio::test]
async fn a_reset_returns_to_the_fixtures_loaded_at_start() {
    use reqwest::Method;
    use serde_json::json;
    const KEY: &str = "sk_test_cli_fixture_key_0123456789abcdef";
    let now = chrono::Utc::now();
    let t = |d: chrono::Duration| (now + d).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // An app with given credentials, an item, and a live campaign whose id the mock generates.
    let fixtures = json!({
        "apps": [{"id": "app_cli_fx", "name": "CLI fixture app", "secret_key": KEY}],
        "items": [{"id": "itm_cli_fx", "title": "CLI mug", "description": "A mug", "kind": "physical",
                   "image_url": null, "prices": {"US": {"amount": 1500, "currency": "USD"}}, "stock": {"US": 10}}],
        "campaigns": [{"app_id": "app_cli_fx", "status": "approved", "campaign": {
            "name": "CLI fixture", "brand_name": "CLI Brand",
            "start_at": t(-chrono::Duration::hours(1)), "end_at": t(chrono::Duration::days(30)),
            "budget": {"amount": 10_000, "currency": "USD"}, "cost_per_action": {"amount": 500, "currency": "USD"},
            "marketplaces": ["US"], "reward_groups": [{"id": "US", "marketplace": "US", "items": ["itm_cli_fx"]}],
            "moments": [{"id": "m1"}], "announcement_message": "Hi", "redemption_message": "Enjoy"}}]
    });
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("reset-fixtures-{}.json", std::process::id()));
    std::fs::write(&path, fixtures.to_string()).unwrap();
    let (child, url, _rest) = start(&["--port", "0", "--fixtures", path.to_str().unwrap()]);
    let http = reqwest::Client::new();
    let campaigns = |http: reqwest::Client, url: String| async move {
        let (s, list) = call(
            &http,
            Method::GET,
            format!("{url}/v1/campaigns"),
            Some(KEY),
            None,
        )
        .await;
        assert_eq!(s, 200, "{list}");
        list["data"].as_array().unwrap().clone()
    };
    let before = campaigns(http.clone(), url.clone()).await;
    assert_eq!(before.len(), 1, "{before:?}");
    let cid = before[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(before[0]["status"], "live");

    // Change the state: a reward on the fixture campaign, an app loaded after the start, time moved.
    let trig = json!({"campaign_id": cid, "moment_id": "m1", "customer": {"id": "c1", "marketplace": "US"},
                      "device": {"type": "Web"}});
    let (s, r) = call(
        &http,
        Method::POST,
        format!("{url}/v1/triggers"),
        Some(KEY),
        Some(trig.clone()),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (s, later) = call(
        &http,
        Method::POST,
        format!("{url}/_mock/fixtures"),
        None,
        Some(json!({"apps": [{"name": "Later app"}]})),
    )
    .await;
    assert_eq!(s, 201, "{later}");
    let later_key = later["apps"][0]["secret_key"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &http,
        Method::POST,
        format!("{url}/_mock/clock/advance"),
        None,
        Some(json!({"seconds": 86_400})),
    )
    .await;
    assert_eq!(s, 200);

    let (s, ack) = call(
        &http,
        Method::POST,
        format!("{url}/_mock/reset"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200, "{ack}");

    // The fixtures are back as they started: same key, same campaign id, nothing spent, no reward.
    let after = campaigns(http.clone(), url.clone()).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["id"], cid.as_str());
    assert_eq!(after[0]["status"], "live");
    assert_eq!(after[0]["spend"]["spent"]["amount"], 0, "{}", after[0]);
    let (s, rewards) = call(
        &http,
        Method::GET,
        format!("{url}/v1/rewards"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(
        (s, rewards["data"].as_array().unwrap().len()),
        (200, 0),
        "{rewards}"
    );
    let (s, item) = call(
        &http,
        Method::GET,
        format!("{url}/v1/catalog/items/itm_cli_fx"),
        Some(KEY),
        None,
    )
    .await;
    assert_eq!((s, &item["stock"]["US"]), (200, &json!(10)), "{item}");
    let (s, r) = call(
        &http,
        Method::POST,
        format!("{url}/v1/triggers"),
        Some(KEY),
        Some(trig),
    )
    .await;
    assert_eq!(s, 200, "the campaign works again: {r}");
    // What was loaded after the start is gone; the demo is there as always.
    let (s, _) = call(
        &http,
        Method::GET,
        format!("{url}/v1/app"),
        Some(&later_key),
        None,
    )
    .await;
    assert_eq!(s, 401);
    let demo_key = moments_mock_server::DEMO_SECRET_KEY;
    let (s, _) = call(
        &http,
        Method::GET,
        format!("{url}/v1/app"),
        Some(demo_key),
        None,
    )
    .await;
    assert_eq!(s, 200);
    tokio::task::spawn_blocking(move || terminate_gracefully(child))
        .await
        .unwrap();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_port_in_use_names_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(binary())
        .args(["--port", &port])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!(
            "cannot start: address 127.0.0.1:{port} is already in use"
        )),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing announced");
}

/// Starts the binary with `args` and `env`, its standard error piped; returns the child, its URL and
/// its standard error (read it once the child has exited).
fn start_logging(
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, String, std::process::ChildStderr) {
    let mut child = Command::new(binary())
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("MOMENTS_MOCK_LOG")
        .env_remove("MOMENTS_MOCK_LOG_FORMAT")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stderr = child.stderr.take().unwrap();
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let url = first
        .strip_prefix("Moments mock server listening on ")
        .unwrap_or_else(|| panic!("URL line, got {first:?}"))
        .to_string();
    (child, url, stderr)
}

fn read_all(mut from: impl std::io::Read) -> String {
    let mut text = String::new();
    from.read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn json_logs_have_one_line_per_request_with_route_status_and_idempotency() {
    let (child, url, stderr) = start_logging(
        &["--port", "0", "--log", "info", "--log-format", "json"],
        &[],
    );
    let http = reqwest::Client::new();
    let body = serde_json::json!({
        "campaign_id": moments_mock_server::DEMO_CAMPAIGN_ID,
        "moment_id": "first_workout",
        "customer": {"id": "cust_logged", "marketplace": "US"},
        "device": {"type": "Android"}
    });
    let mut request_ids = Vec::new();
    for _ in 0..2 {
        let r = http
            .post(format!("{url}/v1/triggers"))
            .bearer_auth(moments_mock_server::DEMO_SECRET_KEY)
            .header("Idempotency-Key", "logged-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        request_ids.push(r.headers()["x-request-id"].to_str().unwrap().to_string());
    }
    let token_path = format!("{url}/r/rt_secret_token_never_logged");
    let missing = http.get(token_path).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    tokio::task::spawn_blocking(move || terminate_gracefully(child))
        .await
        .unwrap();
    let text = read_all(stderr);
    assert!(
        !text.contains("rt_secret_token_never_logged"),
        "paths are not logged:\n{text}"
    );
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .filter(|v: &serde_json::Value| v["target"] == "moments_mock_server::request")
        .collect();
    assert_eq!(lines.len(), 3, "one line per request:\n{text}");
    for (line, (rid, replayed)) in lines
        .iter()
        .zip([(&request_ids[0], false), (&request_ids[1], true)])
    {
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["method"], "POST");
        assert_eq!(line["route"], "/v1/triggers");
        assert_eq!(line["status"], 200);
        assert_eq!(line["request_id"], rid.as_str());
        assert_eq!(line["idempotency_key"], "logged-1");
        assert_eq!(line["replayed"], replayed, "{line}");
        assert!(
            line["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
            "{line}"
        );
    }
    assert_eq!(lines[2]["route"], "/r/{token}");
    assert_eq!(lines[2]["status"], 404);
    assert!(lines[2].get("idempotency_key").is_none(), "{}", lines[2]);
}

#[tokio::test]
async fn rust_log_is_the_filter_when_log_is_not_given() {
    let (child, url, stderr) = start_logging(
        &["--port", "0"],
        &[("RUST_LOG", "moments_mock_server::request=info")],
    );
    let h = reqwest::get(format!("{url}/_mock/health")).await.unwrap();
    assert_eq!(h.status(), 200);
    tokio::task::spawn_blocking(move || terminate_gracefully(child))
        .await
        .unwrap();
    let text = read_all(stderr);
    let line = text
        .lines()
        .find(|l| l.contains("moments_mock_server::request"))
        .unwrap_or_else(|| panic!("a request line:\n{text}"));
    for part in [
        "INFO",
        "method=\"GET\"",
        "route=\"/_mock/health\"",
        "status=200",
        "request_id=\"req_",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }

    // --log wins over RUST_LOG: warn logs no request.
    let (child, url, stderr) =
        start_logging(&["--port", "0", "--log", "warn"], &[("RUST_LOG", "info")]);
    reqwest::get(format!("{url}/_mock/health")).await.unwrap();
    tokio::task::spawn_blocking(move || terminate_gracefully(child))
        .await
        .unwrap();
    let text = read_all(stderr);
    assert!(!text.contains("moments_mock_server::request"), "{text}");
}
