//! `Idempotency-Key` with a persistent store: the keys' answers live in the store's `idempotency`
//! table, so a key is answered alike by every instance. A key in progress on one instance is
//! `409 idempotency_in_progress` on all; its answer is written in the same transaction as the
//! request's log entry ([`crate::sync::write_request`]), so an answered request's key always has
//! its answer, and a request that was never committed leaves its key free again. How a key is
//! held while its request runs is the store's: with PostgreSQL an advisory lock of the instance's
//! session, gone with the session if the instance stops (`store/postgres.rs`); with SQLite a
//! row without an answer, taken over after [`ABANDONED`].

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tower::Service;

use crate::app::AppState;
use crate::domain::errors::ApiError;
use crate::http::layers::idempotency::{Keyed, conflict, in_progress, keyed, replayed};
use crate::http::layers::run;
use crate::store::{IdemClaim, IdemClock, IdemSlot};

/// How long a key keeps its answer, on the server's clock (as in memory).
pub const RETENTION: chrono::Duration = chrono::Duration::hours(24);

/// A claim older than this, in real time, with no answer, was abandoned.
pub const ABANDONED: Duration = Duration::from_secs(60);

/// An answer as the table keeps it.
#[derive(Serialize, Deserialize)]
struct Stored {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

/// Whether an answer is kept under its key: not a "retry later" (429, 5xx).
pub fn storable(status: StatusCode) -> bool {
    status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error()
}

/// The stored form of an answer.
pub fn encode(status: StatusCode, retry_after: Option<&str>, body: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&Stored {
        status: status.as_u16(),
        retry_after: retry_after.map(str::to_owned),
        body: base64::engine::general_purpose::STANDARD.encode(body),
    })
    .expect("an answer serializes")
}

fn decode(bytes: &[u8]) -> Option<(u16, Option<String>, Bytes)> {
    let s: Stored = serde_json::from_slice(bytes).ok()?;
    let body = base64::engine::general_purpose::STANDARD
        .decode(s.body)
        .ok()?;
    Some((s.status, s.retry_after, body.into()))
}

/// The layer's work for a `POST` under `/v1/` (the body already read).
pub async fn handle<S>(app: &AppState, mut req: Request<Body>, body: &Bytes, inner: S) -> Response
where
    S: Service<Request<Body>, Response = Response, Error = std::convert::Infallible>,
{
    let Keyed { principal, key, fp } = match keyed(app, &mut req, body) {
        Ok(Some(k)) => k,
        Ok(None) => return run(inner, req).await,
        Err(r) => return *r,
    };
    let sync = app.sync().expect("a persistent store");
    let caller = format!(
        "{}/{}",
        principal.app_id(),
        principal
            .customer()
            .map_or("-".into(), |c| format!("c:{c}"))
    );
    let fp = hex::encode(fp);
    // An answer found is replayed only if no reset came after the count this instance has seen
    // (a reset forgets every key, as in memory): otherwise the instance catches up, and the key is
    // claimed again under the scope of the resets now.
    let mut checked = false;
    let (scope, generation, clock) = loop {
        let (generation, now) = {
            let g = app.lock_raw();
            (g.resets, g.now())
        };
        let scope = IdemSlot::scope_of(&sync.tenant, generation, &caller);
        let clock = IdemClock::new(now, RETENTION, ABANDONED);
        let claim = sync
            .store
            .idempotency()
            .claim(&scope, &key, &fp, clock)
            .await;
        match claim {
            Err(e) => return crate::sync::unavailable(&e),
            Ok(IdemClaim::InProgress { same: true }) => return in_progress(),
            Ok(IdemClaim::InProgress { same: false }) => return conflict(),
            Ok(IdemClaim::Answered { same, answer }) => {
                if checked {
                    return stored_answer(&answer, same);
                }
                if let Err(e) = crate::sync::catch_up(app).await {
                    return crate::sync::unavailable(&e);
                }
                if app.lock_raw().resets == generation {
                    return stored_answer(&answer, same);
                }
                checked = true;
            }
            Ok(IdemClaim::Claimed) => break (scope, generation, clock),
        }
    };
    req.extensions_mut().insert(IdemSlot::new(
        &sync.tenant,
        generation,
        caller,
        key.clone(),
        fp,
        clock,
    ));
    let mut holding = Holding {
        app,
        scope: &scope,
        key: &key,
        running: true,
    };
    let resp = run(inner, req).await;
    holding.running = false;
    // Kept: committed with the request's entry. Otherwise the key may run again.
    let kept = storable(resp.status());
    let _ = sync.store.idempotency().release(&scope, &key, kept).await;
    resp
}

/// The answer to a request whose key has `answer` stored: replayed if the request is the one
/// answered (`same`), otherwise `409 idempotency_conflict`.
pub fn stored_answer(answer: &[u8], same: bool) -> Response {
    if !same {
        return conflict();
    }
    match decode(answer) {
        Some((status, retry_after, bytes)) => replayed(status, bytes, retry_after.as_deref()),
        None => ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
    }
}

/// A claimed key while its request runs: if the request stops before its answer (its client went
/// away), the store is told ([`crate::store::IdemTable::forget`]).
struct Holding<'a> {
    app: &'a AppState,
    scope: &'a str,
    key: &'a str,
    /// Whether the request is still running.
    running: bool,
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        if self.running
            && let Some(sync) = self.app.sync()
        {
            sync.store.idempotency().forget(self.scope, self.key);
        }
    }
}
