//! `Idempotency-Key` on every `POST` under `/v1/`: scope (app, customer?, key), replay, conflict,
//! in-progress, 5xx not stored, 24 h retention on the server clock.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::auth::resolve;
use crate::errors::ApiError;
use crate::model::{RewardFlag, RewardStatus};
use crate::record::RewardRec;
use crate::state::{AppState, Fingerprint, IdemEntry, State};

/// Retention of stored answers.
pub const RETENTION_HOURS: i64 = 24;

/// Whether a request is subject to idempotency handling.
pub fn applies(method: &Method, path: &str) -> bool {
    method == Method::POST && path.starts_with("/v1/")
}

/// A stored answer.
#[derive(Clone, Debug)]
pub enum Answer {
    /// The answer's bytes, as sent (boxed: the store keeps one answer per key).
    Bytes(Box<Bytes>),
    /// A trigger that issued a reward: the answer is rendered again from the stored reward as it
    /// was when issued (its status and flag then, no later timestamps), byte for byte the first
    /// answer. This keeps ~1 KB of JSON per reward out of memory.
    Reward {
        /// The reward.
        id: std::sync::Arc<str>,
        /// Its status when issued (`issued` or `flagged`).
        status: RewardStatus,
        /// Its flag when issued.
        flag: Option<Box<RewardFlag>>,
    },
}

impl Answer {
    /// What to answer again, copied out of the state (a reward's record, written out after unlocking).
    fn snapshot(&self, g: &State) -> Option<Snapshot> {
        match self {
            Answer::Bytes(b) => Some(Snapshot::Bytes((**b).clone())),
            Answer::Reward { id, status, flag } => Some(Snapshot::Reward(
                Box::new(RewardRec::clone(g.rewards.get(id)?)),
                *status,
                flag.clone(),
            )),
        }
    }
}

/// A stored answer taken out of the state, to be turned into bytes without the lock.
enum Snapshot {
    Bytes(Bytes),
    Reward(Box<RewardRec>, RewardStatus, Option<Box<RewardFlag>>),
}

impl Snapshot {
    fn into_bytes(self, base_url: &str) -> Bytes {
        match self {
            Snapshot::Bytes(b) => b,
            Snapshot::Reward(r, status, flag) => r
                .trigger_answer_json(base_url, status, flag.as_deref())
                .into(),
        }
    }
}

/// The scope of a key, (app, customer of a customer token, key), as a 128-bit keyed digest
/// ([`scope`]): the store keeps 16 bytes per key instead of three strings. Two scopes share a
/// digest with probability about n²/2¹²⁹ (n = stored keys).
pub type Scope = u128;

