//! Client configuration: [`ClientBuilder`], [`Timeouts`] and per-call [`RequestOptions`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::auth::{Auth, Credentials, SecretKey, TokenProvider};
use crate::client::{Inner, MomentsClient};
use crate::error::Error;
use crate::retry::{IdempotencyKeySource, RandomKeys, RetryPolicy, valid_key};
use crate::tls::{self, TrustedCertificate};

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://rewards.example.com";

/// Connect, per-attempt and whole-call timeouts. `None` disables one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Time allowed to open a connection (DNS, TCP, TLS). Default 10 s. Applies only when the
    /// client builds its own `reqwest::Client`.
    pub connect: Option<Duration>,
    /// Time allowed for one attempt: sending the request and reading the whole answer. Default 30 s.
    pub attempt: Option<Duration>,
    /// Time allowed for the whole call, retries and backoff included. Default 60 s.
    pub total: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Some(Duration::from_secs(10)),
            attempt: Some(Duration::from_secs(30)),
            total: Some(Duration::from_secs(60)),
        }
    }
}

impl Timeouts {
    /// No timeouts at all (not recommended outside tests).
    pub fn none() -> Self {
        Self {
            connect: None,
            attempt: None,
            total: None,
        }
    }
}

/// Builds a [`MomentsClient`].
///
/// ```
/// use std::time::Duration;
/// use moments_client::{MomentsClient, RetryPolicy};
///
/// let client = MomentsClient::builder()
///     .base_url("http://127.0.0.1:8080")
///     .secret_key("sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc")
///     .attempt_timeout(Duration::from_secs(5))
///     .retry_policy(RetryPolicy::default().with_max_attempts(4))
///     .build()?;
/// # Ok::<(), moments_client::Error>(())
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    credentials: Option<Credentials>,
    legacy_api_key: Option<SecretKey>,
    timeouts: Timeouts,
    retry: RetryPolicy,
    user_agent: Option<String>,
    http: Option<reqwest::Client>,
    keys: Option<Arc<dyn IdempotencyKeySource>>,
    trusted_certificates: Vec<TrustedCertificate>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("legacy_api_key", &self.legacy_api_key)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("trusted_certificates", &self.trusted_certificates.len())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with the defaults: production base URL, no credentials, [`Timeouts::default`],
    /// [`RetryPolicy::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The API's base URL, e.g. `http://127.0.0.1:8080` for the mock. Default [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Authenticate with a secret key (`sk_…`): for the brand's servers.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::SecretKey(SecretKey::new(key)));
        self
    }

    /// Authenticate with one fixed customer token (`ct_…`); it is never refreshed.
    pub fn customer_token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::CustomerToken(SecretKey::new(token)));
        self
    }

    /// Authenticate with customer tokens from `provider` (cached, refreshed ahead of expiry).
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.credentials = Some(Credentials::TokenProvider(provider));
        self
    }

    /// Sets the credentials directly.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The app's legacy API key (`mk_…`), sent as `x-api-key` to the compatibility endpoints only.
    pub fn legacy_api_key(mut self, key: impl Into<String>) -> Self {
        self.legacy_api_key = Some(SecretKey::new(key));
        self
    }

    /// All three timeouts at once.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Time allowed to open a connection.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.timeouts.connect = Some(d);
        self
    }

    /// Time allowed for one attempt.
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.timeouts.attempt = Some(d);
        self
    }

    /// Time allowed for a whole call, retries included.
    pub fn total_timeout(mut self, d: Duration) -> Self {
        self.timeouts.total = Some(d);
        self
    }

    /// The retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The `User-Agent` (default `moments-client-rust/<version>`); a custom one is prefixed to it.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// Trust this certificate authority in addition to the platform's trust store: PEM (one or more
    /// `-----BEGIN CERTIFICATE-----` blocks) or DER bytes. Call it once per file.
    ///
    /// Server certificates are checked by the platform's verifier (`rustls-platform-verifier`): the
    /// Android trust manager, Apple's `Security.framework`, the Windows store, the system CA bundle
    /// on Linux. So CAs the device trusts, user- and MDM-installed ones included, need nothing here.
    /// This option is for what the device does not trust: a test server's CA generated by a test, a
    /// staging CA in a debug build, a debugging proxy's CA on a CI machine. A certificate chain the
    /// platform refuses is accepted when it leads to one of these roots. Do not ship a release
    /// build that adds roots it does not need.
    ///
    /// The certificates are read by [`build`](Self::build), which fails with
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) for bytes that are neither a
    /// PEM certificate nor a DER one, and when combined with [`http_client`](Self::http_client)
    /// (whose TLS settings are its own).
    ///
    /// ```no_run
    /// let client = moments_client::MomentsClient::builder()
    ///     .base_url("https://staging.rewards.example.com")
    ///     .secret_key("sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc")
    ///     .add_trusted_certificate(std::fs::read("staging-ca.pem").unwrap())
    ///     .build()?;
    /// # Ok::<(), moments_client::Error>(())
    /// ```
    pub fn add_trusted_certificate(mut self, pem_or_der: impl Into<Vec<u8>>) -> Self {
        self.trusted_certificates
            .push(TrustedCertificate(pem_or_der.into()));
        self
    }

    /// Use this `reqwest::Client` (shares its connection pool, proxies, TLS roots). The connect
    /// timeout is then the client's own, and so is its certificate verification.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Where idempotency keys come from (default: the OS CSPRNG).
    pub fn idempotency_key_source(mut self, source: Arc<dyn IdempotencyKeySource>) -> Self {
        self.keys = Some(source);
        self
    }

    /// Builds the client. Does no I/O.
    pub fn build(self) -> Result<MomentsClient, Error> {
        let raw = self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let mut base =
            Url::parse(raw).map_err(|e| Error::config(format!("base URL is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::config("base URL must be http or https"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(Error::config("base URL must not carry credentials"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::config("base URL must not have a query or fragment"));
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        for (what, cred) in [
            (
                "credential",
                match &self.credentials {
                    Some(Credentials::SecretKey(k)) | Some(Credentials::CustomerToken(k)) => {
                        Some(k)
                    }
                    _ => None,
                },
            ),
            ("legacy API key", self.legacy_api_key.as_ref()),
        ] {
            if let Some(k) = cred {
                let s = k.expose();
                if s.is_empty() || !s.bytes().all(|c| c.is_ascii_graphic()) {
                    return Err(Error::config(format!(
                        "the {what} is empty or has characters not allowed in a header"
                    )));
                }
            }
        }
        let default_ua = concat!("moments-client-rust/", env!("CARGO_PKG_VERSION"));
        let user_agent = match self.user_agent {
            Some(ua) if !ua.is_empty() => format!("{ua} {default_ua}"),
            _ => default_ua.to_owned(),
        };
        let Ok(user_agent) = reqwest::header::HeaderValue::from_str(&user_agent) else {
            return Err(Error::config(
                "user agent has characters not allowed in a header",
            ));
        };
        if self.http.is_some() && !self.trusted_certificates.is_empty() {
            return Err(Error::config(
                "trusted certificates cannot be added to a caller-supplied http_client \
                 (configure its TLS roots instead)",
            ));
        }
        let tls = Arc::new(tls::client_config(&self.trusted_certificates)?);
        let http = match self.http {
            Some(h) => h,
            None => http_client(self.timeouts.connect, &tls)?,
        };
        Ok(MomentsClient::from_inner(Inner {
            http,
            base,
            auth: Auth::from_credentials(self.credentials),
            legacy_api_key: self.legacy_api_key,
            timeouts: self.timeouts,
            retry: self.retry,
            user_agent,
            keys: self.keys.unwrap_or_else(|| Arc::new(RandomKeys)),
            tls,
        }))
    }
}

/// A `reqwest::Client` with this crate's TLS configuration and connect timeout.
pub(crate) fn http_client(
    connect: Option<std::time::Duration>,
    tls: &rustls::ClientConfig,
) -> Result<reqwest::Client, Error> {
    let mut b = reqwest::Client::builder().use_preconfigured_tls(tls.clone());
    if let Some(c) = connect {
        b = b.connect_timeout(c);
    }
    b.build()
        .map_err(|e| Error::config(format!("could not build the HTTP client: {e}")))
}

/// Per-call options: an idempotency key of the caller's choosing, another retry policy, other
/// timeouts.
///
/// ```no_run
/// # async fn f(client: moments_client::MomentsClient, req: moments_client::models::TriggerRequest)
/// # -> Result<(), moments_client::Error> {
/// use moments_client::RequestOptions;
/// let outcome = client
///     .moments()
///     .with_options(RequestOptions::new().idempotency_key("workout-7781"))
///     .trigger(&req)
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    pub(crate) idempotency_key: Option<String>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) total_timeout: Option<Duration>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use this `Idempotency-Key` (1–255 printable ASCII characters) instead of a generated one.
    /// Only `POST` calls send it.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Another retry policy for this call.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Another per-attempt timeout for this call.
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = Some(d);
        self
    }

    /// Another whole-call timeout for this call.
    pub fn total_timeout(mut self, d: Duration) -> Self {
        self.total_timeout = Some(d);
        self
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        match &self.idempotency_key {
            Some(k) if !valid_key(k) => Err(Error::config(
                "idempotency key must be 1-255 printable ASCII characters",
            )),
            _ => Ok(()),
        }
    }
}
