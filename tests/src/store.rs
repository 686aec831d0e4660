//! Helpers for the persistent stores' tests (`tests/tests/store_*.rs`): a fresh PostgreSQL database
//! per test on the server `MOMENTS_TEST_POSTGRES` names, the mock binary as a child process on a
//! store, a TCP proxy that can lose the database and give it back, and HTTP calls that may fail.
//!
//! Without `MOMENTS_TEST_POSTGRES`, the PostgreSQL tests are skipped, loudly, or fail when `CI` is
//! set (as `cargo xtask ci` does): `cargo xtask postgres` starts a server and prints the variable.

use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::mock::Answer;

/// The environment variable naming the PostgreSQL server to create the test databases on
/// (`postgres://user@host:port/database`, a user allowed to create databases).
pub const POSTGRES_ENV: &str = "MOMENTS_TEST_POSTGRES";

/// `MOMENTS_TEST_POSTGRES`; when unset, `None` after saying on the terminal that `test` was
/// skipped, or a failure when `CI` is set (a skipped test in CI would read as a pass).
pub fn postgres_or_skip(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var(POSTGRES_ENV)
        && !url.trim().is_empty()
    {
        return Some(url);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set and {POSTGRES_ENV} is not: the PostgreSQL store tests must run in CI. \
         Run `cargo xtask postgres` and export the URL it prints (`cargo xtask ci` does this itself)"
    );
    // Straight to the process' stderr: libtest captures `eprintln!` of a passing test, and a
    // silent skip would read as a pass.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nSKIPPED {test}: {POSTGRES_ENV} is not set. Run `cargo xtask postgres` in another shell \
         and export the URL it prints (with CI set this fails)\n"
    );
    None
}

/// A random 64-bit number (std's randomly keyed hasher: no dependency for a name or a seed).
pub fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// 16 random lowercase hex digits.
pub fn random_hex() -> String {
    format!("{:016x}", random_u64())
}

/// A small seeded random stream (SplitMix64): a test prints its seed, and the seed replays it.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// The stream of `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}

/// `url` (`postgres://user@host:port/database?options`) naming `database` instead.
pub fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("{POSTGRES_ENV} is not a postgres:// URL: {url}"));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{scheme}://{authority}/{database}{query}")
}

/// `url` reaching the server at `addr` instead (the user and everything after the host stay).
pub fn with_address(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("not a postgres:// URL: {url}"));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user = authority.rsplit_once('@').map_or("", |(u, _)| u);
    let at = if user.is_empty() { "" } else { "@" };
    format!("{scheme}://{user}{at}{addr}{tail}")
}

/// The address of the server `url` names (its first host, a TCP one).
pub fn server_address(url: &str) -> SocketAddr {
    let c: tokio_postgres::Config = url
        .parse()
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV} ({url}) does not parse: {e}"));
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => panic!("{POSTGRES_ENV} ({url}) must name a TCP host"),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let host = if host == "localhost" {
        "127.0.0.1".to_owned()
    } else {
        host
    };
    format!("{host}:{port}")
        .parse()
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}'s host {host} is not an IP address: {e}"))
}

/// A client of `url`, its connection driven on the current runtime.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// A database made for one test (`t_<random hex>`), dropped (`WITH (FORCE)`, ending the
/// connections of servers still running on it) when this drops.
pub struct TestDb {
    admin: String,
    /// The database's name.
    pub name: String,
    /// Its URL (the admin URL naming this database).
    pub url: String,
}

impl TestDb {
    /// Creates a fresh database on the server of `admin` (`MOMENTS_TEST_POSTGRES`).
    pub async fn create(admin: &str) -> TestDb {
        let name = format!("t_{}", random_hex());
        connect(admin)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {POSTGRES_ENV}: {e}"));
        TestDb {
            admin: admin.to_owned(),
            url: with_database(admin, &name),
            name,
        }
    }

    /// A client of this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }

    /// This database's URL reaching the server at `addr` (a proxy's) instead.
    pub fn url_via(&self, addr: SocketAddr) -> String {
        with_address(&self.url, addr)
    }

    /// The address of the server.
    pub fn server(&self) -> SocketAddr {
        server_address(&self.admin)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Blocking, on a thread and runtime of its own: the test's runtime may be single-threaded
        // or shutting down.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!(
                "moments-e2e: could not drop the test database {}: {e}",
                self.name
            );
        }
    }
}

/// The mock binary running as a child process on a store; killed (SIGKILL) on drop.
pub struct MockProc {
    child: Child,
    /// `http://127.0.0.1:PORT`, from the first line the mock printed.
    pub base: String,
    stderr: Arc<Mutex<String>>,
}

