//! The console's page shell (head, navigation, flash message), its error page and redirects, and
//! the helpers forms use to show a control with its label and the API's error beside it.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::session::{CSRF_FIELD, Console};
use crate::domain::errors::ApiError;

/// A section of the console, as the navigation lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The app: registration, secret keys, webhook endpoints.
    App,
    /// Campaigns.
    Campaigns,
    /// Reports.
    Reports,
    /// Rewards.
    Rewards,
    /// Webhook deliveries.
    Webhooks,
    /// The request journal.
    Journal,
    /// The sandbox's controls: clock, mode, faults, reset.
    Sandbox,
}

/// Every section with its path and label, in the navigation's order.
pub const NAV: [(Section, &str, &str); 7] = [
    (Section::Campaigns, "/console/campaigns", "Campaigns"),
    (Section::Rewards, "/console/rewards", "Rewards"),
    (Section::Reports, "/console/reports", "Reports"),
    (Section::Webhooks, "/console/webhooks", "Webhooks"),
    (Section::Journal, "/console/journal", "Journal"),
    (Section::App, "/console/app", "App & keys"),
    (Section::Sandbox, "/console/sandbox", "Sandbox"),
];

/// A message shown once, on the next page of the session.
#[derive(Clone, Debug)]
pub struct Flash {
    /// Whether it reports a failure.
    pub error: bool,
    /// The message.
    pub message: String,
    /// A secret shown this once (a new key, a new webhook secret), with what it is.
    pub secret: Option<(String, String)>,
}

impl Flash {
    /// A notice.
    pub fn notice(message: impl Into<String>) -> Flash {
        Flash {
            error: false,
            message: message.into(),
            secret: None,
        }
    }

    /// An error.
    pub fn error(message: impl Into<String>) -> Flash {
        Flash {
            error: true,
            message: message.into(),
            secret: None,
        }
    }

    /// A notice with a secret shown once (`what` names it: "Secret key", "Signing secret").
    pub fn secret(message: impl Into<String>, what: &str, secret: String) -> Flash {
        Flash {
            error: false,
            message: message.into(),
            secret: Some((what.to_owned(), secret)),
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx without eval, inline scripts or an injected stylesheet: the policy allows none of them.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
            title { (title) " · Moments Console" }
            // No favicon request (the mock serves none).
            link rel="icon" href="data:,";
            link rel="stylesheet" href=(assets::url(assets::CSS));
            script src=(assets::url(assets::HTMX)) defer {}
        }
    }
}

fn flash_box(flash: Option<Flash>) -> Markup {
    html! {
        @if let Some(f) = flash {
            div class={ "flash " (if f.error { "flash-error" } else { "flash-notice" }) }
                role=(if f.error { "alert" } else { "status" }) {
                p { (f.message) }
                @if let Some((what, secret)) = &f.secret {
                    p { (what) " (shown this once, copy it now): " }
                    p { code class="secret" { (secret) } }
                }
            }
        }
    }
}

/// A console page: the shell with the navigation (`section` marked current), the session's flash
/// message, and `body` as the main content. Every control of `body` is expected to carry a label.
pub fn page(c: &Console, section: Section, title: &str, body: Markup) -> Response {
    let hx_headers = serde_json::json!({ "X-CSRF-Token": c.csrf }).to_string();
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-headers=(hx_headers) {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/console" { "Moments Console" }
                    span class="who" { "App " code { (c.app_id()) } " · account " code { (c.account_id()) } }
                    form method="post" action="/console/sign-out" class="inline" {
                        (csrf_field(c))
                        button type="submit" class="link" { "Sign out" }
                    }
                }
                nav aria-label="Console sections" {
                    ul {
                        @for (s, path, label) in NAV {
                            li {
                                @if s == section {
                                    a href=(path) aria-current="page" { (label) }
                                } @else {
                                    a href=(path) { (label) }
                                }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    (flash_box(c.take_flash()))
                    (body)
                }
            }
        }
    };
    html_response(StatusCode::OK, doc)
}

/// A page without the navigation (sign-in, errors).
pub fn bare(status: StatusCode, title: &str, flash: Option<Flash>, body: Markup) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header class="top" { a class="brand" href="/console" { "Moments Console" } }
                main id="main" class="narrow" {
                    (flash_box(flash))
                    (body)
                }
            }
        }
    };
    html_response(status, doc)
}

/// An error page: `title` and what to do about it.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    bare(
        status,
        title,
        None,
        html! { h1 { (title) } p { (message) } p { a href="/console" { "Back to the console" } } },
    )
}

