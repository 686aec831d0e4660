//! The HTML landing page of a reward link, and its form post.

use std::sync::OnceLock;

use axum::extract::{Path, Request, State as S};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::domain::errors::ApiError;
use crate::domain::journal::Attribution;
use crate::domain::model::*;
use crate::domain::rewards::redemption;
use crate::http::layers::journal::Touched;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The pages' one stylesheet, inline; the policy allows it by its hash.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}\
.choice{border:1px solid #ccc;border-radius:8px;padding:.5rem;margin:.5rem 0}img{max-width:100%}.error{color:#b00020}";

/// The Content-Security-Policy of reward-link answers: no script at all, the one stylesheet by hash,
/// images from https only, forms posted only to the mock itself, never in a frame.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; img-src https:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'"
        )
    })
}

/// Whether a path is a reward link's: its page (`/r/…`) or its JSON twin (`/v1/redemptions/…`).
fn is_link_path(path: &str) -> bool {
    path.starts_with("/r/") || path.starts_with("/v1/redemptions/")
}

/// Middleware: every answer on a reward link's paths (pages, JSON, errors, faults) carries the
/// security headers. The URL is the credential, so it is never cached, framed or sent as a referrer.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let link = is_link_path(req.uri().path());
    let mut resp = next.run(req).await;
    if link {
        let h = resp.headers_mut();
        let csp = HeaderValue::from_static(content_security_policy());
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
        for (name, value) in [
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ] {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    resp
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        t = esc(title)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

fn error_page(e: &ApiError) -> Response {
    let (title, text) = match e.code {
        "reward_already_redeemed" => (
            "Already redeemed",
            "This reward link was already used. Each reward can be redeemed once.",
        ),
        "reward_expired" => ("Reward expired", "This reward link has expired."),
        "reward_not_redeemable" => (
            "Reward cancelled",
            "This reward was cancelled and can no longer be redeemed.",
        ),
        "flagged_for_review" => (
            "Under review",
            "This reward is being reviewed. The link will work once the review is done.",
        ),
        "resource_not_found" => (
            "Link not valid",
            "This reward link is not valid. Check that you copied the whole link.",
        ),
        _ => ("Cannot redeem", "This reward cannot be redeemed."),
    };
    html(
        e.status,
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><p><small>Code: {}</small></p>",
            esc(title),
            esc(text),
            e.code
        ),
    )
}

fn landing(v: &Redemption, token: &str, error: Option<&str>) -> String {
    let mut b = format!(
        "<h1>{}</h1><p>{}</p>",
        esc(&v.brand_name),
        esc(&v.redemption_message)
    );
    // Only an https image: the page's policy would block any other (the JSON twin still returns it).
    if let Some(img) = v.image_url.as_ref().filter(|u| u.starts_with("https://")) {
        b += &format!("<img src=\"{}\" alt=\"{}\">", esc(img), esc(&v.brand_name));
    }
    if let Some(e) = error {
        b += &format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e));
    }
    // Relative (the page's own URL), so a tenant's page (`/t/ID/r/TOKEN`) posts to its tenant.
    b += &format!(
        "<form method=\"post\" action=\"{}\"><fieldset><legend>Choose your reward</legend>",
        esc(token)
    );
    for (i, c) in v.choices.iter().enumerate() {
        b += &format!(
            "<div class=\"choice\"><label><input type=\"radio\" name=\"item_id\" value=\"{}\"{}> {} <small>({}, value {})</small></label></div>",
            esc(&c.item_id),
            if i == 0 { " checked" } else { "" },
            esc(&c.title),
            match c.kind {
                ItemKind::Physical => "shipped to you",
                ItemKind::Digital => "digital code",
                ItemKind::Credit => "credit",
            },
            esc(&c.value.to_string())
        );
    }
    b += "</fieldset>";
    if v.requires_shipping {
        b += "<fieldset><legend>Shipping address (for physical items)</legend>";
        for (f, label) in [
            ("name", "Full name"),
            ("line1", "Address line 1"),
            ("line2", "Address line 2 (optional)"),
            ("city", "City"),
            ("postal_code", "Postal code"),
            ("country", "Country"),
        ] {
            b += &format!(
                "<p><label>{label}<br><input name=\"{f}\" autocomplete=\"on\"></label></p>"
            );
        }
        b += "</fieldset>";
    }
    b += &format!(
        "<button type=\"submit\">Redeem</button></form><p><small>Expires {}</small></p>",
        v.expires_at.to_rfc3339()
    );
    b
}

