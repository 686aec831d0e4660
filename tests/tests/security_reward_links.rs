//! Reward links are bearer credentials: single use under any concurrency, unguessable, and every
//! bad link (forged, expired, used, cancelled) gets a clear page and no item.

use std::collections::HashSet;
use std::sync::Arc;

use moments_e2e::mock::Mock;
use serde_json::{Value, json};

/// The requests these tests repeat, on the shared harness.
trait LinkApi {
    /// Issues a reward on the demo campaign for a fresh customer (own device and IP, so fraud
    /// velocity limits never interfere).
    async fn issue(&self, n: u32) -> Value;
    /// Advances the mock's clock.
    async fn clock_advance(&self, seconds: i64);
    /// A reward, read with the secret key.
    async fn reward(&self, id: &str) -> Value;
    /// `GET` a landing page: status, content type and text.
    async fn page(&self, url: &str) -> (u16, String, String);
}

impl LinkApi for Mock {
    /// Issues a reward on the demo campaign for a fresh customer (own device and IP, so fraud
    /// velocity limits never interfere).
    async fn issue(&self, n: u32) -> Value {
        let body = json!({
            "campaign_id": self.campaign, "moment_id": "first_workout",
            "customer": {"id": format!("cust_link_{n}"), "marketplace": "US"},
            "device": {"type": "Android", "id": format!("dev-link-{n}"),
                       "ip": format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256)},
        });
        let res = self
            .http
            .post(format!("{}/v1/triggers", self.base))
            .bearer_auth(&self.key)
            .header("idempotency-key", format!("link-{n}"))
            .json(&body)
            .send()
            .await
            .expect("trigger");
        let status = res.status();
        let v: Value = res.json().await.expect("JSON");
        assert_eq!(status, 200, "trigger {n}: {v}");
        assert_eq!(v["outcome"], "reward", "{v}");
        v["reward"].clone()
    }

    async fn clock_advance(&self, seconds: i64) {
        let res = self
            .http
            .post(format!("{}/_mock/clock/advance", self.base))
            // A shared sandbox's control API (a PostgreSQL store) acts for a secret key.
            .bearer_auth(&self.key)
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .expect("clock");
        assert!(res.status().is_success(), "clock advance: {}", res.status());
    }

    async fn reward(&self, id: &str) -> Value {
        self.http
            .get(format!("{}/v1/rewards/{id}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("reward")
            .json()
            .await
            .expect("JSON")
    }

    /// `GET` a landing page: status, content type and text.
    async fn page(&self, url: &str) -> (u16, String, String) {
        let res = self.http.get(url).send().await.expect("page");
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, ct, res.text().await.expect("text"))
    }
}

fn token_of(reward: &Value) -> String {
    reward["url"]
        .as_str()
        .expect("url")
        .rsplit('/')
        .next()
        .expect("token")
        .to_owned()
}

/// The JSON redemption body for the reward's first choice (with an address when physical).
fn redeem_body(reward: &Value) -> Value {
    let item = &reward["offer"]["items"][0];
    let mut b = json!({ "item_id": item["item_id"] });
    if item["kind"] == "physical" {
        b["shipping_address"] = json!({"name": "Ada Lovelace", "line1": "12 Analytical St",
                                       "city": "London", "postal_code": "N1 9GU", "country": "UK"});
    }
    b
}

/// The same redemption as an HTML form post.
fn redeem_form(reward: &Value) -> String {
    let item = &reward["offer"]["items"][0];
    let mut f = format!("item_id={}", item["item_id"].as_str().expect("item id"));
    if item["kind"] == "physical" {
        f.push_str(
            "&name=Ada+Lovelace&line1=12+Analytical+St&city=London&postal_code=N1+9GU&country=UK",
        );
    }
    f
}

