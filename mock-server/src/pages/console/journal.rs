//! The request journal of the signed-in app: its latest requests, filtered by route, status and request
//! id, each linked to the reward or campaign it touched; live over server-sent events (the journal's
//! feed of new entries, [`crate::app::Shared::journal_feed`]), and a plain page without script.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use maud::{Markup, html};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::ConsoleState;
use super::assets;
use super::layout::{self, Section};
use super::session::Console;
use crate::domain::journal::Recorded;

/// Entries the page shows.
pub const SHOWN: usize = 200;

/// The journal pages' routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/journal", get(page))
        .route("/console/journal/stream", get(stream))
}

/// The journal's filters (empty fields are absent).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Filters {
    /// Part of the route template or path (`/v1/triggers`, `rewards`).
    pub route: Option<String>,
    /// A status (`404`) or a class of them (`4xx`).
    pub status: Option<String>,
    /// Part of a request id.
    pub request_id: Option<String>,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Filters {
    /// Whether an entry passes every filter.
    pub fn keep(&self, r: &Recorded) -> bool {
        let e = &r.entry;
        let route_ok = given(&self.route).is_none_or(|q| {
            e.path.contains(q) || e.route.as_deref().is_some_and(|t| t.contains(q))
        });
        let status_ok = given(&self.status).is_none_or(|q| {
            let s = e.status.to_string();
            match q.strip_suffix("xx").or_else(|| q.strip_suffix("XX")) {
                Some(class) => s.starts_with(class) && class.len() == 1,
                None => s == q,
            }
        });
        let id_ok = given(&self.request_id).is_none_or(|q| e.request_id.contains(q));
        route_ok && status_ok && id_ok
    }

    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("route", &self.route),
            ("status", &self.status),
            ("request_id", &self.request_id),
        ] {
            if let Some(v) = given(v) {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

/// What an entry links to: the reward it issued or named, else the campaign its path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// A reward.
    Reward(String),
    /// A campaign.
    Campaign(String),
}

/// The reward or campaign an entry touched.
pub fn link_of(r: &Recorded) -> Option<Link> {
    if let Some(id) = &r.by.reward_id {
        return Some(Link::Reward(id.to_string()));
    }
    let mut parts = r.entry.path.trim_start_matches('/').split('/');
    let (v1, resource, id) = (parts.next()?, parts.next()?, parts.next()?);
    if v1 != "v1" || id.is_empty() {
        return None;
    }
    match resource {
        "rewards" | "fraud_reviews" => Some(Link::Reward(id.to_owned())),
        "campaigns" => Some(Link::Campaign(id.to_owned())),
        _ => None,
    }
}

/// One entry as a table row.
pub fn row(r: &Recorded) -> Markup {
    let e = &r.entry;
    let class = match e.status {
        200..=299 => "ok",
        400..=499 => "client-error",
        _ => "server-error",
    };
    html! {
        tr data-request-id=(e.request_id) {
            td { time datetime=(e.at.to_rfc3339()) { (e.at.format("%H:%M:%S")) } }
            td { (e.method) }
            td { code { (e.route.as_deref().unwrap_or(&e.path)) } }
            td class={ "num status-code " (class) } { (e.status) @if e.replayed { " (replay)" } }
            td { code { (e.request_id) } }
            td {
                @match link_of(r) {
                    Some(Link::Reward(id)) => a href={ "/console/rewards/" (id) } { "Reward " code { (id) } },
                    Some(Link::Campaign(id)) => a href={ "/console/campaigns/" (id) } { "Campaign " code { (id) } },
                    None => "–",
                }
                @if let Some(f) = &e.fault { " · fault: " (f) }
            }
        }
    }
}

/// `GET /console/journal`: the filters and the app's latest requests, newest first; with script the
/// table takes new rows as they are recorded.
async fn page(c: Console, Query(f): Query<Filters>) -> Response {
    let entries = c.app.journal().recent_of(c.app_id(), SHOWN, |r| f.keep(r));
    let none = layout::FormErrors::default();
    let stream = format!("/console/journal/stream?{}", f.query());
    let body = html! {
        h1 { "Request journal" }
        form method="get" action="/console/journal" class="filters" {
            div class="grid" {
                (layout::input(&none, "Route or path contains", "route", given(&f.route).unwrap_or(""), "text"))
                (layout::input(&none, "Status (404 or 4xx)", "status", given(&f.status).unwrap_or(""), "text"))
                (layout::input(&none, "Request id contains", "request_id", given(&f.request_id).unwrap_or(""), "text"))
            }
            div class="actions" { button type="submit" { "Filter" } a href="/console/journal" { "Clear filters" } }
        }
        p class="muted" { "The latest " (SHOWN) " requests of your app; new ones appear at the top as they happen (reload without script)." }
        div class="table-wrap" {
            table id="journal" {
                thead { tr {
                    th scope="col" { "Time (UTC)" } th scope="col" { "Method" } th scope="col" { "Route" }
                    th scope="col" class="num" { "Status" } th scope="col" { "Request id" } th scope="col" { "Touched" }
                } }
                tbody id="journal-rows" hx-ext="sse" sse-connect=(stream) sse-swap="entry" hx-swap="afterbegin" {
                    @for r in &entries { (row(r)) }
                }
            }
        }
        script src=(assets::url(assets::HTMX_SSE)) defer {}
    };
    layout::page(&c, Section::Journal, "Request journal", body)
}

/// `GET /console/journal/stream`: server-sent events, one `entry` event (a table row) per new request
/// of the app that passes the filters.
async fn stream(c: Console, Query(f): Query<Filters>) -> Response {
    let rx = c.app.0.journal_feed.subscribe();
    let stop = c.app.0.stopping.subscribe();
    let app_id: Arc<str> = c.app_id().into();
    Sse::new(entries(rx, stop, app_id, f, c.still_signed_in()))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The stream of a listener's rows; it ends when the server stops, and before sending a row once `signed_in`
/// says the session is over.
fn entries(
    rx: tokio::sync::broadcast::Receiver<Arc<Recorded>>,
    stop: tokio::sync::watch::Receiver<bool>,
    app_id: Arc<str>,
    f: Filters,
    signed_in: impl Fn() -> bool + Send + 'static,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = (rx, stop, app_id, f, signed_in);
    futures_util::stream::unfold(
        state,
        |(mut rx, mut stop, app_id, f, signed_in)| async move {
            loop {
                let next = tokio::select! {
                    next = rx.recv() => next,
                    _ = stop.wait_for(|stopping| *stopping) => return None,
                };
                match next {
                    Ok(r) if r.is_of(&app_id) && f.keep(&r) => {
                        if !signed_in() {
                            return None;
                        }
                        let ev = Event::default().event("entry").data(row(&r).into_string());
                        return Some((Ok(ev), (rx, stop, app_id, f, signed_in)));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::journal::{Attribution, JournalEntry};

    fn recorded(path: &str, status: u16, reward: Option<&str>) -> Recorded {
        Recorded {
            entry: JournalEntry {
                request_id: "req_abc123".into(),
                at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
                method: "POST".into(),
                path: path.into(),
                route: None,
                status,
                idempotency_key: None,
                replayed: false,
                fault: None,
                occurred_at: None,
            },
            by: Attribution {
                app_id: Some("app_1".into()),
                reward_id: reward.map(Into::into),
            },
        }
    }

    #[test]
    fn entries_link_to_what_they_touched() {
        let trigger = recorded("/v1/triggers", 200, Some("rwd_1"));
        assert_eq!(link_of(&trigger), Some(Link::Reward("rwd_1".into())));
        let cancel = recorded("/v1/rewards/rwd_2/cancel", 200, None);
        assert_eq!(link_of(&cancel), Some(Link::Reward("rwd_2".into())));
        let submit = recorded("/v1/campaigns/cmp_9/submit", 200, None);
        assert_eq!(link_of(&submit), Some(Link::Campaign("cmp_9".into())));
        assert_eq!(link_of(&recorded("/v1/campaigns", 200, None)), None);
        assert_eq!(link_of(&recorded("/v1/app", 200, None)), None);
    }

    #[test]
    fn filters_match_route_status_class_and_request_id() {
        let r = recorded("/v1/rewards/rwd_2/cancel", 409, None);
        let f = |route: &str, status: &str, id: &str| Filters {
            route: Some(route.into()),
            status: Some(status.into()),
            request_id: Some(id.into()),
        };
        assert!(f("", "", "").keep(&r));
        assert!(f("rewards", "4xx", "abc").keep(&r));
        assert!(f("", "409", "").keep(&r));
        assert!(!f("", "404", "").keep(&r));
        assert!(!f("", "2xx", "").keep(&r));
        assert!(!f("triggers", "", "").keep(&r));
        assert!(!f("", "", "zzz").keep(&r));
    }

    #[tokio::test]
    async fn the_stream_sends_the_apps_rows_and_ends_when_the_server_stops() {
        use futures_util::{FutureExt, StreamExt};
        let (tx, rx) = tokio::sync::broadcast::channel(8);
        let stopping = tokio::sync::watch::Sender::new(false);
        let stream = entries(
            rx,
            stopping.subscribe(),
            "app_1".into(),
            Filters::default(),
            || true,
        );
        let mut stream = std::pin::pin!(stream);
        let mut other = recorded("/v1/app", 200, None);
        other.by.app_id = Some("app_2".into());
        tx.send(Arc::new(other)).unwrap();
        assert!(
            stream.next().now_or_never().is_none(),
            "another app's entry is not sent"
        );
        tx.send(Arc::new(recorded("/v1/triggers", 200, Some("rwd_1"))))
            .unwrap();
        assert!(
            matches!(stream.next().now_or_never(), Some(Some(Ok(_)))),
            "the app's entry is sent"
        );
        stopping.send_replace(true);
        assert!(stream.next().await.is_none(), "the stream ends");
    }

    #[tokio::test]
    async fn the_stream_ends_without_the_row_once_the_session_is_over() {
        use futures_util::{FutureExt, StreamExt};
        use std::sync::atomic::{AtomicBool, Ordering};
        let (tx, rx) = tokio::sync::broadcast::channel(8);
        let stopping = tokio::sync::watch::Sender::new(false);
        let open = Arc::new(AtomicBool::new(true));
        let check = open.clone();
        let stream = entries(
            rx,
            stopping.subscribe(),
            "app_1".into(),
            Filters::default(),
            move || check.load(Ordering::SeqCst),
        );
        let mut stream = std::pin::pin!(stream);
        tx.send(Arc::new(recorded("/v1/triggers", 200, Some("rwd_1"))))
            .unwrap();
        assert!(matches!(stream.next().now_or_never(), Some(Some(Ok(_)))));
        // Signed out (or the key revoked): the next row of the app is not sent, and the stream ends.
        open.store(false, Ordering::SeqCst);
        tx.send(Arc::new(recorded("/v1/triggers", 200, Some("rwd_2"))))
            .unwrap();
        assert!(
            matches!(stream.next().now_or_never(), Some(None)),
            "the stream ends"
        );
    }

    #[test]
    fn a_row_escapes_the_path() {
        let r = recorded("/v1/<script>alert(1)</script>", 404, None);
        let html = row(&r).into_string();
        assert!(
            !html.contains("<script>") && html.contains("&lt;script&gt;"),
            "{html}"
        );
    }
}
