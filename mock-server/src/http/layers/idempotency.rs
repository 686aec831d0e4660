//! `Idempotency-Key` on every `POST` under `/v1/`: scope (app, customer?, key), replay, conflict,
//! in-progress, "retry later" answers (429, 5xx) not stored, 24 h retention on the server clock.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::future::Either;
use sha2::{Digest, Sha256};
use tower::{Layer, Service};

use crate::app::AppState;
use crate::domain::errors::ApiError;
use crate::domain::model::{RewardFlag, RewardStatus};
use crate::domain::rewards::record::RewardRec;
use crate::http::auth::resolve_cached;
use crate::http::idem_store::Begin;
use crate::http::layers::{IDEMPOTENCY_KEY, OrBoxed, run, take_ready};

pub use crate::http::idem_store::{Fingerprint, Ticket};

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
    /// What to answer again: the bytes, or a copy of the reward's record taken under the state's
    /// lock (written out after unlocking). `None` when the reward is gone.
    fn snapshot(self, app: &AppState) -> Option<Snapshot> {
        match self {
            Answer::Bytes(b) => Some(Snapshot::Bytes(*b)),
            Answer::Reward { id, status, flag } => {
                let g = app.lock_raw();
                let rec = Box::new(RewardRec::clone(g.rewards.get(&id)?));
                Some(Snapshot::Reward(rec, status, flag))
            }
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

/// Outcome of looking a key up before handling.
pub enum Pre {
    /// No key (or no credential): handle normally.
    Pass,
    /// Handle, then store the answer under this ticket.
    Store(Ticket),
    /// Answer this now.
    Answer(Response),
}

fn valid_key(k: &str) -> bool {
    moments_idempotency::is_valid_key(k)
}

/// What a keyed request is: its key, whose it is, and its fingerprint (method, path with query, body).
pub struct Keyed {
    /// The caller.
    pub principal: crate::domain::principal::Principal,
    /// The key.
    pub key: String,
    /// The fingerprint.
    pub fp: Fingerprint,
}

/// Reads the key of a request: `Ok(None)` to handle it normally (no key, or no credential: the
/// handler answers the auth error), `Err` to answer at once (a trigger without a key, a bad key).
///
/// The resolved caller is left in the request's extensions so the handler's [`crate::http::auth::Auth`]
/// extractor does not resolve it again.
pub fn keyed(
    app: &AppState,
    req: &mut Request<Body>,
    body: &Bytes,
) -> Result<Option<Keyed>, Box<Response>> {
    let is_trigger = req.uri().path() == "/v1/triggers";
    let key = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .map(|v| v.to_str().map(str::to_string));
    // The request's fingerprint: method, path with query, body.
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
    let principal = match resolve_cached(app, req.headers()) {
        Ok(p) => p,
        Err(_) => return Ok(None), // the handler answers the auth error
    };
    req.extensions_mut().insert(principal.clone());
    let key = match key {
        None if is_trigger => {
            return Err(Box::new(
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "idempotency_key_required",
                    "POST /v1/triggers requires an Idempotency-Key header.",
                )
                .param("Idempotency-Key")
                .into_response(),
            ));
        }
        None => return Ok(None),
        Some(Ok(k)) if valid_key(&k) => k,
        Some(_) => {
            return Err(Box::new(
                ApiError::validation(
                    "Idempotency-Key",
                    "`Idempotency-Key` must be 1–255 printable ASCII characters.",
                )
                .into_response(),
            ));
        }
    };
    Ok(Some(Keyed { principal, key, fp }))
}

/// The answer to a key already in progress.
pub fn in_progress() -> Response {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_in_progress",
        "A request with this Idempotency-Key is still being processed.",
    )
    .param("Idempotency-Key")
    .into_response()
}

/// The answer to a key used with another request.
pub fn conflict() -> Response {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_conflict",
        "This Idempotency-Key was used with another request (method, path or body).",
    )
    .param("Idempotency-Key")
    .into_response()
}

