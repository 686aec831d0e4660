//! [`Journal`]: the mock's request journal (`/_mock/journal`) and expectations on it.

use std::fmt;

use super::{Control, Error, JournalEntry, Page, Result, Route};

/// The request journal: the last 10,000 requests the mock answered, oldest first, control calls
/// included (expectations leave those out).
#[derive(Clone, Debug)]
pub struct Journal {
    control: Control,
}

impl JournalEntry {
    /// Whether this request was one of `route`'s.
    pub fn is(&self, route: &Route) -> bool {
        route.matches(&self.method, &self.path, self.route.as_deref())
    }

    /// Whether it was a control API call (`/_mock/…`).
    pub fn is_control(&self) -> bool {
        self.path.starts_with("/_mock/")
    }
}

impl Journal {
    pub(crate) fn new(control: Control) -> Journal {
        Journal { control }
    }

    /// Every request recorded, oldest first.
    pub async fn entries(&self) -> Result<Vec<JournalEntry>> {
        let page: Page<JournalEntry> = self.control.get("/_mock/journal").await?;
        Ok(page.data)
    }

    /// The requests of `route`, oldest first.
    pub async fn requests(&self, route: impl Into<Route>) -> Result<Vec<JournalEntry>> {
        let route = route.into();
        let mut all = self.entries().await?;
        all.retain(|e| e.is(&route));
        Ok(all)
    }

    /// How many requests of `route` were recorded.
    pub async fn count(&self, route: impl Into<Route>) -> Result<usize> {
        Ok(self.requests(route).await?.len())
    }

    /// Forgets every entry.
    pub async fn clear(&self) -> Result<()> {
        self.control
            .call::<serde_json::Value>(reqwest::Method::DELETE, "/_mock/journal", None::<&()>)
            .await
            .map(drop)
    }

    /// An expectation on the requests of `route` (by default: at least one). Check it with
    /// [`Expectation::verify`], or on drop with [`Expectation::verify_on_drop`].
    ///
    /// ```
    /// use moments_mock_server::MockServer;
    /// use moments_mock_server::testing::Route;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = MockServer::start().await?;
    /// let mock = server.control();
    /// let http = reqwest::Client::new();
    /// http.get(format!("{}/v1/app", server.base_url()))
    ///     .bearer_auth(&server.demo().secret_key)
    ///     .send()
    ///     .await?;
    /// mock.journal().expect(Route::GetApp).times(1).with_status(200).verify().await?;
    /// let err = mock.journal().expect(Route::Trigger).times(1).verify().await.unwrap_err();
    /// assert!(err.to_string().contains("expected POST /v1/triggers exactly 1 time, it was called 0 times"));
    /// # Ok(()) }
    /// ```
    pub fn expect(&self, route: impl Into<Route>) -> Expectation {
        Expectation {
            control: self.control.clone(),
            route: route.into(),
            times: Times::AtLeast(1),
            status: None,
        }
    }
}

/// How many matching requests an [`Expectation`] wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    /// Exactly n.
    Exactly(usize),
    /// n or more.
    AtLeast(usize),
    /// n or fewer.
    AtMost(usize),
    /// From the first to the second, both included.
    Between(usize, usize),
}

impl Times {
    /// Whether `n` requests meet it.
    pub fn contains(self, n: usize) -> bool {
        match self {
            Times::Exactly(k) => n == k,
            Times::AtLeast(k) => n >= k,
            Times::AtMost(k) => n <= k,
            Times::Between(lo, hi) => (lo..=hi).contains(&n),
        }
    }
}

fn times(n: usize) -> &'static str {
    if n == 1 { "time" } else { "times" }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Times::Exactly(n) => write!(f, "exactly {n} {}", times(n)),
            Times::AtLeast(n) => write!(f, "at least {n} {}", times(n)),
            Times::AtMost(n) => write!(f, "at most {n} {}", times(n)),
            Times::Between(lo, hi) => write!(f, "between {lo} and {hi} times"),
        }
    }
}

/// An expectation on the journal: how many requests of a route (optionally answered with a status)
/// the mock received.
#[derive(Clone, Debug)]
#[must_use = "an expectation does nothing until verified (`verify` or `verify_on_drop`)"]
pub struct Expectation {
    control: Control,
    route: Route,
    times: Times,
    status: Option<u16>,
}

impl Expectation {
    /// Exactly `n` requests.
    pub fn times(mut self, n: usize) -> Self {
        self.times = Times::Exactly(n);
        self
    }

    /// Exactly one request.
    pub fn once(self) -> Self {
        self.times(1)
    }

    /// No request.
    pub fn never(self) -> Self {
        self.times(0)
    }

    /// `n` or more requests.
    pub fn at_least(mut self, n: usize) -> Self {
        self.times = Times::AtLeast(n);
        self
    }

    /// `n` or fewer requests.
    pub fn at_most(mut self, n: usize) -> Self {
        self.times = Times::AtMost(n);
        self
    }

    /// From `lo` to `hi` requests.
    pub fn between(mut self, lo: usize, hi: usize) -> Self {
        self.times = Times::Between(lo, hi);
        self
    }

    /// Counts only requests answered with this status (0: the connection was reset by a fault).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Whether an entry counts toward it.
    pub fn matches(&self, e: &JournalEntry) -> bool {
        e.is(&self.route) && self.status.is_none_or(|s| s == e.status)
    }

    /// Checks it against journal entries (oldest first).
    pub fn check(&self, entries: &[JournalEntry]) -> std::result::Result<(), Box<Unmet>> {
        let (matched, others): (Vec<_>, Vec<_>) = entries
            .iter()
            .filter(|e| !e.is_control())
            .cloned()
            .partition(|e| self.matches(e));
        if self.times.contains(matched.len()) {
            return Ok(());
        }
        Err(Box::new(Unmet {
            route: self.route.clone(),
            status: self.status,
            wanted: self.times,
            matched,
            others,
        }))
    }