/// The page for an error the API answered with (a resource of another app is not found, as in the API).
pub fn api_error_page(e: &ApiError) -> Response {
    error_page(
        e.status,
        "The API refused",
        &format!("{} ({})", e.message, e.code),
    )
}

fn html_response(status: StatusCode, doc: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        doc.into_string(),
    )
        .into_response()
}

/// `303 See Other` to `to` (after a form post, and to the sign-in page).
pub fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(c: &Console) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(c.csrf); }
}

/// The API's validation errors of a form, by the field (`param`) they name.
#[derive(Clone, Debug, Default)]
pub struct FormErrors {
    /// The error naming no field of the form, if any.
    pub general: Option<String>,
    fields: Vec<(String, String)>,
}

impl FormErrors {
    /// The errors of an API answer: the message beside the field its `param` names, when the form
    /// has that field (`fields` lists the form's field names), else above the form.
    pub fn from_api(e: &ApiError, fields: &[&str]) -> FormErrors {
        match &e.param {
            Some(p) if fields.contains(&p.as_str()) => FormErrors {
                general: None,
                fields: vec![(p.clone(), e.message.clone())],
            },
            Some(p) => FormErrors {
                general: Some(format!("{} ({p})", e.message)),
                fields: vec![],
            },
            None => FormErrors {
                general: Some(e.message.clone()),
                fields: vec![],
            },
        }
    }

    /// The message beside field `name`.
    pub fn of(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.as_str())
    }

    /// The message above the form, in an alert.
    pub fn general_box(&self) -> Markup {
        html! {
            @if let Some(g) = &self.general {
                p class="form-error" role="alert" { (g) }
            }
        }
    }
}

/// An id for a field name usable in HTML (`moments[0].id` → `f-moments-0--id`).
pub fn field_id(name: &str) -> String {
    let mut id = String::from("f-");
    id.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        }
    }));
    id
}

/// A labelled `<input>` with its error, if any, beside it (`aria-invalid`, `aria-describedby`).
pub fn input_with_error(
    label: &str,
    name: &str,
    value: &str,
    kind: &str,
    error: Option<&str>,
    required: bool,
) -> Markup {
    let id = field_id(name);
    let err_id = format!("{id}-error");
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            label for=(id) { (label) }
            input id=(id) name=(name) type=(kind) value=(value) required[required]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| err_id.as_str())];
            @if let Some(e) = error {
                p class="field-error" id=(err_id) { (e) }
            }
        }
    }
}

/// A labelled `<input>` of a form whose errors are `errors`.
pub fn input(errors: &FormErrors, label: &str, name: &str, value: &str, kind: &str) -> Markup {
    input_with_error(label, name, value, kind, errors.of(name), false)
}

/// A labelled `<select>` with `options` as (value, text), `selected` chosen, and its error beside it.
pub fn select(
    errors: &FormErrors,
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: &str,
) -> Markup {
    let id = field_id(name);
    let err_id = format!("{id}-error");
    let error = errors.of(name);
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            label for=(id) { (label) }
            select id=(id) name=(name) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| err_id.as_str())] {
                @for (v, t) in options {
                    option value=(v) selected[v == selected] { (t) }
                }
            }
            @if let Some(e) = error {
                p class="field-error" id=(err_id) { (e) }
            }
        }
    }
}

/// A one-button form posting to `action` (a lifecycle action, a revoke), with the CSRF field.
pub fn action_button(c: &Console, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form method="post" action=(action) class="inline" {
            (csrf_field(c))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// Cents as dollars (`123456` → `$1,234.56`).
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let whole = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}${grouped}.{:02}", c % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_group_thousands() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(123_456), "$1,234.56");
        assert_eq!(dollars(1_500_000), "$15,000.00");
        assert_eq!(dollars(-250), "-$2.50");
    }

    #[test]
    fn field_ids_are_html_safe() {
        assert_eq!(field_id("moments[0].id"), "f-moments-0--id");
    }

    #[test]
    fn an_error_naming_a_field_of_the_form_goes_beside_it() {
        let e = ApiError::validation("budget", "Too big.");
        let f = FormErrors::from_api(&e, &["name", "budget"]);
        assert_eq!(
            (f.of("budget"), f.general.as_deref()),
            (Some("Too big."), None)
        );
        let f = FormErrors::from_api(&e, &["name"]);
        assert_eq!(f.of("budget"), None);
        assert_eq!(f.general.as_deref(), Some("Too big. (budget)"));
    }
}
