//! Console sessions: sign-in with an app's secret key, the session cookie, the CSRF token every
//! POST carries, sign-out, and the security headers of every console answer.
//!
//! A session is the console's only state. It holds the secret key it was opened with, which is
//! resolved again on every request (through the API's credential cache), so a revoked key or a
//! `POST /_mock/reset` that removes the app ends the session as it ends the key's API access.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::ConsoleState;
use super::layout::{self, Flash};
use crate::app::AppState;
use crate::domain::ids;
use crate::domain::principal::Principal;
use crate::http::auth::resolve_credential;

/// The session cookie's name.
pub const COOKIE: &str = "moments_console";
/// The form field holding the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The header htmx sends the CSRF token in (`hx-headers` on the page's body).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Idle time (real time) after which a session ends.
const IDLE: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; past it the least recently used ends, those not signed in first.
const CAPACITY: usize = 10_000;
/// The largest form body the CSRF check reads.
pub const FORM_LIMIT: usize = 1 << 20;

/// The Content-Security-Policy of every console answer: scripts and styles from the console's own
/// assets only (no inline script, no eval), images from the mock or https, no frames, forms and
/// requests to the mock itself.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

struct Session {
    /// The secret key it was signed in with; `None` before sign-in.
    secret: Option<String>,
    csrf: String,
    flash: Option<Flash>,
    last_seen: Instant,
}

/// The console's sessions, by cookie value.
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    capacity: usize,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            map: Mutex::default(),
            capacity: CAPACITY,
        }
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session (signed in with `secret`, or anonymous for the sign-in form) and returns its id.
    fn open(&self, secret: Option<String>) -> String {
        let id = ids::secret("", 32);
        let mut map = self.lock();
        let now = Instant::now();
        map.retain(|_, s| now.duration_since(s.last_seen) < IDLE);
        // Full: a sign-in form's session goes first, so opening forms never ends a signed-in session.
        if map.len() >= self.capacity
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| (s.secret.is_some(), s.last_seen))
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Session {
                secret,
                csrf: ids::secret("", 24),
                flash: None,
                last_seen: now,
            },
        );
        id
    }

    /// The live session `id`: its secret key and CSRF token.
    fn get(&self, id: &str) -> Option<(Option<String>, String)> {
        let mut map = self.lock();
        let now = Instant::now();
        let s = map.get_mut(id)?;
        if now.duration_since(s.last_seen) >= IDLE {
            map.remove(id);
            return None;
        }
        s.last_seen = now;
        Some((s.secret.clone(), s.csrf.clone()))
    }

    /// Whether session `id` is open, not idle past its limit, and signed in with `secret` (does not count as use).
    fn holds(&self, id: &str, secret: &str) -> bool {
        self.lock().get(id).is_some_and(|s| {
            Instant::now().duration_since(s.last_seen) < IDLE
                && s.secret
                    .as_deref()
                    .is_some_and(|k| bool::from(k.as_bytes().ct_eq(secret.as_bytes())))
        })
    }

    fn close(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Keeps a message for the session's next page.
    pub fn set_flash(&self, id: &str, flash: Flash) {
        if let Some(s) = self.lock().get_mut(id) {
            s.flash = Some(flash);
        }
    }

    /// Takes the message kept for this page.
    pub fn take_flash(&self, id: &str) -> Option<Flash> {
        self.lock().get_mut(id).and_then(|s| s.flash.take())
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict"
    ))
    .expect("the id is base64url")
}

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .expect("ASCII")
}

/// The signed-in app of a console request, with what its pages need: the server, the app's principal
/// and the session's CSRF token. Extracting it from a request without a live, signed-in session
/// answers with a redirect to the sign-in page.
pub struct Console {
    /// The server.
    pub app: AppState,
    /// Who the console acts as: the app's secret key's principal, exactly as the API resolves it.
    pub principal: Principal,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    sid: String,
    sessions: Arc<Sessions>,
    secret: String,
    /// An htmx request: its answer is cut to a fragment, so it must not take the session's message.
    htmx: bool,
}

impl Console {
    /// Whether `secret` is the key this session signed in with (revoking it ends the session).
    pub fn signed_in_with(&self, secret: &str) -> bool {
        bool::from(self.secret.as_bytes().ct_eq(secret.as_bytes()))
    }

    /// A check a long-lived answer (the journal's event stream) makes before each event: whether this session is
    /// still open and its key still resolves to the same app (sign-out, idling out, revoking the key or a reset
    /// end it).
    pub fn still_signed_in(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let (app, sessions, sid, secret) = (
            self.app.clone(),
            self.sessions.clone(),
            self.sid.clone(),
            self.secret.clone(),
        );
        let app_id = self.app_id().to_owned();
        move || {
            sessions.holds(&sid, &secret)
                && matches!(
                    resolve_credential(&app, &secret),
                    Ok(p @ Principal::Secret { .. }) if p.app_id() == app_id
                )
        }
    }