fn assert_clear_page(
    what: &str,
    (status, ct, text): &(u16, String, String),
    want: u16,
    words: &[&str],
) {
    assert_eq!(*status, want, "{what}: status {status}: {text}");
    assert!(ct.starts_with("text/html"), "{what}: content type {ct}");
    let lower = text.to_lowercase();
    assert!(
        words.iter().any(|w| lower.contains(w)),
        "{what}: the page should say one of {words:?}: {text}"
    );
    assert!(
        !lower.contains("name=\"item_id\""),
        "{what}: a dead link must not offer an item to pick: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_redeems_of_one_link_succeed_exactly_once() {
    let api = Arc::new(Mock::start().await);
    let reward = api.issue(1).await;
    let token = token_of(&reward);
    let body = redeem_body(&reward);
    let form = redeem_form(&reward);
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (api, barrier, token, body, form) = (
            api.clone(),
            barrier.clone(),
            token.clone(),
            body.clone(),
            form.clone(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            // Half over the JSON twin, half as the landing page's form post: one link, one item.
            let res = if i % 2 == 0 {
                api.http
                    .post(format!("{}/v1/redemptions/{token}", api.base))
                    .json(&body)
                    .send()
                    .await
            } else {
                api.http
                    .post(format!("{}/r/{token}", api.base))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form)
                    .send()
                    .await
            }
            .expect("answer");
            let status = res.status().as_u16();
            let text = res.text().await.expect("text");
            (i % 2 == 0, status, text)
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (json, status, text) = t.await.expect("task");
        match status {
            200 => ok += 1,
            409 => {
                if json {
                    let v: Value = serde_json::from_str(&text).expect("envelope");
                    assert_eq!(v["error"]["code"], "reward_already_redeemed", "{v}");
                }
            }
            s => panic!("unexpected {s}: {text}"),
        }
    }
    assert_eq!(ok, 1, "exactly one of 100 concurrent redemptions succeeds");
    let r = api.reward(reward["id"].as_str().expect("id")).await;
    assert_eq!(r["status"], "redeemed", "{r}");

    let used = api.page(&format!("{}/r/{token}", api.base)).await;
    assert_clear_page("used link", &used, 409, &["already", "used", "redeemed"]);
    let api = Arc::into_inner(api).expect("every task has finished");
    api.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_cancelled_links_get_clear_pages_and_no_item() {
    let api = Mock::start().await;

    // Forged: a well-formed token that was never issued, and garbage.
    for forged in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not-a-token",
        "%2e%2e%2fadmin",
    ] {
        let page = api.page(&format!("{}/r/{forged}", api.base)).await;
        assert_clear_page(
            "forged link",
            &page,
            404,
            &[
                "not found",
                "invalid",
                "not valid",
                "does not exist",
                "unknown",
            ],
        );
        let res = api
            .http
            .post(format!("{}/v1/redemptions/{forged}", api.base))
            .json(&json!({"item_id": "itm_gc_10"}))
            .send()
            .await
            .expect("answer");
        assert_eq!(res.status(), 404);
        let v: Value = res.json().await.expect("envelope");
        assert_eq!(v["error"]["code"], "resource_not_found", "{v}");
    }

    // Cancelled by the brand: 409, and the item cannot be taken.
    let cancelled = api.issue(2).await;
    let id = cancelled["id"].as_str().expect("id");
    let res = api
        .http
        .post(format!("{}/v1/rewards/{id}/cancel", api.base))
        .bearer_auth(&api.key)
        .header("idempotency-key", "cancel-2")
        .send()
        .await
        .expect("cancel");
    assert_eq!(res.status(), 200);
    let url = cancelled["url"].as_str().expect("url");
    let page = api.page(url).await;
    assert_clear_page("cancelled link", &page, 409, &["cancel", "no longer"]);
    let res = api
        .http
        .post(format!(
            "{}/v1/redemptions/{}",
            api.base,
            token_of(&cancelled)
        ))
        .json(&redeem_body(&cancelled))
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), 409);
    let v: Value = res.json().await.expect("envelope");
    assert_eq!(v["error"]["code"], "reward_not_redeemable", "{v}");

    // Expired: advance the mock's clock past the 30-day default expiry.
    let expiring = api.issue(3).await;
    api.clock_advance(2_592_000 + 60).await;
    let page = api.page(expiring["url"].as_str().expect("url")).await;
    assert_clear_page("expired link", &page, 410, &["expired"]);
    let res = api
        .http
        .post(format!(
            "{}/v1/redemptions/{}",
            api.base,
            token_of(&expiring)
        ))
        .json(&redeem_body(&expiring))
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), 410);
    let v: Value = res.json().await.expect("envelope");
    assert_eq!(v["error"]["code"], "reward_expired", "{v}");
    let r = api.reward(expiring["id"].as_str().expect("id")).await;
    assert_eq!(r["status"], "expired", "{r}");
    api.server.shutdown().await;
}