/// The [`Scope`] of `key` used by `app` (and by `customer` when a customer token calls).
pub fn scope(g: &State, app: &str, customer: Option<&str>, key: &str) -> Scope {
    let (tag, customer) = match customer {
        Some(c) => ("customer", c),
        None => ("server", ""),
    };
    let hi = g.digest(&["idempotency-scope-1", app, tag, customer, key]);
    let lo = g.digest(&["idempotency-scope-2", app, tag, customer, key]);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// Outcome of looking a key up before handling.
pub enum Pre {
    /// No key (or no credential): handle normally.
    Pass,
    /// Handle, then store under this scope.
    Store(Scope, Fingerprint),
    /// Answer this now.
    Answer(Response),
}

fn valid_key(k: &str) -> bool {
    (1..=255).contains(&k.len()) && k.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Looks the key up; marks it in progress when new.
///
/// The resolved caller is left in the request's extensions so the handler's [`crate::auth::Auth`]
/// extractor does not take the lock again.
pub fn before(app: &AppState, req: &mut Request<Body>, body: &Bytes) -> Pre {
    let is_trigger = req.uri().path() == "/v1/triggers";
    let key = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_string));
    // Hash outside the lock: it only reads the request.
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b" ");
    h.update(
        req.uri()
            .path_and_query()
            .map_or(req.uri().path(), |p| p.as_str())
            .as_bytes(),
    );
    h.update(b"\n");
    h.update(body);
    let digest: [u8; 32] = h.finalize().into();
    let fp: Fingerprint = digest[..16].try_into().expect("16 of 32 bytes");
    // Due rules run when the handler locks the state; a lookup does not need them.
    let mut g = app.lock_raw();
    let principal = match resolve(&g, req.headers()) {
        Ok(p) => p,
        Err(_) => return Pre::Pass, // the handler answers the auth error
    };
    req.extensions_mut().insert(principal.clone());
    let key = match key {
        None if is_trigger => {
            return Pre::Answer(
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "idempotency_key_required",
                    "POST /v1/triggers requires an Idempotency-Key header.",
                )
                .param("Idempotency-Key")
                .into_response(),
            );
        }
        None => return Pre::Pass,
        Some(Ok(k)) if valid_key(&k) => k,
        Some(_) => {
            return Pre::Answer(
                ApiError::validation(
                    "Idempotency-Key",
                    "`Idempotency-Key` must be 1–255 printable ASCII characters.",
                )
                .into_response(),
            );
        }
    };
    let scope = scope(&g, principal.app_id(), principal.customer(), &key);
    let now = g.now();
    let fresh = |at: chrono::DateTime<chrono::Utc>| now - at < Duration::hours(RETENTION_HOURS);
    // Under the lock, only look up and copy out; the replayed answer is written after unlocking.
    let found = match g.idem.get(&scope).map(|b| &**b) {
        Some(IdemEntry::InProgress { at, .. }) if fresh(*at) => Found::InProgress,
        Some(IdemEntry::Done {
            fingerprint,
            at,
            status,
            body,
            retry_after,
        }) if fresh(*at) => {
            if *fingerprint != fp {
                Found::Conflict
            } else {
                Found::Replay(*status, retry_after.clone(), body.snapshot(&g))
            }
        }
        _ => {
            g.idem.insert(
                scope,
                Box::new(IdemEntry::InProgress {
                    fingerprint: fp,
                    at: now,
                }),
            );
            req.extensions_mut().insert(Ticket { scope, fp });
            return Pre::Store(scope, fp);
        }
    };
    drop(g);
    match found {
        Found::InProgress => Pre::Answer(
            ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "A request with this Idempotency-Key is still being processed.",
            )
            .param("Idempotency-Key")
            .into_response(),
        ),
        Found::Conflict => Pre::Answer(
            ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "This Idempotency-Key was used with another request (method, path or body).",
            )
            .param("Idempotency-Key")
            .into_response(),
        ),
        Found::Replay(status, retry_after, snapshot) => {
            let Some(bytes) = snapshot.map(|s| s.into_bytes(&app.0.demo.base_url)) else {
                return Pre::Answer(
                    ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
                );
            };
            let mut r = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                bytes,
            )
                .into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            if let Some(ra) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                r.headers_mut().insert(header::RETRY_AFTER, ra);
            }
            r.extensions_mut().insert(crate::errors::Enveloped);
            r.extensions_mut().insert(Replayed);
            Pre::Answer(r)
        }
    }
}

/// What the lookup found, copied out of the locked state.
enum Found {
    InProgress,
    Conflict,
    Replay(u16, Option<Box<str>>, Option<Snapshot>),
}

/// Marks a replayed answer (for the journal).
#[derive(Clone, Copy, Debug)]
pub struct Replayed;

/// The key a request runs under, in the request's extensions while it is handled: a handler that holds the
/// state's lock when its answer is known stores it there ([`store_now`]) instead of taking the lock again.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    scope: Scope,
    fp: Fingerprint,
}

/// Marks an answer its handler already stored under its key ([`store_now`]).
#[derive(Clone, Copy, Debug)]
pub struct Stored;

/// Stores the answer of the request holding `ticket` under the caller's lock. The handler then answers with the
/// [`Stored`] extension, so the middleware does not store it again.
pub fn store_now(g: &mut State, ticket: &Ticket, status: StatusCode, body: Answer) {
    store(
        g,
        PendingStore {
            scope: ticket.scope,
            fp: ticket.fp,
            status,
            retry_after: None,
            body,
        },
    );
}

/// An answer waiting to be stored under its key (see [`store`]).
pub struct PendingStore {
    scope: Scope,
    fp: Fingerprint,
    status: StatusCode,
    retry_after: Option<Box<str>>,
    body: Answer,
}

