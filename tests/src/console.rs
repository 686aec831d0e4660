//! A client of the Moments Console for plain-HTTP tests (`tests/tests/console_*.rs`): it keeps the
//! session cookie, reads each page's CSRF token and sends it with the next form, and follows no
//! redirect by itself (a test sees the `303` and its `Location`).

/// A console answer.
#[derive(Debug, Clone)]
pub struct Page {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub text: String,
}

impl Page {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The `Location` of a redirect.
    pub fn location(&self) -> Option<String> {
        self.header("location")
    }
}

/// One browser-like session of the console.
pub struct ConsoleClient {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
    csrf: Option<String>,
}

/// The value of `name="csrf" value="…"` in a page.
fn csrf_of(text: &str) -> Option<String> {
    let at = text.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = text[at..].find('"')?;
    Some(text[at..at + end].to_string())
}

impl ConsoleClient {
    /// A client of the console of the mock at `base`, signed out.
    pub fn new(base: &str) -> ConsoleClient {
        ConsoleClient {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.trim_end_matches('/').to_string(),
            cookie: None,
            csrf: None,
        }
    }

    /// Signs in with `secret` (`GET` then `POST /console/sign-in`) and returns the client; panics
    /// unless the console accepts it.
    pub async fn signed_in(base: &str, secret: &str) -> ConsoleClient {
        let mut c = ConsoleClient::new(base);
        let p = c.sign_in(secret).await;
        assert_eq!(p.status, 303, "sign-in refused: {}", p.text);
        c
    }

    /// `GET /console/sign-in`, then posts `secret`.
    pub async fn sign_in(&mut self, secret: &str) -> Page {
        let p = self.get("/console/sign-in").await;
        assert_eq!(p.status, 200, "{}", p.text);
        self.post("/console/sign-in", &[("secret_key", secret)])
            .await
    }

    /// The session cookie's value, if any.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// The CSRF token of the last page that had one.
    pub fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }

    async fn finish(&mut self, r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().unwrap_or_default();
            if let Some(rest) = v.strip_prefix("moments_console=") {
                let value = rest.split(';').next().unwrap_or_default();
                self.cookie = (!value.is_empty()).then(|| value.to_string());
            }
        }
        let text = r.text().await.unwrap_or_default();
        if let Some(t) = csrf_of(&text) {
            self.csrf = Some(t);
        }
        Page {
            status,
            headers,
            text,
        }
    }

    fn with_cookie(&self, b: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => b.header("cookie", format!("moments_console={c}")),
            None => b,
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let b = self.with_cookie(self.http.get(format!("{}{path}", self.base)));
        let r = b.send().await.expect("the console answers");
        self.finish(r).await
    }

    /// `GET path` as htmx sends it (`HX-Request: true`), without reading a CSRF token from the fragment.
    pub async fn get_htmx(&mut self, path: &str) -> Page {
        let b = self.with_cookie(self.http.get(format!("{}{path}", self.base)));
        let r = b
            .header("hx-request", "true")
            .send()
            .await
            .expect("the console answers");
        let csrf = self.csrf.clone();
        let page = self.finish(r).await;
        self.csrf = csrf;
        page
    }

    /// `POST path` with a form of `fields` and the session's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone().unwrap_or_default();
        form.push(("csrf", &csrf));
        self.post_raw(path, &form).await
    }

    /// `POST path` with exactly `fields` (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let b = self.with_cookie(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        );
        let r = b.send().await.expect("the console answers");
        self.finish(r).await
    }
}

/// Percent-encodes a form value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