    /// The signed-in app.
    pub fn app_id(&self) -> &str {
        self.principal.app_id()
    }

    /// The signed-in app's account.
    pub fn account_id(&self) -> &str {
        self.principal.account_id()
    }

    /// Keeps a message for the next page this session renders (post, then redirect, then show).
    pub fn flash(&self, flash: Flash) {
        self.sessions.set_flash(&self.sid, flash);
    }

    /// Takes the message kept for this page (none for an htmx request, whose answer shows only a fragment:
    /// a polling list must not swallow a secret shown once).
    pub fn take_flash(&self) -> Option<Flash> {
        if self.htmx {
            return None;
        }
        self.sessions.take_flash(&self.sid)
    }
}

impl FromRequestParts<ConsoleState> for Console {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        // An htmx request would follow a redirect and swap the sign-in page into a fragment:
        // it gets `HX-Redirect`, which htmx follows as a whole-page load.
        let htmx = parts.headers.contains_key("hx-request");
        let to_sign_in = || {
            if htmx {
                (
                    StatusCode::UNAUTHORIZED,
                    [("hx-redirect", "/console/sign-in")],
                )
                    .into_response()
            } else {
                layout::redirect("/console/sign-in")
            }
        };
        // Applying a persistent store's log entry: the entry names the key the session acted with.
        if crate::domain::applying::replaying() {
            let secret = crate::domain::applying::actor().ok_or_else(to_sign_in)?;
            return match resolve_credential(&state.app, &secret) {
                Ok(principal @ Principal::Secret { .. }) => Ok(Console {
                    app: state.app.clone(),
                    principal,
                    csrf: String::new(),
                    sid: String::new(),
                    sessions: state.sessions.clone(),
                    secret,
                    htmx,
                }),
                _ => Err(to_sign_in()),
            };
        }
        let Some(sid) = cookie(&parts.headers, COOKIE) else {
            return Err(to_sign_in());
        };
        let Some((Some(secret), csrf)) = state.sessions.get(sid) else {
            return Err(to_sign_in());
        };
        // Kept with the request's log entry, when the store is persistent (`crate::sync`).
        crate::domain::applying::set_actor(&secret);
        match resolve_credential(&state.app, &secret) {
            Ok(principal @ Principal::Secret { .. }) => Ok(Console {
                app: state.app.clone(),
                principal,
                csrf,
                sid: sid.to_owned(),
                sessions: state.sessions.clone(),
                secret,
                htmx,
            }),
            _ => {
                // The key was revoked, or a reset removed it: the session ends with it.
                state.sessions.close(sid);
                let sid = state.sessions.open(None);
                state.sessions.set_flash(
                    &sid,
                    Flash::error("The secret key of your session no longer works: sign in again."),
                );
                let mut r = to_sign_in();
                r.headers_mut().append(header::SET_COOKIE, set_cookie(&sid));
                Err(r)
            }
        }
    }
}

/// Whether the request came over the loopback interface (a local mock offers the demo app's key).
fn is_local(parts_ext: &axum::http::Extensions) -> bool {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(a)| a.ip().is_loopback())
}

/// `GET /console/sign-in`: the sign-in form (a signed-in session goes to the console).
pub async fn sign_in_page(State(st): State<ConsoleState>, req: Request) -> Response {
    let sid = cookie(req.headers(), COOKIE).map(str::to_owned);
    let live = sid
        .as_deref()
        .and_then(|id| Some((id, st.sessions.get(id)?)));
    match live {
        Some((_, (Some(secret), _))) if resolve_credential(&st.app, &secret).is_ok() => {
            layout::redirect("/console")
        }
        Some((id, (_, csrf))) => {
            let flash = st.sessions.take_flash(id);
            sign_in_form(
                &st,
                is_local(req.extensions()),
                &csrf,
                flash,
                None,
                StatusCode::OK,
            )
        }
        None => {
            let id = st.sessions.open(None);
            let (_, csrf) = st.sessions.get(&id).expect("just opened");
            let mut r = sign_in_form(
                &st,
                is_local(req.extensions()),
                &csrf,
                None,
                None,
                StatusCode::OK,
            );
            r.headers_mut().append(header::SET_COOKIE, set_cookie(&id));
            r
        }
    }
}