/// Collects the handler's answer so it can be stored; returns the response rebuilt. Nothing is left to store
/// when the handler stored its answer itself ([`Stored`]).
pub async fn collect(
    scope: Scope,
    fp: Fingerprint,
    resp: Response,
) -> (Response, Option<PendingStore>) {
    if resp.extensions().get::<Stored>().is_some() {
        return (resp, None);
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let pending = PendingStore {
        scope,
        fp,
        status: parts.status,
        retry_after: parts
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(Box::from),
        body: Answer::Bytes(Box::new(bytes.clone())),
    };
    (
        Response::from_parts(parts, Body::from(bytes)),
        Some(pending),
    )
}

/// Stores a collected answer (or forgets the key for a 5xx), under the caller's lock.
pub fn store(g: &mut State, p: PendingStore) {
    if p.status.is_server_error() {
        g.idem.remove(&p.scope);
        return;
    }
    let now = g.now();
    g.idem.insert(
        p.scope,
        Box::new(IdemEntry::Done {
            fingerprint: p.fp,
            at: now,
            status: p.status.as_u16(),
            body: p.body,
            retry_after: p.retry_after,
        }),
    );
}

/// Forgets an in-progress key (the request never finished).
pub fn abandon(app: &AppState, scope: &Scope) {
    let mut g = app.lock_raw();
    if matches!(
        g.idem.get(scope).map(|b| &**b),
        Some(IdemEntry::InProgress { .. })
    ) {
        g.idem.remove(scope);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// What the middleware does after the handler: collect the answer, store it under the lock.
    async fn after(app: &AppState, scope: Scope, fp: Fingerprint, resp: Response) -> Response {
        let (resp, pending) = collect(scope, fp, resp).await;
        store(
            &mut app.lock(),
            pending.expect("the handler did not store it"),
        );
        resp
    }
    use crate::server::{DEMO_LEGACY_KEY, DEMO_SECRET_KEY};
    use crate::state::{Demo, Shared, State};

    fn app() -> AppState {
        let demo = Demo {
            app_id: "app_t".into(),
            account_id: "acct_t".into(),
            api_key: DEMO_LEGACY_KEY.into(),
            secret_key: DEMO_SECRET_KEY.into(),
            campaign_id: "cmp_t".into(),
            moment_ids: vec![],
            reward_group_ids: vec![],
            base_url: "http://127.0.0.1:1".into(),
        };
        let state = State::seeded(demo.base_url.clone(), &demo, DEMO_LEGACY_KEY);
        AppState(Arc::new(Shared::new(
            state,
            demo,
            DEMO_LEGACY_KEY.into(),
            reqwest::Client::new(),
        )))
    }

    fn req(key: &str) -> Request<Body> {
        Request::post("/v1/api_keys")
            .header("authorization", format!("Bearer {DEMO_SECRET_KEY}"))
            .header("idempotency-key", key)
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn in_progress_then_replay_then_conflict() {
        let app = app();
        let body = Bytes::from_static(b"{}");
        let Pre::Store(scope, fp) = before(&app, &mut req("k1"), &body) else {
            panic!("first use stores")
        };
        let Pre::Answer(r) = before(&app, &mut req("k1"), &body) else {
            panic!("second use answers")
        };
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let b = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&b).contains("idempotency_in_progress"));
        let done = after(
            &app,
            scope,
            fp,
            (StatusCode::CREATED, "{\"ok\":1}").into_response(),
        )
        .await;
        assert_eq!(done.status(), StatusCode::CREATED);
        let Pre::Answer(r) = before(&app, &mut req("k1"), &body) else {
            panic!("replay")
        };
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["idempotent-replayed"], "true");
        let Pre::Answer(r) = before(
            &app,
            &mut req("k1"),
            &Bytes::from_static(b"{\"name\":\"x\"}"),
        ) else {
            panic!("conflict")
        };
        assert_eq!(r.status(), StatusCode::CONFLICT);
    }

    #[tokio::test]
    async fn server_errors_are_not_stored() {
        let app = app();
        let body = Bytes::new();
        let Pre::Store(scope, fp) = before(&app, &mut req("k2"), &body) else {
            panic!()
        };
        after(
            &app,
            scope,
            fp,
            StatusCode::SERVICE_UNAVAILABLE.into_response(),
        )
        .await;
        assert!(
            matches!(before(&app, &mut req("k2"), &body), Pre::Store(..)),
            "a 5xx answer lets the key run again"
        );
    }
}