/// `GET /r/{token}`: the landing page.
#[utoipa::path(get, path = "/r/{token}", tag = "redemption", params(("token" = String, Path)),
    responses((status = 200, description = "HTML landing page", content_type = "text/html", body = String),
              (status = "4XX", description = "HTML page explaining why the link does not work", content_type = "text/html", body = String)))]
pub async fn page(S(app): S<AppState>, Path(token): Path<String>) -> Response {
    let g = app.lock();
    let id = match redemption::reward_by_link(&g, &token) {
        Ok(id) => id,
        Err(e) => return error_page(&e),
    };
    if let Err(e) = redemption::check_link(&g, &id, false) {
        return error_page(&e);
    }
    let v = redemption::redemption_view(&g, &id);
    let mut resp = html(
        StatusCode::OK,
        &format!("{} reward", v.brand_name),
        &landing(&v, &token, None),
    );
    if let Some(t) = link_touched(&g, &token) {
        resp.extensions_mut().insert(t);
    }
    resp
}

/// The reward a link names and its app, for the request journal.
fn link_touched(g: &crate::domain::sandbox::Sandbox, token: &str) -> Option<Touched> {
    let id = redemption::reward_by_link(g, token).ok()?;
    let r = g.rewards.get(&id)?;
    Some(Touched(Attribution {
        app_id: Some(r.issue.app_id.clone()),
        reward_id: Some(r.id.clone()),
    }))
}

#[derive(Deserialize)]
struct FormBody {
    item_id: Option<String>,
    name: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
}

/// `POST /r/{token}`: the form post.
#[utoipa::path(post, path = "/r/{token}", tag = "redemption", params(("token" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "item_id, name, line1, line2, city, postal_code, country"),
    responses((status = 200, description = "HTML confirmation", content_type = "text/html", body = String),
              (status = "4XX", description = "HTML page with the error", content_type = "text/html", body = String)))]
pub async fn submit(S(app): S<AppState>, Path(token): Path<String>, body: Bytes) -> Response {
    let f: FormBody = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => return error_page(&ApiError::validation("body", "The form could not be read.")),
    };
    let has_addr = f.name.as_deref().is_some_and(|s| !s.is_empty())
        || f.line1.as_deref().is_some_and(|s| !s.is_empty());
    let req = RedeemRequest {
        item_id: f.item_id.unwrap_or_default(),
        shipping_address: has_addr.then(|| ShippingAddress {
            name: f.name.unwrap_or_default(),
            line1: f.line1.unwrap_or_default(),
            line2: f.line2.filter(|s| !s.is_empty()),
            city: f.city.unwrap_or_default(),
            postal_code: f.postal_code.unwrap_or_default(),
            country: f.country.unwrap_or_default(),
        }),
    };
    let mut g = app.lock();
    let touched = link_touched(&g, &token);
    let mut resp = match redemption::redeem(&mut g, &token, req) {
        Ok(v) => {
            let item = v
                .redeemed_item
                .as_ref()
                .map(|i| i.title.clone())
                .unwrap_or_default();
            let mut b = format!(
                "<h1>Thank you!</h1><p>You redeemed <strong>{}</strong> from {}.</p>",
                esc(&item),
                esc(&v.brand_name)
            );
            if let Some(code) = &v.digital_code {
                b += &format!("<p>Your code: <code>{}</code></p>", esc(code));
            }
            if v.requires_shipping {
                b += "<p>Your item ships in about 2 days.</p>";
            }
            html(StatusCode::OK, "Redeemed", &b)
        }
        Err(e) if e.code == "validation_error" || e.code == "inventory_exhausted" => {
            match redemption::reward_by_link(&g, &token) {
                Ok(id) => {
                    let v = redemption::redemption_view(&g, &id);
                    html(
                        e.status,
                        "Please check the form",
                        &landing(&v, &token, Some(&e.message)),
                    )
                }
                Err(e) => error_page(&e),
            }
        }
        Err(e) => error_page(&e),
    };
    if let Some(t) = touched {
        resp.extensions_mut().insert(t);
    }
    resp
}
