//! Graceful shutdown of the mock binary and the request body / header limits of `docs/api.md`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use moments_mock_server::MockServer;
use serde_json::{Value, json};

/// The newest modification time of the mock's sources.
fn newest_source() -> Option<SystemTime> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mock-server/src");
    std::fs::read_dir(src)
        .ok()?
        .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
        .max()
}

/// The `moments-mock-server` binary: the one `cargo test --workspace` built next to this test's
/// executable when it is fresh, else one built now into a separate target directory (`cargo test`
/// holds the lock of its own target directory while tests run, so building there would deadlock).
fn mock_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    // target/<profile>/deps/security_limits-… → target/<profile>/moments-mock-server
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .to_path_buf();
    let bin = dir.join("moments-mock-server");
    let fresh = |b: &Path| {
        let built = b.metadata().and_then(|m| m.modified()).ok();
        matches!((built, newest_source()), (Some(b), Some(s)) if b >= s)
    };
    if fresh(&bin) {
        return bin;
    }
    let own = dir.join("security-mock-bin");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "-p",
            "moments-mock-server",
            "--bin",
            "moments-mock-server",
        ])
        .env("CARGO_TARGET_DIR", &own)
        .status()
        .expect("cargo build runs");
    assert!(status.success(), "building the mock binary failed");
    let bin = own.join("debug").join("moments-mock-server");
    assert!(bin.exists(), "no mock binary at {}", bin.display());
    bin
}

/// A mock process, killed on drop if still running.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn spawn_mock() -> (Proc, String) {
    let mut child = Command::new(mock_binary())
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mock starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && let Some(i) = line.find("listening on http://") {
                let url = line[i + "listening on ".len()..].trim().to_owned();
                let _ = tx.send(url);
                sent = true;
            }
            // Keep draining so the child never blocks on a full pipe.
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the mock prints `listening on http://127.0.0.1:PORT`");
    (Proc(child), url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_in_flight_request_then_exits_zero() {
    let (mut proc, base) = spawn_mock();
    let http = reqwest::Client::new();
    let demo: Value = http
        .get(format!("{base}/_mock/demo"))
        .send()
        .await
        .expect("demo")
        .json()
        .await
        .expect("JSON");
    let secret = demo["secret_key"].as_str().expect("secret").to_owned();
    let res = http
        .post(format!("{base}/_mock/faults"))
        .json(&json!({"route": "GET /v1/app", "count": 1, "latency_ms": 1000}))
        .send()
        .await
        .expect("fault");
    assert!(res.status().is_success());
    let armed = http
        .get(format!("{base}/_mock/faults"))
        .send()
        .await
        .expect("faults")
        .text()
        .await
        .expect("text");

    let slow = tokio::spawn({
        let (http, base) = (http.clone(), base.clone());
        async move {
            let res = http
                .get(format!("{base}/v1/app"))
                .bearer_auth(secret)
                .send()
                .await
                .expect("the in-flight request gets its answer");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("JSON"))
        }
    });
    // Wait (bounded) until the fault fired, i.e. the slow request is inside the server.
    let mut fired = false;
    for _ in 0..500 {
        let now = http
            .get(format!("{base}/_mock/faults"))
            .send()
            .await
            .expect("faults")
            .text()
            .await
            .expect("text");
        if now != armed {
            fired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(fired, "the latency fault never fired");

    let pid = proc.0.id().to_string();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(kill.success());

    let (status, body) = slow.await.expect("task");
    assert_eq!(status, 200, "the in-flight request completed: {body}");
    assert_eq!(body["object"], "app");

    let exit = tokio::task::spawn_blocking(move || {
        for _ in 0..200 {
            if let Some(st) = proc.0.try_wait().expect("wait") {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    })
    .await
    .expect("join")
    .expect("the mock exits within 10 s of SIGTERM");
    assert!(exit.success(), "the mock exits 0 after SIGTERM: {exit:?}");
}

async fn start() -> (MockServer, reqwest::Client, String, String) {
    let server = MockServer::start().await.expect("mock");
    let base = server.base_url();
    let http = reqwest::Client::new();
    let demo: Value = http
        .get(format!("{base}/_mock/demo"))
        .send()
        .await
        .expect("demo")
        .json()
        .await
        .expect("JSON");
    let secret = demo["secret_key"].as_str().expect("secret").to_owned();
    (server, http, base, secret)
}

#[tokio::test]
async fn bodies_over_64_kib_get_413_payload_too_large() {
    let (server, http, base, secret) = start().await;
    let big = json!({"name": "x".repeat(70 * 1024)}).to_string();
    for path in ["/v1/campaigns", "/v1/triggers", "/v1/webhook_endpoints"] {
        let res = http
            .post(format!("{base}{path}"))
            .bearer_auth(&secret)
            .header("idempotency-key", format!("big-{path}"))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .expect("answer");
        assert_eq!(res.status(), 413, "{path}");
        let rid = res
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let v: Value = res.json().await.expect("an error envelope");
        assert_eq!(v["error"]["code"], "payload_too_large", "{path}: {v}");
        assert_eq!(v["error"]["retryable"], false);
        assert_eq!(v["error"]["request_id"].as_str(), rid.as_deref(), "{v}");
    }
    // Just under the limit is read and judged on its content, not refused for size.
    let near = json!({"url": format!("https://example.com/{}", "a".repeat(60 * 1024))}).to_string();
    let res = http
        .post(format!("{base}/v1/webhook_endpoints"))
        .bearer_auth(&secret)
        .header("idempotency-key", "near-limit")
        .header("content-type", "application/json")
        .body(near)
        .send()
        .await
        .expect("answer");
    assert_ne!(res.status(), 413);
    assert!(res.status().as_u16() < 500);
    server.shutdown().await;
}

/// Headers over the documented 16 KiB total are refused with `431 headers_too_large`.
#[tokio::test]
async fn headers_over_16_kib_get_431() {
    let (server, http, base, secret) = start().await;
    let res = http
        .get(format!("{base}/v1/app"))
        .bearer_auth(&secret)
        .header("x-padding", "p".repeat(20 * 1024))
        .send()
        .await
        .expect("an answer to a 20 KiB header");
    assert_eq!(res.status(), 431, "20 KiB of headers");
    let v: Value = res.json().await.expect("an error envelope");
    assert_eq!(v["error"]["code"], "headers_too_large", "{v}");
    assert!(
        !v.to_string().contains(&secret),
        "the refusal does not echo the credential"
    );
    server.shutdown().await;
}

/// Far oversized headers and too many headers: a refusal or a closed connection, never a 5xx,
/// and the server keeps serving.
#[tokio::test]
async fn oversized_headers_are_refused_without_harm() {
    let (server, http, base, secret) = start().await;
    let huge = http
        .get(format!("{base}/v1/app"))
        .bearer_auth(&secret)
        .header("x-padding", "p".repeat(1024 * 1024))
        .send()
        .await;
    if let Ok(r) = huge {
        assert!(
            matches!(r.status().as_u16(), 400 | 431),
            "1 MiB header: {}",
            r.status()
        );
    }
    let mut req = http.get(format!("{base}/v1/app")).bearer_auth(&secret);
    for i in 0..300 {
        req = req.header(format!("x-h-{i}"), "v");
    }
    if let Ok(r) = req.send().await {
        assert!(
            matches!(r.status().as_u16(), 400 | 431),
            "300 headers: {}",
            r.status()
        );
    }
    let res = http
        .get(format!("{base}/v1/app"))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("still serving");
    assert_eq!(res.status(), 200);
    server.shutdown().await;
}
