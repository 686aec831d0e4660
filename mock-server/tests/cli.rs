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
        "--workers",
        "--public-url",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help:\n{text}");
    }
}

#[tokio::test]
async fn prints_url_and_credentials_then_shuts_down_on_sigterm() {
    let (child, url, mut lines) = start(&["--port", "0", "--random-demo-keys"]);
    let rest: Vec<String> = lines.by_ref().take(7).map(|l| l.unwrap()).collect();
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
    let http = reqwest::Client::new();
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
    let rest: Vec<String> = lines.by_ref().take(8).map(|l| l.unwrap()).collect();
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
            "campaign_id": moments_mock_server::server::DEMO_CAMPAIGN_ID,
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