/// A stored answer sent again: its status, bytes and `Retry-After`, marked `Idempotent-Replayed`.
pub fn replayed(status: u16, bytes: Bytes, retry_after: Option<&str>) -> Response {
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
    if let Some(ra) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        r.headers_mut().insert(header::RETRY_AFTER, ra);
    }
    r.extensions_mut().insert(crate::http::envelope::Enveloped);
    r.extensions_mut().insert(Replayed);
    r
}

/// Looks the key up; marks it in progress when new. Takes the state's lock only to replay a trigger's
/// reward (the store and the credentials have their own locks).
pub fn before(app: &AppState, req: &mut Request<Body>, body: &Bytes) -> Pre {
    let Keyed { principal, key, fp } = match keyed(app, req, body) {
        Ok(Some(k)) => k,
        Ok(None) => return Pre::Pass,
        Err(r) => return Pre::Answer(*r),
    };
    let store = &app.0.idem;
    let scope = store.scope(principal.app_id(), principal.customer(), &key);
    match store.begin(scope, fp, app.0.clock.now()) {
        Begin::New(ticket) => {
            req.extensions_mut().insert(ticket);
            Pre::Store(ticket)
        }
        Begin::InProgress => Pre::Answer(in_progress()),
        Begin::Conflict => Pre::Answer(conflict()),
        // A reward's answer is written from its record, copied out of the state.
        Begin::Done(status, retry_after, body) => {
            let Some(bytes) = body
                .snapshot(app)
                .map(|s| s.into_bytes(&app.0.demo.base_url))
            else {
                return Pre::Answer(
                    ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
                );
            };
            Pre::Answer(replayed(status, bytes, retry_after.as_deref()))
        }
    }
}

/// The layer: for a `POST` under `/v1/` with a key, answers a replay, a conflict or "in progress"
/// itself, or runs the handler and stores its answer before passing it on.
#[derive(Clone)]
pub struct IdempotencyLayer(pub AppState);

impl<S> Layer<S> for IdempotencyLayer {
    type Service = Idempotency<S>;

    fn layer(&self, inner: S) -> Idempotency<S> {
        Idempotency {
            inner,
            app: self.0.clone(),
        }
    }
}

/// The service of [`IdempotencyLayer`].
#[derive(Clone)]
pub struct Idempotency<S> {
    inner: S,
    app: AppState,
}

impl<S> Service<Request<Body>> for Idempotency<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = OrBoxed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if !applies(req.method(), req.uri().path()) {
            return Either::Left(self.inner.call(req));
        }
        let (app, inner) = (self.app.clone(), take_ready(&mut self.inner));
        Either::Right(Box::pin(async move { Ok(handle(app, req, inner).await) }))
    }
}

/// Collects the body, then answers from the store or runs the handler and stores its answer.
async fn handle<S>(app: AppState, req: Request<Body>, inner: S) -> Response
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    let (parts, body) = req.into_parts();
    // The body's size is already limited (`RequestBodyLimitLayer`): an error here is that limit.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE).into_response();
    };
    let mut req = Request::from_parts(parts, Body::from(bytes.clone()));
    if app.sync().is_some() {
        // A persistent store keeps the keys, so every instance answers a key alike.
        return crate::http::layers::idempotency_shared::handle(&app, req, &bytes, inner).await;
    }
    match before(&app, &mut req, &bytes) {
        Pre::Pass => run(inner, req).await,
        Pre::Answer(r) => r,
        Pre::Store(ticket) => {
            // If the client goes away mid-request, forget the in-progress marker. The guard is
            // disarmed only once the answer is collected; from there to the store there is no
            // await point, so the store cannot be lost to a cancellation.
            struct Guard<'a>(&'a AppState, Option<Ticket>);
            impl Drop for Guard<'_> {
                fn drop(&mut self) {
                    if let Some(t) = self.1.take() {
                        abandon(self.0, &t);
                    }
                }
            }
            let mut guard = Guard(&app, Some(ticket));
            let resp = run(inner, req).await;
            let (resp, pending) = collect(ticket, resp).await;
            guard.1 = None;
            if let Some(p) = pending {
                store(&app, p);
            }
            resp
        }
    }
}

