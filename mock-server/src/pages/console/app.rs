//! The app page: registration details, secret keys (created with the secret shown once, revoked)
//! and webhook endpoints (created with the signing secret shown once, deleted).

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;

use super::ConsoleState;
use super::form::FormData;
use super::layout::{self, Flash, FormErrors, Section};
use super::session::Console;
use crate::domain::errors::ApiError;
use crate::domain::model::WebhookEndpointCreate;
use crate::domain::{apps, webhooks};

/// The app page's routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/app", get(show))
        .route("/console/app/keys", post(create_key))
        .route("/console/app/keys/{id}/revoke", post(revoke_key))
        .route("/console/app/webhook-endpoints", post(create_endpoint))
        .route(
            "/console/app/webhook-endpoints/{id}/delete",
            post(delete_endpoint),
        )
}

/// What a form sent back with errors shows again.
#[derive(Default)]
struct Sent {
    key_errors: FormErrors,
    key_name: String,
    endpoint_errors: FormErrors,
    url: String,
    events: Vec<String>,
}

async fn show(c: Console) -> Response {
    render(&c, &Sent::default(), StatusCode::OK)
}

fn render(c: &Console, sent: &Sent, status: StatusCode) -> Response {
    let (app, keys, endpoints, own_key) = {
        let g = c.app.lock();
        let own_key = g
            .credentials
            .keys_of(c.app_id())
            .find(|k| c.signed_in_with(&k.secret))
            .map(|k| k.id.clone());
        let now = g.now();
        let endpoints: Vec<_> = g
            .webhooks
            .endpoints_of(c.app_id())
            .into_iter()
            .map(|e| webhooks::view(e, now))
            .collect();
        (
            apps::app_view(&g, c.app_id()),
            apps::keys(&g, c.app_id()),
            endpoints,
            own_key,
        )
    };
    let app = match app {
        Ok(a) => a,
        Err(e) => return layout::api_error_page(&e),
    };
    let body = html! {
        h1 { "App " (app.name) }
        section aria-labelledby="reg-h" class="card" {
            h2 id="reg-h" { "Registration" }
            dl class="facts" {
                dt { "App id" } dd { code { (app.id) } }
                dt { "Account" } dd { code { (app.account_id) } }
                dt { "Legacy API key" } dd { code { (app.legacy_api_key_hint) } }
                dt { "Registered" } dd { (app.created_at.format("%Y-%m-%d %H:%M UTC")) }
            }
        }
        section aria-labelledby="keys-h" class="card" {
            h2 id="keys-h" { "Secret keys" }
            div class="table-wrap" {
                table {
                    thead { tr { th { "Name" } th { "Key" } th { "Created" } th { "Status" } th { span class="muted" { "Action" } } } }
                    tbody {
                        @for k in &keys {
                            tr {
                                td {
                                    (k.name.as_deref().unwrap_or("—"))
                                    @if own_key.as_deref() == Some(k.id.as_str()) {
                                        br; small { "this session's key: revoking it signs you out" }
                                    }
                                }
                                td { code { (k.hint) } }
                                td { (k.created_at.format("%Y-%m-%d %H:%M")) }
                                td { @if let Some(at) = k.revoked_at { "revoked " (at.format("%Y-%m-%d %H:%M")) } @else { "active" } }
                                td {
                                    @if k.revoked_at.is_none() {
                                        (layout::action_button(c, &format!("/console/app/keys/{}/revoke", k.id), &format!("Revoke {}", k.hint), "danger"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Create a key" }
            (sent.key_errors.general_box())
            form method="post" action="/console/app/keys" {
                (layout::csrf_field(c))
                (layout::input(&sent.key_errors, "Name (optional)", "name", &sent.key_name, "text"))
                button type="submit" { "Create key" }
            }
        }
        section aria-labelledby="wh-h" class="card" {
            h2 id="wh-h" { "Webhook endpoints" }
            @if endpoints.is_empty() {
                p { "No endpoint: events are not sent." }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr { th { "URL" } th { "Events" } th { "Created" } th { span class="muted" { "Action" } } } }
                        tbody {
                            @for e in &endpoints {
                                tr {
                                    td { code { (e.url) } }
                                    td { @if e.events.is_empty() { "all" } @else { (e.events.join(", ")) } }
                                    td { (e.created_at.format("%Y-%m-%d %H:%M")) }
                                    td { (layout::action_button(c, &format!("/console/app/webhook-endpoints/{}/delete", e.id), &format!("Delete {}", e.id), "danger")) }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Add an endpoint" }
            (sent.endpoint_errors.general_box())
            form method="post" action="/console/app/webhook-endpoints" {
                (layout::csrf_field(c))
                (layout::input(&sent.endpoint_errors, "URL", "url", &sent.url, "url"))
                fieldset {
                    legend { "Events (none checked: all)" }
                    div class="grid" {
                        @for (i, t) in webhooks::EVENT_TYPES.iter().enumerate() {
                            div class="field check" {
                                input id={ "ev-" (i) } type="checkbox" name="events" value=(t)
                                    checked[sent.events.iter().any(|e| e == t)];
                                label for={ "ev-" (i) } { code { (t) } }
                            }
                        }
                    }
                    @if let Some(e) = sent.endpoint_errors.of("events") {
                        p class="field-error" { (e) }
                    }
                }
                button type="submit" { "Add endpoint" }
            }
        }
    };
    let mut r = layout::page(c, Section::App, "App", body);
    *r.status_mut() = status;
    r
}

async fn create_key(c: Console, f: FormData) -> Response {
    let name = Some(f.get("name").trim().to_owned()).filter(|n| !n.is_empty());
    let result = {
        let mut g = c.app.lock();
        apps::create_key(&mut g, c.app_id(), name)
    };
    match result {
        Ok(k) => {
            c.flash(Flash::secret(
                format!("Key {} created.", k.hint),
                "Secret key",
                k.secret.unwrap_or_default(),
            ));
            layout::redirect("/console/app")
        }
        Err(e) => {
            let sent = Sent {
                key_errors: FormErrors::from_api(&e, &["name"]),
                key_name: f.get("name").to_owned(),
                ..Sent::default()
            };
            render(&c, &sent, e.status)
        }
    }
}

async fn revoke_key(c: Console, Path(id): Path<String>) -> Response {
    let result = {
        let mut g = c.app.lock();
        apps::revoke_key(&mut g, c.app_id(), &id)
    };
    match result {
        Ok(k) => {
            c.flash(Flash::notice(format!("Key {} revoked.", k.hint)));
            layout::redirect("/console/app")
        }
        Err(e) => layout::api_error_page(&e),
    }
}

async fn create_endpoint(c: Console, f: FormData) -> Response {
    let body = WebhookEndpointCreate {
        url: f.get("url").trim().to_owned(),
        events: f.all("events").into_iter().map(str::to_owned).collect(),
    };
    let sent_events = body.events.clone();
    let result = {
        let mut g = c.app.lock();
        webhooks::create_endpoint(&mut g, c.app_id(), body)
    };
    match result {
        Ok(e) => {
            c.flash(Flash::secret(
                format!("Endpoint {} added for {}.", e.id, e.url),
                "Signing secret",
                e.secret.unwrap_or_default(),
            ));
            layout::redirect("/console/app")
        }
        Err(e) => {
            let param = e.param.as_deref().unwrap_or_default();
            let e = if param.starts_with("events[") {
                ApiError {
                    param: Some("events".into()),
                    ..e
                }
            } else {
                e
            };
            let sent = Sent {
                endpoint_errors: FormErrors::from_api(&e, &["url", "events"]),
                url: f.get("url").to_owned(),
                events: sent_events,
                ..Sent::default()
            };
            render(&c, &sent, e.status)
        }
    }
}

async fn delete_endpoint(c: Console, Path(id): Path<String>) -> Response {
    let result = {
        let mut g = c.app.lock();
        webhooks::delete_endpoint(&mut g, c.app_id(), &id)
    };
    match result {
        Ok(e) => {
            c.flash(Flash::notice(format!("Endpoint {} deleted.", e.id)));
            layout::redirect("/console/app")
        }
        Err(e) => layout::api_error_page(&e),
    }
}