fn sign_in_form(
    st: &ConsoleState,
    local: bool,
    csrf: &str,
    flash: Option<Flash>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let demo = &st.app.0.demo;
    let demo_live = local && resolve_credential(&st.app, &demo.secret_key).is_ok();
    let body = html! {
        h1 { "Sign in to the Moments Console" }
        p { "The console acts as one app: sign in with one of its secret keys (" code { "sk_test_…" } ")." }
        form method="post" action="/console/sign-in" class="stack" {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (layout::input_with_error("Secret key", "secret_key", "", "password", error, true))
            button type="submit" { "Sign in" }
        }
        @if demo_live {
            section aria-labelledby="demo-h" {
                h2 id="demo-h" { "Demo app" }
                p { "This mock runs on this machine: sign in as its demo app (" code { (demo.app_id) } ", key " code { (demo.secret_key) } ")." }
                form method="post" action="/console/sign-in" {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    input type="hidden" name="demo" value="1";
                    button type="submit" { "Sign in as the demo app" }
                }
            }
        }
    };
    layout::bare(status, "Sign in", flash, body)
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    secret_key: String,
    #[serde(default)]
    demo: Option<String>,
}

/// `POST /console/sign-in`: resolves the key as the API does; a secret key opens a new session
/// (a new id, so a session id seen before sign-in is worth nothing after it).
pub async fn sign_in(
    State(st): State<ConsoleState>,
    ConnectInfoOpt(local): ConnectInfoOpt,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let secret = if f.demo.is_some() && local {
        st.app.0.demo.secret_key.clone()
    } else {
        f.secret_key.trim().to_owned()
    };
    let refused = match resolve_credential(&st.app, &secret) {
        Ok(Principal::Secret { .. }) => None,
        Ok(Principal::Customer { .. }) => {
            Some("A customer token cannot sign in: use one of the app's secret keys.".to_owned())
        }
        Err(e) => Some(e.message),
    };
    let old = cookie(&headers, COOKIE).map(str::to_owned);
    if let Some(why) = refused {
        let csrf = old
            .as_deref()
            .and_then(|id| st.sessions.get(id))
            .map(|(_, c)| c)
            .unwrap_or_default();
        return sign_in_form(
            &st,
            local,
            &csrf,
            None,
            Some(&why),
            StatusCode::UNAUTHORIZED,
        );
    }
    if let Some(old) = old {
        st.sessions.close(&old);
    }
    let id = st.sessions.open(Some(secret));
    let mut r = layout::redirect("/console");
    r.headers_mut().append(header::SET_COOKIE, set_cookie(&id));
    r
}

/// `POST /console/sign-out`: ends the session.
pub async fn sign_out(State(st): State<ConsoleState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers, COOKIE) {
        st.sessions.close(id);
    }
    let mut r = layout::redirect("/console/sign-in");
    r.headers_mut().append(header::SET_COOKIE, clear_cookie());
    r
}

/// Extractor: whether the request came over loopback.
pub struct ConnectInfoOpt(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for ConnectInfoOpt {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ConnectInfoOpt(is_local(&parts.extensions)))
    }
}

/// Middleware: every request that may change something (any method but GET and HEAD) carries the
/// session's CSRF token, in the `csrf` form field or the `X-CSRF-Token` header; any other is refused
/// `403` before a handler runs.
pub async fn csrf_guard(State(st): State<ConsoleState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let expected = cookie(req.headers(), COOKIE)
        .and_then(|id| st.sessions.get(id))
        .map(|(_, csrf)| csrf);
    let header_token = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return layout::error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The form is larger than the console reads.",
            );
        }
    };
    let supplied = header_token.or_else(|| {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v)
    });
    let ok = match (expected, supplied) {
        (Some(e), Some(s)) => bool::from(e.as_bytes().ct_eq(s.as_bytes())),
        _ => false,
    };
    if !ok {
        return layout::error_page(
            StatusCode::FORBIDDEN,
            "Form refused",
            "The form's security token is missing or does not belong to your session. Reload the page and send it again.",
        );
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Middleware: the security headers of every console answer (pages, assets, errors, redirects).
/// Pages are never cached; assets set their own long cache (their URL names their content).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_store_ends_sign_in_forms_before_signed_in_sessions() {
        let sessions = Sessions {
            map: Mutex::default(),
            capacity: 3,
        };
        let signed_in = sessions.open(Some("sk_test_a".into()));
        for _ in 0..10 {
            sessions.open(None);
        }
        assert_eq!(sessions.lock().len(), 3);
        let (secret, _) = sessions.get(&signed_in).expect("still there");
        assert_eq!(secret.as_deref(), Some("sk_test_a"));
    }

    #[test]
    fn a_flash_is_shown_once_and_a_closed_session_is_gone() {
        let sessions = Sessions::default();
        let id = sessions.open(None);
        sessions.set_flash(&id, Flash::notice("saved"));
        assert_eq!(
            sessions.take_flash(&id).map(|f| f.message).as_deref(),
            Some("saved")
        );
        assert!(sessions.take_flash(&id).is_none());
        sessions.close(&id);
        assert!(sessions.get(&id).is_none());
    }
}