/// Marks a replayed answer (for the journal).
#[derive(Clone, Copy, Debug)]
pub struct Replayed;

/// Marks an answer its handler already stored under its key ([`store_now`]).
#[derive(Clone, Copy, Debug)]
pub struct Stored;

/// Stores the answer of the request holding `ticket`. The handler then answers with the [`Stored`]
/// extension, so the middleware does not store it again.
pub fn store_now(app: &AppState, ticket: &Ticket, status: StatusCode, body: Answer) {
    app.0
        .idem
        .finish(ticket, status.as_u16(), None, body, app.0.clock.now());
}

/// An answer waiting to be stored under its key (see [`store`]).
pub struct PendingStore {
    ticket: Ticket,
    status: StatusCode,
    retry_after: Option<Box<str>>,
    body: Answer,
}

/// Collects the handler's answer so it can be stored; returns the response rebuilt. Nothing is left to store
/// when the handler stored its answer itself ([`Stored`]).
pub async fn collect(ticket: Ticket, resp: Response) -> (Response, Option<PendingStore>) {
    if resp.extensions().get::<Stored>().is_some() {
        return (resp, None);
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let pending = PendingStore {
        ticket,
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

/// Stores a collected answer (or forgets the key for a 5xx).
pub fn store(app: &AppState, p: PendingStore) {
    app.0.idem.finish(
        &p.ticket,
        p.status.as_u16(),
        p.retry_after,
        p.body,
        app.0.clock.now(),
    );
}

/// Forgets an in-progress key (the request never finished).
pub fn abandon(app: &AppState, ticket: &Ticket) {
    app.0.idem.abandon(ticket);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the middleware does after the handler: collect the answer, store it.
    async fn after(app: &AppState, ticket: Ticket, resp: Response) -> Response {
        let (resp, pending) = collect(ticket, resp).await;
        store(app, pending.expect("the handler did not store it"));
        resp
    }
    use crate::app::test_app as app;
    use crate::server::DEMO_SECRET_KEY;

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
        let Pre::Store(ticket) = before(&app, &mut req("k1"), &body) else {
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
            ticket,
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
        let Pre::Store(ticket) = before(&app, &mut req("k2"), &body) else {
            panic!()
        };
        after(
            &app,
            ticket,
            StatusCode::SERVICE_UNAVAILABLE.into_response(),
        )
        .await;
        assert!(
            matches!(before(&app, &mut req("k2"), &body), Pre::Store(..)),
            "a 5xx answer lets the key run again"
        );
    }

    #[tokio::test]
    async fn retry_later_answers_are_not_stored_and_final_refusals_are() {
        let app = app();
        let body = Bytes::new();
        for (key, status, stored) in [
            ("k429", StatusCode::TOO_MANY_REQUESTS, false),
            ("k500", StatusCode::INTERNAL_SERVER_ERROR, false),
            ("k422", StatusCode::UNPROCESSABLE_ENTITY, true),
            ("k403", StatusCode::FORBIDDEN, true),
            ("k409", StatusCode::CONFLICT, true),
        ] {
            let Pre::Store(ticket) = before(&app, &mut req(key), &body) else {
                panic!("{key}: first use stores")
            };
            after(&app, ticket, status.into_response()).await;
            let again = before(&app, &mut req(key), &body);
            match (stored, again) {
                (true, Pre::Answer(r)) => {
                    assert_eq!(r.status(), status, "{key}: replayed as first answered");
                    assert_eq!(r.headers()["idempotent-replayed"], "true");
                }
                (false, Pre::Store(_)) => {}
                (stored, _) => panic!("{key}: expected stored={stored}"),
            }
        }
    }
}
