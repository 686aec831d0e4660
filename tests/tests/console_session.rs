//! The Moments Console's sessions over plain HTTP: sign-in with a secret key, the cookie's flags,
//! the CSRF token on every POST, the security headers of every answer, sign-out and revocation.

use moments_e2e::console::ConsoleClient;
use moments_e2e::mock::Mock;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[tokio::test]
async fn signing_in_with_the_secret_key_opens_a_fresh_http_only_strict_session() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::new(&m.base);
    let p = c.get("/console/campaigns").await;
    assert_eq!(
        (p.status, p.location().as_deref()),
        (303, Some("/console/sign-in"))
    );
    // An htmx request is sent to the sign-in page as a whole page.
    let r = reqwest::Client::new()
        .get(format!("{}/console/campaigns", m.base))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers().get("hx-redirect").and_then(|v| v.to_str().ok()),
        Some("/console/sign-in")
    );

    let p = c.get("/console/sign-in").await;
    assert_eq!(p.status, 200);
    let set = p
        .header("set-cookie")
        .expect("a session cookie before sign-in");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(flag), "{set}");
    }
    let before = c.cookie().expect("cookie").to_string();

    let p = c.post("/console/sign-in", &[("secret_key", &m.key)]).await;
    assert_eq!((p.status, p.location().as_deref()), (303, Some("/console")));
    let set = p
        .header("set-cookie")
        .expect("the signed-in session's cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert_ne!(
        c.cookie(),
        Some(before.as_str()),
        "sign-in issues a new session id"
    );

    let p = c.get("/console/campaigns").await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(p.text.contains(&m.campaign), "the demo campaign is listed");
    assert!(p.text.contains(m.server.demo().app_id.as_str()));

    // The id seen before sign-in is worth nothing.
    let mut stale = ConsoleClient::new(&m.base);
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/console/campaigns", m.base))
        .header("cookie", format!("moments_console={before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(stale.get("/console/campaigns").await.status, 303);
}

#[tokio::test]
async fn a_wrong_key_or_a_customer_token_is_refused_beside_the_field() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::new(&m.base);
    let p = c.sign_in("sk_test_not_a_key").await;
    assert_eq!(p.status, 401);
    assert!(p.text.contains("aria-invalid=\"true\""), "{}", p.text);
    assert!(p.text.contains("field-error"), "{}", p.text);

    let token = m
        .call(
            "POST",
            "/v1/customer_tokens",
            Some(&m.key),
            Some(&m.idem()),
            Some(&serde_json::json!({"customer_id": "c1", "marketplace": "US"})),
        )
        .await;
    let ct = token.body["token"].as_str().expect("a token").to_string();
    let p = c.post("/console/sign-in", &[("secret_key", &ct)]).await;
    assert_eq!(p.status, 401);
    assert!(
        p.text.contains("customer token cannot sign in"),
        "{}",
        p.text
    );
    assert_eq!(c.get("/console/campaigns").await.status, 303);
}

#[tokio::test]
async fn a_local_mock_offers_the_demo_app() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::new(&m.base);
    let p = c.get("/console/sign-in").await;
    assert!(p.text.contains("Sign in as the demo app"), "{}", p.text);
    let p = c.post("/console/sign-in", &[("demo", "1")]).await;
    assert_eq!(p.status, 303, "{}", p.text);
    assert_eq!(c.get("/console/campaigns").await.status, 200);
}

#[tokio::test]
async fn a_post_without_the_session_csrf_token_is_refused_and_changes_nothing() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    c.get("/console/campaigns").await;

    let p = c.post_raw("/console/sign-out", &[]).await;
    assert_eq!(p.status, 403, "{}", p.text);
    assert!(p.text.contains("security token"), "{}", p.text);
    let p = c.post_raw("/console/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(p.status, 403);
    // Another session's token does not do either.
    let other = ConsoleClient::signed_in(&m.base, &m.key).await;
    let mut other = other;
    other.get("/console/campaigns").await;
    let foreign = other.csrf().expect("a token").to_string();
    assert_eq!(
        c.post_raw("/console/sign-out", &[("csrf", &foreign)])
            .await
            .status,
        403
    );
    assert_eq!(
        c.get("/console/campaigns").await.status,
        200,
        "still signed in"
    );

    // With the token, sign-out works and ends the session.
    let p = c.post("/console/sign-out", &[]).await;
    assert_eq!(
        (p.status, p.location().as_deref()),
        (303, Some("/console/sign-in"))
    );
    assert_eq!(c.get("/console/campaigns").await.status, 303);
}

