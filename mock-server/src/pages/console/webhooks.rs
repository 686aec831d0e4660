//! Webhook deliveries: the attempts to the signed-in app's endpoints, per event (attempt, status,
//! error, next retry), the signed payload, and "send again".

use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::ConsoleState;
use super::layout::{self, Flash, Section};
use super::session::Console;
use crate::domain::webhooks::{self, Sent};

/// Events shown on the page, newest first.
pub const EVENTS_SHOWN: usize = 100;

/// The webhook pages' routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/webhooks", get(list))
        .route("/console/webhooks/{event_id}", get(show))
        .route("/console/webhooks/{event_id}/send-again", post(send_again))
}

/// One event sent to one endpoint, with its attempts.
#[derive(Clone, Debug)]
pub struct EventDeliveries {
    /// The event.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Attempts, newest first.
    pub attempts: Vec<Sent>,
}

/// Groups attempts (newest first) per (event, endpoint), keeping the first `limit` groups; a group
/// lists its attempts newest first.
pub fn per_event<'a>(
    attempts: impl Iterator<Item = &'a Sent>,
    limit: usize,
) -> Vec<EventDeliveries> {
    let mut out: Vec<EventDeliveries> = Vec::new();
    for s in attempts {
        let (d, full) = (&s.delivery, out.len() >= limit);
        match out
            .iter_mut()
            .find(|e| e.event_id == d.event_id && e.endpoint_id == d.endpoint_id)
        {
            Some(e) => e.attempts.push(s.clone()),
            None if !full => out.push(EventDeliveries {
                event_id: d.event_id.clone(),
                event_type: d.event_type.clone(),
                endpoint_id: d.endpoint_id.clone(),
                attempts: vec![s.clone()],
            }),
            None => {}
        }
    }
    out
}

