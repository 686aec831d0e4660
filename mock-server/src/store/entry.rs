//! One change to the sandbox, as the log keeps it.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::webhooks::PendingSend;

/// One entry of the log: a change, with what applying it reads instead of the system (its time and
/// random seed, [`crate::domain::applying`]).
#[derive(Clone, Debug)]
pub struct Entry {
    /// Position in the log (1, 2, …): entries are applied in this order.
    pub seq: i64,
    /// The real time it was first applied at (milliseconds kept; the clock reads whole seconds).
    pub at: DateTime<Utc>,
    /// Seed of its random stream.
    pub seed: [u8; 32],
    /// Version of the binary that wrote it.
    pub version: String,
    /// The change.
    pub command: Command,
}

/// A change to the sandbox.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// A request that may change the sandbox (any method but `GET` and `HEAD`), applied by
    /// handling it again.
    Request {
        /// Method.
        method: String,
        /// Path and query.
        uri: String,
        /// Headers (all but `cookie`).
        headers: Vec<(String, String)>,
        /// Body, base64.
        body: String,
        /// The client's address.
        peer: Option<std::net::SocketAddr>,
        /// The secret key the request acted with when the request does not carry it (a console
        /// session's).
        actor: Option<String>,
    },
    /// The time rules that became due (expiry, shipping, campaign start and end, webhook retries).
    Tick,
    /// The results of webhook delivery attempts.
    Deliveries {
        /// Each attempt and its result.
        results: Vec<DeliveryResult>,
    },
}

/// The result of one webhook delivery attempt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeliveryResult {
    /// What was sent.
    pub send: PendingSend,
    /// The answer's status.
    pub status: Option<u16>,
    /// Why there was no answer.
    pub error: Option<String>,
}

impl Command {
    /// A request's command (its body base64-encoded).
    pub fn request(
        parts: &http::request::Parts,
        body: &[u8],
        peer: Option<std::net::SocketAddr>,
        actor: Option<String>,
    ) -> Command {
        Command::Request {
            method: parts.method.as_str().to_owned(),
            uri: parts.uri.to_string(),
            headers: parts
                .headers
                .iter()
                .filter(|(name, _)| *name != http::header::COOKIE)
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body: base64::engine::general_purpose::STANDARD.encode(body),
            peer,
            actor,
        }
    }

    /// The stored text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("a command serializes")
    }

    /// From the stored text.
    pub fn from_text(text: &str) -> Result<Command, String> {
        serde_json::from_str(text).map_err(|e| format!("a log entry does not parse: {e}"))
    }
}

/// The request a [`Command::Request`] holds, rebuilt.
pub fn rebuild(command: &Command) -> Option<(axum::extract::Request, Option<String>)> {
    let Command::Request {
        method,
        uri,
        headers,
        body,
        peer,
        actor,
    } = command
    else {
        return None;
    };
    let body = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    let mut b = http::Request::builder()
        .method(method.as_str())
        .uri(uri.as_str());
    for (n, v) in headers {
        b = b.header(n.as_str(), v.as_str());
    }
    let mut req = b.body(axum::body::Body::from(body)).ok()?;
    if let Some(peer) = peer {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(*peer));
    }
    Some((req, actor.clone()))
}
