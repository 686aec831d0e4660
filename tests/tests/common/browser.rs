//! Headless Chromium over W3C WebDriver (Debian's `chromium` and `chromium-driver`), for the browser
//! tests. Without them [`start_driver`] skips the test loudly, or fails it when `CI` is set (as
//! `cargo xtask ci` does, after installing both).

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// How long the `*_when` helpers wait for the page to reach the state they look for.
const WAIT: Duration = Duration::from_secs(15);

/// A chromedriver child process, killed on drop.
pub struct Driver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts chromedriver. `None` when Chromium or chromedriver is missing outside CI, after saying on the
/// terminal that `test` was skipped; under CI (`CI` set, as `cargo xtask ci` does) a missing browser fails
/// the test.
pub async fn start_driver(test: &str) -> Option<Driver> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and {} missing: the browser test must run in CI \
             (`cargo xtask ci` installs the Debian packages chromium and chromium-driver)",
            missing.join(" and ")
        );
        // Straight to the process' stderr: libtest captures `eprintln!` of a passing test, and a silent
        // skip would read as a pass.
        let _ = writeln!(
            std::io::stderr().lock(),
            "\nSKIPPED {test}: {} missing \
             (install the Debian packages chromium and chromium-driver; with CI set this fails)\n",
            missing.join(" and ")
        );
        return None;
    }
    // The port is free when chosen but not held: another process can take it before chromedriver
    // binds it. Then chromedriver exits, and the next attempt picks another port.
    let http = reqwest::Client::new();
    for _attempt in 0..3 {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile: tempfile::tempdir().expect("profile dir"),
        };
        // Wait until chromedriver answers its status endpoint (bounded), or exits.
        for _ in 0..100 {
            if http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .is_ok()
            {
                return Some(driver);
            }
            if driver
                .child
                .try_wait()
                .expect("chromedriver's status")
                .is_some()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("chromedriver did not start (three ports tried, 10 s each)");
}

/// A minimal W3C WebDriver session over HTTP (what chromedriver speaks).
pub struct Browser {
    http: reqwest::Client,
    session: String,
    base: String,
}

/// The W3C key under which an element reference is returned.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// A new headless session, with its own profile (cookies are not shared between tests).
    pub async fn open(driver: &Driver) -> Browser {
        let profile = driver.profile.path().display().to_string();
        let http = reqwest::Client::new();
        let answer: Value = http
            .post(format!("{}/session", driver.url))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--disable-dev-shm-usage", "--window-size=1280,1024", format!("--user-data-dir={profile}")
                    ]
                }
            }}}))
            .send()
            .await
            .expect("new session request")
            .json()
            .await
            .expect("new session JSON");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_owned();
        Browser {
            http,
            session,
            base: driver.url.clone(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = self.http.request(method.clone(), url);
        // chromedriver rejects a body on GET; W3C commands without parameters take `{}`.
        let request = if method == reqwest::Method::GET {
            request
        } else {
            request.json(&body)
        };
        let answer: Value = request
            .send()
            .await
            .expect("WebDriver request")
            .json()
            .await
            .expect("WebDriver JSON");
        answer["value"].clone()
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    /// The current page's URL.
    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element matching a CSS selector, if any.
    pub async fn find(&self, css: &str) -> Option<String> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        value[ELEMENT_KEY].as_str().map(str::to_owned)
    }

    /// The element matching a CSS selector; panics with the page's text when there is none.
    pub async fn expect(&self, css: &str) -> String {
        match self.find(css).await {
            Some(element) => element,
            None => panic!("no element matches {css}; page: {}", self.text().await),
        }
    }

    /// The element matching a CSS selector once there is one (a page still loading, or a part that
    /// script adds), for up to 15 s; then as [`Browser::expect`].
    pub async fn expect_when(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(element) = self.find(css).await {
                return element;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.expect(css).await
    }

    /// Clicks an element.
    pub async fn click(&self, element: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    /// Clears a form control and types `text` into it.
    pub async fn type_into(&self, element: &str, text: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            json!({}),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    /// The computed value of a CSS property of an element.
    pub async fn css(&self, element: &str, property: &str) -> String {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/css/{property}"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The visible text of an element.
    pub async fn element_text(&self, element: &str) -> String {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The visible text of the page body.
    pub async fn text(&self) -> String {
        let Some(body) = self.find("body").await else {
            return String::new();
        };
        self.element_text(&body).await
    }

    /// The page text once `ready` accepts it. A click that submits a form returns while the next
    /// page may still be loading (its body then reads empty), so poll for up to 15 s; the caller
    /// asserts on whatever text the page had last.
    pub async fn text_when(&self, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text().await;
            if ready(&text) || Instant::now() >= deadline {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its value.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Writes a PNG screenshot of the viewport to `path`, creating its directory.
    pub async fn screenshot(&self, path: &Path) {
        let png = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a screenshot"))
            .expect("base64 PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("screenshot written");
    }

    /// Whether a JavaScript dialog (`alert`, `confirm`, `prompt`) is open.
    pub async fn alert_open(&self) -> bool {
        let v = self
            .call(reqwest::Method::GET, "/alert/text", Value::Null)
            .await;
        v.get("error").is_none()
    }

    /// The current window's handle.
    pub async fn window(&self) -> String {
        self.call(reqwest::Method::GET, "/window", Value::Null)
            .await
            .as_str()
            .expect("a window handle")
            .to_owned()
    }

    /// Opens a new tab and returns its handle (the current window stays current).
    pub async fn new_window(&self) -> String {
        self.call(reqwest::Method::POST, "/window/new", json!({"type": "tab"}))
            .await["handle"]
            .as_str()
            .expect("a window handle")
            .to_owned()
    }

    /// Makes a window current.
    pub async fn switch_to(&self, handle: &str) {
        self.call(reqwest::Method::POST, "/window", json!({"handle": handle}))
            .await;
    }

    /// Ends the session.
    pub async fn quit(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}