/// How the mock binary's start ended when it did not listen: its exit and its standard error.
#[derive(Debug)]
pub struct StartFailure {
    /// The exit status (`None` when it did not exit in time and was killed).
    pub code: Option<i32>,
    /// What it wrote on standard error.
    pub stderr: String,
}

impl MockProc {
    /// Starts `bin --port 0 ARGS…` and waits (up to `timeout`) for it to print where it listens;
    /// when it exits first (or does not print in time), its exit and standard error.
    pub async fn start(
        bin: &Path,
        args: &[&str],
        timeout: Duration,
    ) -> Result<MockProc, StartFailure> {
        let bin = bin.to_owned();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        tokio::task::spawn_blocking(move || Self::start_blocking(&bin, &args, timeout))
            .await
            .expect("the start's thread")
    }

    fn start_blocking(
        bin: &Path,
        args: &[String],
        timeout: Duration,
    ) -> Result<MockProc, StartFailure> {
        let mut child = Command::new(bin)
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr");
        let err_sink = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                err_sink
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if !sent && let Some(i) = line.find("listening on http://") {
                    let _ = tx.send(line[i + "listening on ".len()..].trim().to_owned());
                    sent = true;
                }
                // Keep draining, so the child never blocks on a full pipe.
            }
        });
        match rx.recv_timeout(timeout) {
            Ok(base) => Ok(MockProc {
                child,
                base,
                stderr,
            }),
            Err(_) => {
                // Exited (stdout closed) or silent too long: make sure it is gone, then report.
                let code = match child.try_wait() {
                    Ok(Some(s)) => s.code(),
                    _ => {
                        let _ = child.kill();
                        None
                    }
                };
                let status = child.wait().ok();
                let _ = err_reader.join();
                let stderr = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
                Err(StartFailure {
                    code: code.or_else(|| status.and_then(|s| s.code())),
                    stderr,
                })
            }
        }
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the process wrote on standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for MockProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy to `target` that the test can cut (its listener closed, every connection through
/// it closed: the database is lost) and restore (listening again on the same port).
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
    listening: tokio::sync::watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy on a free port of 127.0.0.1, listening when this returns.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the proxy");
        Self::serve(listener, target).await
    }

    /// A proxy on `addr` (a port the test chose, on which nothing listened so far).
    pub async fn start_on(addr: SocketAddr, target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("the proxy binds {addr}: {e}"));
        Self::serve(listener, target).await
    }

    async fn serve(listener: tokio::net::TcpListener, target: SocketAddr) -> Proxy {
        let addr = listener.local_addr().expect("the proxy's address");
        let (up, up_rx) = tokio::sync::watch::channel(true);
        let (listening_tx, listening) = tokio::sync::watch::channel(true);
        let task = tokio::spawn(run_proxy(listener, addr, target, up_rx, listening_tx));
        Proxy {
            addr,
            up,
            listening,
            task,
        }
    }

    /// Loses the database: the listener closes (new connections are refused) and every connection
    /// through the proxy closes. Returns once the listener is closed.
    pub async fn cut(&self) {
        self.up.send_replace(false);
        let mut l = self.listening.clone();
        l.wait_for(|on| !*on).await.expect("the proxy runs");
    }

    /// Gives the database back: listening again on the same port when this returns.
    pub async fn restore(&self) {
        self.up.send_replace(true);
        let mut l = self.listening.clone();
        l.wait_for(|on| *on).await.expect("the proxy runs");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.up.send_replace(false);
        self.task.abort();
    }
}

async fn run_proxy(
    first: tokio::net::TcpListener,
    addr: SocketAddr,
    target: SocketAddr,
    mut up: tokio::sync::watch::Receiver<bool>,
    listening: tokio::sync::watch::Sender<bool>,
) {
    let mut listener = Some(first);
    loop {
        let l = match listener.take() {
            Some(l) => l,
            None => {
                if up.wait_for(|on| *on).await.is_err() {
                    return;
                }
                // The port was ours a moment ago (SO_REUSEADDR is set by tokio's bind).
                let mut tries = 0;
                loop {
                    match tokio::net::TcpListener::bind(addr).await {
                        Ok(l) => break l,
                        Err(e) if tries < 50 => {
                            tries += 1;
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => panic!("the proxy binds {addr} again: {e}"),
                    }
                }
            }
        };
        listening.send_replace(true);
        loop {
            tokio::select! {
                changed = up.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if !*up.borrow_and_update() {
                        break;
                    }
                }
                accepted = l.accept() => {
                    let Ok((mut inbound, _)) = accepted else { continue };
                    let mut down = up.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                            return;
                        };
                        // (`copy_bidirectional` is tokio's `io-util`, which tokio-postgres enables.)
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = down.wait_for(|on| !*on) => {}
                        }
                        // Both sockets close here.
                    });
                }
            }
        }
        drop(l);
        listening.send_replace(false);
    }
}