#[tokio::test]
async fn every_console_answer_carries_the_policy_and_security_headers() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    let page = c.get("/console/campaigns").await;
    let css = page
        .text
        .split('"')
        .find(|s| s.starts_with("/console/assets/console.") && s.ends_with(".css"))
        .expect("the stylesheet's hashed URL")
        .to_string();
    let js = page
        .text
        .split('"')
        .find(|s| s.starts_with("/console/assets/htmx.") && s.ends_with(".js"))
        .expect("htmx's hashed URL")
        .to_string();
    for path in [
        "/console/campaigns",
        "/console/sign-in",
        "/console/no-such-page",
        css.as_str(),
        js.as_str(),
    ] {
        let p = c.get(path).await;
        assert_eq!(
            p.header("content-security-policy").as_deref(),
            Some(CSP),
            "{path}"
        );
        assert_eq!(
            p.header("x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
        assert_eq!(
            p.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert!(p.header("referrer-policy").is_some(), "{path}");
    }
    assert_eq!(c.get("/console/no-such-page").await.status, 404);
    assert_eq!(
        c.get("/console/campaigns")
            .await
            .header("cache-control")
            .as_deref(),
        Some("no-store")
    );
    let p = c.get(&css).await;
    assert_eq!(p.status, 200);
    assert_eq!(
        p.header("content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        p.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        c.get("/console/assets/console.0000000000000000.css")
            .await
            .status,
        404
    );
    // The refusal of a POST without a token carries them too.
    let p = c.post_raw("/console/sign-out", &[]).await;
    assert_eq!(p.header("content-security-policy").as_deref(), Some(CSP));
}

#[tokio::test]
async fn a_revoked_key_ends_its_console_session() {
    let m = Mock::start().await;
    let (id, secret) = new_key(&m).await;
    let mut c = ConsoleClient::signed_in(&m.base, &secret).await;
    assert_eq!(c.get("/console/campaigns").await.status, 200);
    revoke(&m, &id).await;
    let p = c.get("/console/campaigns").await;
    assert_eq!(
        (p.status, p.location().as_deref()),
        (303, Some("/console/sign-in"))
    );
    let p = c.get("/console/sign-in").await;
    assert!(p.text.contains("no longer works"), "{}", p.text);
}

#[tokio::test]
async fn console_pages_stay_out_of_the_api_journal() {
    let m = Mock::start().await;
    let mut c = ConsoleClient::signed_in(&m.base, &m.key).await;
    c.get("/console/campaigns").await;
    assert_eq!(
        m.call("GET", "/v1/app", Some(&m.key), None, None)
            .await
            .status,
        200
    );
    let j = m.call("GET", "/_mock/journal", None, None, None).await;
    let paths: Vec<&str> = j.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert!(paths.contains(&"/v1/app"), "{paths:?}");
    assert!(
        paths.iter().all(|p| !p.starts_with("/console")),
        "{paths:?}"
    );
}

#[tokio::test]
async fn a_revoked_key_ends_an_open_journal_stream() {
    let m = Mock::start().await;
    let (id, secret) = new_key(&m).await;
    let c = ConsoleClient::signed_in(&m.base, &secret).await;
    let stream = reqwest::Client::new()
        .get(format!("{}/console/journal/stream", m.base))
        .header("cookie", format!("moments_console={}", c.cookie().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut body = stream;
    // Read the stream until `wanted` has arrived (or it ends: false).
    async fn until(body: &mut reqwest::Response, wanted: &str) -> bool {
        let mut seen = String::new();
        while let Some(chunk) = body.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(wanted) {
                return true;
            }
        }
        false
    }
    // A request of the app reaches the open stream.
    m.get("/v1/campaigns?limit=1").await;
    assert!(
        until(&mut body, "event: entry").await,
        "a row arrives while signed in"
    );

    revoke(&m, &id).await;
    // The app's next request is not sent to the revoked session: the stream ends instead.
    m.get("/v1/campaigns?limit=2").await;
    let ended = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        until(&mut body, "limit=2"),
    )
    .await
    .expect("the stream ends rather than waiting");
    assert!(!ended, "no row after the key was revoked");
}

/// A new secret key of the demo app: (id, secret).
async fn new_key(m: &Mock) -> (String, String) {
    let created = m
        .call(
            "POST",
            "/v1/api_keys",
            Some(&m.key),
            Some(&m.idem()),
            Some(&serde_json::json!({"name": "console"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    (
        created.body["id"].as_str().unwrap().to_string(),
        created.body["secret"].as_str().unwrap().to_string(),
    )
}

/// Revokes key `id` through the API.
async fn revoke(m: &Mock, id: &str) {
    let revoked = m
        .call(
            "DELETE",
            &format!("/v1/api_keys/{id}"),
            Some(&m.key),
            None,
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
}