/// Bits per character of the smallest standard alphabet that holds every character seen.
fn bits_per_char(tokens: &[String]) -> f64 {
    let all = tokens.iter().flat_map(|t| t.chars());
    let chars: HashSet<char> = all.collect();
    if chars
        .iter()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    {
        4.0
    } else if chars.iter().all(char::is_ascii_alphanumeric) {
        62f64.log2()
    } else if chars
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
    {
        6.0
    } else {
        panic!("reward tokens use characters outside base64url: {chars:?}")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reward_tokens_carry_at_least_128_bits_and_never_repeat() {
    const N: u32 = 300;
    let api = Mock::start().await;
    let mut tokens = Vec::new();
    for n in 0..N {
        tokens.push(token_of(&api.issue(1000 + n).await));
    }
    let distinct: HashSet<&String> = tokens.iter().collect();
    assert_eq!(distinct.len(), tokens.len(), "a reward token repeated");
    let bpc = bits_per_char(&tokens);
    let min_len = tokens.iter().map(String::len).min().expect("tokens");
    let bits = bpc * min_len as f64;
    eprintln!("reward tokens: {N} distinct, {min_len} chars × {bpc:.2} bits = {bits:.0} bits");
    assert!(bits >= 128.0, "reward tokens carry only {bits:.0} bits");

    // A CSPRNG's output is unbiased: every position uses the whole alphabet and the character
    // frequencies are flat (loose bounds: a failure means a real bias, not bad luck).
    let mut counts = std::collections::HashMap::<char, usize>::new();
    for c in tokens.iter().flat_map(|t| t.chars()) {
        *counts.entry(c).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let alphabet = 2f64.powf(bpc).round() as usize;
    let expected = total as f64 / alphabet as f64;
    assert!(
        counts.len() as f64 >= alphabet as f64 * 0.95,
        "only {} symbols used",
        counts.len()
    );
    for (c, n) in &counts {
        assert!(
            (*n as f64) < expected * 2.0,
            "symbol {c:?} appears {n} times, expected about {expected:.0}"
        );
    }
    // No shared prefix: tokens are not a counter or a timestamp with a random tail.
    let first: HashSet<&str> = tokens.iter().map(|t| &t[..4]).collect();
    assert!(first.len() as f64 > N as f64 * 0.9, "tokens share prefixes");
    api.server.shutdown().await;
}

/// Standard base64 (with padding), for the CSP hash of the page's stylesheet.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The answer's directives, by name.
fn csp_directives(csp: &str) -> std::collections::HashMap<String, String> {
    csp.split(';')
        .filter_map(|d| {
            let d = d.trim();
            let (name, value) = d.split_once(' ').unwrap_or((d, ""));
            (!name.is_empty()).then(|| (name.to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect()
}

/// Asserts the security headers of a reward link's answer; returns the CSP's directives.
fn assert_link_headers(
    what: &str,
    res: &reqwest::Response,
    want: u16,
) -> std::collections::HashMap<String, String> {
    assert_eq!(res.status().as_u16(), want, "{what}: status");
    let h = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {n} header"))
            .to_owned()
    };
    assert_eq!(h("cache-control"), "no-store", "{what}");
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    let csp = h("content-security-policy");
    assert!(
        !csp.contains("unsafe-") && !csp.contains('*'),
        "{what}: a loose policy: {csp}"
    );
    let d = csp_directives(&csp);
    let get = |name: &str| d.get(name).map(String::as_str);
    assert_eq!(get("default-src"), Some("'none'"), "{what}: {csp}");
    // No script at all: no script-src, so default-src 'none' governs scripts.
    assert_eq!(get("script-src"), None, "{what}: {csp}");
    assert_eq!(get("img-src"), Some("https:"), "{what}: {csp}");
    assert_eq!(get("frame-ancestors"), Some("'none'"), "{what}: {csp}");
    assert_eq!(get("form-action"), Some("'self'"), "{what}: {csp}");
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_on_a_reward_link_carries_the_security_headers() {
    let api = Mock::start().await;
    let http = &api.http;
    let base = &api.base;
    let page = |token: &str| format!("{base}/r/{token}");
    let json_url = |token: &str| format!("{base}/v1/redemptions/{token}");
    let form = |url: String, body: String| {
        http.post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };

    // Issued: the page and its JSON twin.
    let reward = api.issue(20).await;
    let token = token_of(&reward);
    let res = http.get(page(&token)).send().await.expect("page");
    let csp = assert_link_headers("issued page", &res, 200);
    let html = res.text().await.expect("html");
    assert!(html.contains("name=\"item_id\""), "{html}");
    assert!(
        !html.contains("<script") && !html.contains(" style="),
        "{html}"
    );
    // The page's one inline stylesheet is the one the policy allows by its hash.
    let style = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(css, _)| css)
        .expect("a stylesheet");
    use sha2::Digest;
    let hash = format!("'sha256-{}'", base64(&sha2::Sha256::digest(style)));
    assert_eq!(csp.get("style-src"), Some(&hash), "{csp:?}");
    let res = http.get(json_url(&token)).send().await.expect("json");
    assert_link_headers("issued JSON", &res, 200);

    // Error answers: a form without the address a physical item needs, JSON that does not parse,
    // a body that is not JSON, an injected fault.
    let physical = Mock::physical_item(&reward);
    let res = form(page(&token), format!("item_id={physical}"))
        .await
        .expect("form");
    assert_link_headers("form error page", &res, 400);
    let res = http
        .post(json_url(&token))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("bad json");
    assert_link_headers("invalid JSON", &res, 400);
    let res = http
        .post(json_url(&token))
        .header("content-type", "text/plain")
        .body("item_id=x")
        .send()
        .await
        .expect("bad type");
    assert_link_headers("unsupported media type", &res, 415);
    let fault = http
        .post(format!("{base}/_mock/faults"))
        .bearer_auth(&api.key)
        .json(&json!({"route": "GET /r/{token}", "status": 503}))
        .send()
        .await
        .expect("fault");
    assert_eq!(fault.status(), 201);
    let res = http.get(page(&token)).send().await.expect("page");
    assert_link_headers("injected fault", &res, 503);

    // Redeemed through the form, for the digital item: the confirmation shows the code.
    let digital = reward["offer"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "digital")
        .expect("a digital item")["item_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let res = form(page(&token), format!("item_id={digital}"))
        .await
        .expect("form");
    assert_link_headers("confirmation page", &res, 200);
    assert!(res.text().await.expect("html").contains("Your code"));
    let res = http.get(page(&token)).send().await.expect("page");
    assert_link_headers("redeemed page", &res, 409);
    let res = form(page(&token), format!("item_id={digital}"))
        .await
        .expect("form");
    assert_link_headers("second form post", &res, 409);
    let res = http.get(json_url(&token)).send().await.expect("json");
    assert_link_headers("redeemed JSON", &res, 200);
    let res = http
        .post(json_url(&token))
        .json(&json!({"item_id": digital}))
        .send()
        .await
        .expect("json");
    assert_link_headers("second JSON redemption", &res, 409);

    // A JSON redemption that succeeds.
    let other = api.issue(21).await;
    let res = http
        .post(json_url(&token_of(&other)))
        .json(&redeem_body(&other))
        .send()
        .await
        .expect("json");
    assert_link_headers("JSON redemption", &res, 200);

    // Forged, unknown and malformed links.
    for forged in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not-a-token"] {
        let res = http.get(page(forged)).send().await.expect("page");
        assert_link_headers("forged page", &res, 404);
        let res = form(page(forged), "item_id=itm_gc_10".into())
            .await
            .expect("form");
        assert_link_headers("forged form post", &res, 404);
        let res = http.get(json_url(forged)).send().await.expect("json");
        assert_link_headers("forged JSON", &res, 404);
    }
    let res = http
        .get(format!("{base}/r/{token}/extra"))
        .send()
        .await
        .expect("page");
    assert_link_headers("no such page", &res, 404);

    // Expired, on the mock's clock.
    let expiring = api.issue(22).await;
    api.clock_advance(2_592_000 + 60).await;
    let res = http
        .get(expiring["url"].as_str().expect("url"))
        .send()
        .await
        .expect("page");
    assert_link_headers("expired page", &res, 410);
    let res = http
        .get(json_url(&token_of(&expiring)))
        .send()
        .await
        .expect("json");
    assert_link_headers("expired JSON", &res, 410);

    // The rest of the API is not a reward link and keeps its own headers.
    let res = http
        .get(format!(
            "{base}/v1/rewards/{}",
            reward["id"].as_str().expect("id")
        ))
        .bearer_auth(&api.key)
        .send()
        .await
        .expect("reward");
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-security-policy").is_none());
    api.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_landing_image_only_over_https() {
    let m = moments_e2e::mock::Mock::start().await;
    let mut shown = Vec::new();
    for image in [
        "https://images.example.com/brand.png",
        "http://images.example.com/brand.png",
    ] {
        let mut body = m.campaign_body(-60, 10_000, 500).await;
        body["landing_image_url"] = json!(image);
        let campaign = m.launch(body).await;
        let t = m.trigger(&campaign, "m1", "cust_img", "US").await;
        assert_eq!(t.status, 200, "{}", t.text);
        let url = t.body["reward"]["url"].as_str().expect("url");
        let html = m.http.get(url).send().await.expect("page");
        let html = html.text().await.expect("html");
        shown.push(html.contains(&format!("<img src=\"{image}\"")));
        // The JSON twin returns the URL whatever its scheme.
        let token = moments_e2e::mock::Mock::link_token(url);
        let v = m
            .call("GET", &format!("/v1/redemptions/{token}"), None, None, None)
            .await;
        assert_eq!(v.body["image_url"], image, "{}", v.text);
    }
    // The policy allows https images only: an http one would be blocked, so it is left out.
    assert_eq!(shown, [true, false]);
}
