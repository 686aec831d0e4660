//! Graceful shutdown of the mock binary and the request body / header limits of `docs/api.md`.

use std::process::Command;
use std::time::Duration;

use moments_e2e::mock::Mock;
use serde_json::{Value, json};

mod common;
use common::mock_process::MockProcess;

/// `--workers N` sets the threads serving requests; a bad count is refused at start with the flag named.
#[tokio::test]
async fn workers_flag_sets_the_serving_threads_and_refuses_a_bad_count() {
    let proc = MockProcess::spawn_with(&["--workers", "1"]);
    let res = reqwest::get(format!("{}/_mock/demo", proc.base))
        .await
        .expect("demo");
    assert!(res.status().is_success(), "{}", res.status());
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", proc.pid())) {
        let workers = tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim() == "tokio-rt-worker")
            .count();
        assert_eq!(workers, 1, "threads serving requests");
    }
    for bad in ["0", "many"] {
        let out = Command::new(common::mock_process::mock_binary())
            .args(["--port", "0", "--workers", bad])
            .output()
            .expect("the mock runs");
        assert_eq!(out.status.code(), Some(2), "--workers {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--workers"), "--workers {bad}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_in_flight_request_then_exits_zero() {
    let mut proc = MockProcess::spawn();
    let base = proc.base.clone();
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

    let pid = proc.pid().to_string();
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
            if let Some(st) = proc.child.try_wait().expect("wait") {
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

/// The harness's mock (on the store `MOMENTS_E2E_STORE` names; keep it as long as the server is
/// used), a client, the base URL and the demo secret key as `/_mock/demo` tells it.
async fn start() -> (Mock, reqwest::Client, String, String) {
    let mock = Mock::start().await;
    let base = mock.base.clone();
    let http = reqwest::Client::new();
    // A shared sandbox's control API asks for a secret key: `Mock::call` sends the demo key there.
    let demo = mock.call("GET", "/_mock/demo", None, None, None).await.body;
    let secret = demo["secret_key"].as_str().expect("secret").to_owned();
    (mock, http, base, secret)
}

#[tokio::test]
async fn bodies_over_64_kib_get_413_payload_too_large() {
    let (mock, http, base, secret) = start().await;
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
    mock.server.shutdown().await;
}

/// Headers over the documented 16 KiB total are refused with `431 headers_too_large`.
#[tokio::test]
async fn headers_over_16_kib_get_431() {
    let (mock, http, base, secret) = start().await;
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
    mock.server.shutdown().await;
}

/// Far oversized headers and too many headers: a refusal or a closed connection, never a 5xx,
/// and the server keeps serving.
#[tokio::test]
async fn oversized_headers_are_refused_without_harm() {
    let (mock, http, base, secret) = start().await;
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
    mock.server.shutdown().await;
}