    /// Reads the journal and checks it now: [`Error::Unmet`] lists what the mock saw.
    pub async fn verify(&self) -> Result<()> {
        let entries = Journal::new(self.control.clone()).entries().await?;
        self.check(&entries).map_err(Error::Unmet)
    }

    /// A guard that checks the expectation when it drops and panics if it is unmet (not while the
    /// thread is already panicking, so a failing test reports its own panic). Against an in-process
    /// [`MockServer`](crate::MockServer) the drop reads its journal directly; against a mock reached
    /// by [`Control::connect`] it reads `/_mock/journal` from a thread of its own, blocking the
    /// dropping thread until it has the answer — so a connected client must not reach a mock served
    /// by the runtime that drops the guard (it would wait for itself until the 30 s timeout): use
    /// [`MockServer::control`](crate::MockServer::control) for an in-process mock.
    pub fn verify_on_drop(self) -> ExpectationGuard {
        ExpectationGuard(Some(self))
    }

    /// Hands the expectation to an in-process `server`, wiremock-style: it is checked when the server
    /// drops (a panic there fails the test, unless the test is already panicking), and by
    /// [`MockServer::verify`](crate::MockServer::verify) on demand. It is checked against `server`'s
    /// journal, whichever mock the expectation was made from.
    ///
    /// ```
    /// use moments_mock_server::MockServer;
    /// use moments_mock_server::testing::Route;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = MockServer::start().await?;
    /// server.control().journal().expect(Route::GetApp).once().mount(&server);
    /// reqwest::Client::new()
    ///     .get(format!("{}/v1/app", server.base_url()))
    ///     .bearer_auth(&server.demo().secret_key)
    ///     .send()
    ///     .await?;
    /// server.verify()?;
    /// // Checked again here, as the server drops.
    /// # Ok(()) }
    /// ```
    pub fn mount(self, server: &crate::MockServer) {
        server.mount(self);
    }

    fn entries_blocking(&self) -> Result<Vec<JournalEntry>> {
        if let Some(app) = self.control.local() {
            return Ok(app.journal().recent(crate::domain::journal::CAPACITY).0);
        }
        let base = self.control.base_url().to_string();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Transport(e.to_string()))?;
            rt.block_on(Control::connect(base).journal().entries())
        })
        .join()
        .unwrap_or_else(|_| Err(Error::Transport("the journal reader panicked".into())))
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.route)?;
        if let Some(s) = self.status {
            write!(f, " answered {s}")?;
        }
        write!(f, " {}", self.times)
    }
}

/// Checks an [`Expectation`] when dropped (see [`Expectation::verify_on_drop`]).
#[derive(Debug)]
#[must_use = "the expectation is checked when the guard drops: bind it (`let _guard = …`)"]
pub struct ExpectationGuard(Option<Expectation>);

impl ExpectationGuard {
    /// Checks it now (it is still checked on drop).
    pub async fn verify(&self) -> Result<()> {
        match &self.0 {
            Some(e) => e.verify().await,
            None => Ok(()),
        }
    }
}

impl Drop for ExpectationGuard {
    fn drop(&mut self) {
        let Some(e) = self.0.take() else { return };
        if std::thread::panicking() {
            return;
        }
        match e.entries_blocking() {
            Ok(entries) => {
                if let Err(unmet) = e.check(&entries) {
                    panic!("{unmet}");
                }
            }
            Err(err) => panic!("could not check `{e}`: {err}"),
        }
    }
}

/// An unmet expectation, with what the mock saw (control calls left out).
#[derive(Clone, Debug)]
pub struct Unmet {
    /// The route expected.
    pub route: Route,
    /// The status expected, if one was.
    pub status: Option<u16>,
    /// How many requests were wanted.
    pub wanted: Times,
    /// The requests that matched it.
    pub matched: Vec<JournalEntry>,
    /// The other requests.
    pub others: Vec<JournalEntry>,
}

/// How many of the other requests an [`Unmet`] message lists (the latest).
const SHOWN: usize = 20;

fn line(f: &mut fmt::Formatter<'_>, e: &JournalEntry) -> fmt::Result {
    write!(
        f,
        "\n    {} {} {} → {}",
        e.at.format("%Y-%m-%dT%H:%M:%SZ"),
        e.method,
        e.path,
        e.status
    )?;
    if let Some(k) = &e.idempotency_key {
        write!(f, " (Idempotency-Key {k})")?;
    }
    if e.replayed {
        write!(f, " replayed")?;
    }
    if let Some(fault) = &e.fault {
        write!(f, " fault: {fault}")?;
    }
    write!(f, " [{}]", e.request_id)
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.matched.len();
        write!(f, "expected {}", self.route)?;
        if let Some(s) = self.status {
            write!(f, " answered {s}")?;
        }
        write!(f, " {}, it was called {n} {}", self.wanted, times(n))?;
        if !self.matched.is_empty() {
            write!(f, "\n  matching requests:")?;
            for e in &self.matched {
                line(f, e)?;
            }
        }
        if self.others.is_empty() {
            write!(f, "\n  no other requests")?;
        } else {
            let skip = self.others.len().saturating_sub(SHOWN);
            write!(
                f,
                "\n  other requests ({}{}):",
                self.others.len(),
                if skip > 0 { ", the latest shown" } else { "" }
            )?;
            for e in &self.others[skip..] {
                line(f, e)?;
            }
        }
        Ok(())
    }
}