/// A client for calls that may get no answer (a killed server): reqwest with a timeout.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("an HTTP client")
}

/// A request to `base` with an optional bearer key, idempotency key and JSON body; `Err` when no
/// answer came (connection refused or closed, timeout).
pub async fn try_call(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    idem: Option<&str>,
    body: Option<&Value>,
) -> Result<Answer, reqwest::Error> {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = http.request(m, format!("{base}{path}"));
    if let Some(a) = auth {
        req = req.bearer_auth(a);
    }
    if let Some(k) = idem {
        req = req.header("Idempotency-Key", k);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        body,
        headers,
        text,
    })
}

/// [`try_call`] that must get an answer.
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    idem: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    try_call(http, base, method, path, auth, idem, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {base}{path}: no answer: {e}"))
}

/// Every reward of `campaign` listed at `base` (all pages, in the list's order).
pub async fn all_rewards(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    campaign: &str,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let page = call(
            http,
            base,
            "GET",
            &format!("/v1/rewards?campaign_id={campaign}&limit=100{q}"),
            Some(key),
            None,
            None,
        )
        .await;
        assert_eq!(page.status, 200, "the reward list: {}", page.text);
        out.extend(page.body["data"].as_array().expect("data").iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// A campaign body for `launch_campaign`: US, moment `m1` (reportable by the app), `budget` and
/// `cost` in USD cents, starting a minute before `now` (the server's clock), fraud limits out of
/// the way of a load test.
pub fn campaign_body(now: chrono::DateTime<chrono::Utc>, budget: i64, cost: i64) -> Value {
    let t = |s: i64| {
        (now + chrono::Duration::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    serde_json::json!({
        "name": "Store test", "brand_name": "Test Brand",
        "start_at": t(-60), "end_at": t(60 * 86_400),
        "budget": {"amount": budget, "currency": "USD"},
        "cost_per_action": {"amount": cost, "currency": "USD"},
        "marketplaces": ["US"],
        "reward_groups": [{"id": "US", "marketplace": "US", "items": ["itm_echo_dot", "itm_gc_10"]}],
        "moments": [{"id": "m1", "client_reportable": true}],
        "announcement_message": "Do it and win", "redemption_message": "Well done!",
        "landing_image_url": "https://images.example.com/landing.png",
        "fraud": {"max_actions_per_ip_per_hour": 1_000_000, "max_actions_per_device_per_hour": 1_000_000}
    })
}

/// The server's clock at `base` (`key`: a secret key of the sandbox, which a shared sandbox's
/// control API asks for).
pub async fn server_now(
    http: &reqwest::Client,
    base: &str,
    key: &str,
) -> chrono::DateTime<chrono::Utc> {
    let a = call(http, base, "GET", "/_mock/clock", Some(key), None, None).await;
    assert_eq!(a.status, 200, "GET /_mock/clock: {}", a.text);
    a.body["now"]
        .as_str()
        .expect("now")
        .parse()
        .expect("RFC 3339")
}

/// Creates, submits and approves a campaign at `base` (keys `<prefix>-create|submit|approve`);
/// returns its id.
pub async fn launch_campaign(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    prefix: &str,
    body: &Value,
) -> String {
    let a = call(
        http,
        base,
        "POST",
        "/v1/campaigns",
        Some(key),
        Some(&format!("{prefix}-create")),
        Some(body),
    )
    .await;
    assert_eq!(a.status, 201, "create the campaign: {}", a.text);
    let id = a.body["id"].as_str().expect("id").to_owned();
    for step in ["submit", "approve"] {
        let a = call(
            http,
            base,
            "POST",
            &format!("/v1/campaigns/{id}/{step}"),
            Some(key),
            Some(&format!("{prefix}-{step}")),
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{step} the campaign: {}", a.text);
    }
    id
}

/// A trigger's body: campaign `campaign`, moment `moment`, customer `customer` (US, Android).
pub fn trigger_body(campaign: &str, moment: &str, customer: &str) -> Value {
    serde_json::json!({
        "campaign_id": campaign, "moment_id": moment,
        "customer": {"id": customer, "marketplace": "US"},
        "device": {"type": "Android"}
    })
}