/// The list's filter.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListParams {
    /// One event type.
    pub event_type: Option<String>,
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "–".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn attempts_table(attempts: &[Sent]) -> Markup {
    html! {
        div class="table-wrap" {
            table class="attempts" {
                thead { tr {
                    th scope="col" class="num" { "Attempt" } th scope="col" { "At" } th scope="col" { "Status" }
                    th scope="col" { "Error" } th scope="col" { "Next retry" }
                } }
                tbody {
                    @for a in attempts.iter().map(|s| &s.delivery) {
                        tr {
                            td class="num" { (a.attempt) }
                            td { (when(Some(a.at))) }
                            td { @if a.succeeded { "✓ " } (a.status.map_or("no answer".to_owned(), |s| s.to_string())) }
                            td { (a.error.as_deref().unwrap_or("–")) }
                            td { (when(a.next_retry_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/webhooks`: the latest events delivered to the app's endpoints, with their attempts.
async fn list(c: Console, Query(p): Query<ListParams>) -> Response {
    let kind = p.event_type.as_deref().filter(|s| !s.is_empty());
    let events = {
        let g = c.app.lock();
        let of_app = g.webhooks.deliveries_of(c.app_id());
        per_event(
            of_app.filter(|s| kind.is_none_or(|k| s.delivery.event_type == k)),
            EVENTS_SHOWN,
        )
    };
    let none = layout::FormErrors::default();
    let mut types = vec![(String::new(), "Any event".to_owned())];
    types.extend(
        webhooks::EVENT_TYPES
            .iter()
            .map(|t| (t.to_string(), t.to_string())),
    );
    let body = html! {
        h1 { "Webhook deliveries" }
        p class="muted" { "Endpoints are managed on the " a href="/console/app" { "App & keys" } " page." }
        form method="get" action="/console/webhooks" class="filters" {
            (layout::select(&none, "Event type", "event_type", &types, kind.unwrap_or("")))
            div class="actions" { button type="submit" { "Filter" } }
        }
        @if events.is_empty() { p class="muted" { "No deliveries yet." } }
        @for e in &events {
            section class="event" aria-label={ "Event " (e.event_id) } {
                h2 { code { (e.event_type) } " " a href={ "/console/webhooks/" (e.event_id) "?endpoint_id=" (e.endpoint_id) } { (e.event_id) } }
                p class="muted" { "To endpoint " code { (e.endpoint_id) } " · " (e.attempts[0].delivery.url) }
                (attempts_table(&e.attempts))
            }
        }
    };
    layout::page(&c, Section::Webhooks, "Webhook deliveries", body)
}

/// Which endpoint's deliveries of an event.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EndpointParam {
    /// The endpoint.
    pub endpoint_id: Option<String>,
}

/// `GET /console/webhooks/{event_id}`: the signed payload of an event's last attempt, its attempts, and
/// "send again".
async fn show(
    c: Console,
    Path(event_id): Path<String>,
    Query(p): Query<EndpointParam>,
) -> Response {
    let found = {
        let g = c.app.lock();
        let of_event = g.webhooks.deliveries_of(c.app_id()).filter(|s| {
            let d = &s.delivery;
            d.event_id == event_id && p.endpoint_id.as_deref().is_none_or(|e| d.endpoint_id == e)
        });
        per_event(of_event, 1).pop()
    };
    let Some(e) = found else {
        return layout::api_error_page(&crate::domain::errors::ApiError::not_found(
            "webhook delivery",
            &event_id,
        ));
    };
    let (sent, last) = (&e.attempts[0], &e.attempts[0].delivery);
    let pretty = serde_json::from_str::<serde_json::Value>(&sent.body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok());
    let body = html! {
        p { a href="/console/webhooks" { "← Webhook deliveries" } }
        h1 { "Event " code { (e.event_id) } }
        p { code { (e.event_type) } " to endpoint " code { (e.endpoint_id) } " · " (last.url) }
        form method="post" action={ "/console/webhooks/" (e.event_id) "/send-again" } class="actions" {
            (layout::csrf_field(&c))
            input type="hidden" name="endpoint_id" value=(e.endpoint_id);
            button type="submit" { "Send again" }
        }
        h2 { "Attempts" }
        (attempts_table(&e.attempts))
        h2 { "Signed payload (last attempt)" }
        dl class="details" {
            dt { "Moments-Signature" } dd { code id="signature" { (sent.signature) } }
            dt { "Moments-Event-Id" } dd { code { (e.event_id) } }
            dt { "Moments-Event-Type" } dd { code { (e.event_type) } }
        }
        pre class="payload" id="payload" tabindex="0" aria-label="Payload" { code { (pretty.as_deref().unwrap_or(&sent.body)) } }
    };
    layout::page(
        &c,
        Section::Webhooks,
        &format!("Event {}", e.event_id),
        body,
    )
}

/// The "send again" form.
#[derive(Clone, Debug, Deserialize)]
pub struct SendAgainForm {
    /// The endpoint to send to.
    pub endpoint_id: String,
}

/// `POST /console/webhooks/{event_id}/send-again`: a new first attempt of the event to the endpoint,
/// sent now.
async fn send_again(
    c: Console,
    Path(event_id): Path<String>,
    axum::Form(f): axum::Form<SendAgainForm>,
) -> Response {
    let sent = webhooks::send_again(&mut c.app.lock(), c.app_id(), &event_id, &f.endpoint_id);
    match sent {
        Ok(()) => {
            let app = c.app.clone();
            // Delivered as the API's events are: by the sender, off this request.
            tokio::spawn(async move { crate::delivery::flush(&app).await });
            c.flash(Flash::notice(
                "Sent again: the new attempt is listed once it is answered.",
            ));
        }
        Err(e) => c.flash(Flash::error(format!("{} ({})", e.message, e.code))),
    }
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    layout::redirect(&format!(
        "/console/webhooks/{}?endpoint_id={}",
        enc(&event_id),
        enc(&f.endpoint_id)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::webhooks::Delivery;

    fn attempt(event: &str, endpoint: &str, n: u32) -> Sent {
        let delivery = Delivery {
            event_id: event.into(),
            event_type: "reward.issued".into(),
            endpoint_id: endpoint.into(),
            url: "https://example.com/hook".into(),
            attempt: n,
            status: Some(500),
            succeeded: false,
            error: Some("HTTP 500".into()),
            at: chrono::DateTime::from_timestamp(1_800_000_000 + n as i64, 0).unwrap(),
            next_retry_at: None,
        };
        Sent {
            delivery,
            body: "{}".into(),
            signature: "t=1,v1=00".into(),
        }
    }

    #[test]
    fn attempts_are_grouped_per_event_and_endpoint_newest_first() {
        let log = [
            attempt("evt_2", "we_a", 2),
            attempt("evt_1", "we_a", 1),
            attempt("evt_2", "we_b", 1),
            attempt("evt_2", "we_a", 1),
            attempt("evt_3", "we_a", 1),
        ];
        let groups = per_event(log.iter(), 2);
        let keys: Vec<(&str, &str, Vec<u32>)> = groups
            .iter()
            .map(|g| {
                (
                    g.event_id.as_str(),
                    g.endpoint_id.as_str(),
                    g.attempts.iter().map(|a| a.delivery.attempt).collect(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [("evt_2", "we_a", vec![2, 1]), ("evt_1", "we_a", vec![1])]
        );
    }
}
