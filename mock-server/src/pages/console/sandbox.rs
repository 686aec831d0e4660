//! The sandbox's controls: the virtual clock (advance an hour, a day, to a campaign's end; freeze),
//! test/live mode, faults (inject, clear) and reset. Each calls the control API's own function.
//! The clock, mode, faults and reset are the server's, shared by every app of the sandbox.

use axum::Router;
use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;

use super::ConsoleState;
use super::layout::{self, Flash, FormErrors, Section};
use super::session::Console;
use crate::control::{self, ModeBody, SetClockBody};
use crate::domain::faults::Fault;

/// The sandbox page's routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/sandbox", get(show))
        .route("/console/sandbox/clock/advance", post(advance))
        .route("/console/sandbox/clock/to-end", post(to_end))
        .route("/console/sandbox/clock/freeze", post(freeze))
        .route("/console/sandbox/mode", post(mode))
        .route("/console/sandbox/faults", post(add_fault))
        .route("/console/sandbox/faults/clear", post(clear_faults))
        .route("/console/sandbox/reset", post(reset))
}

const FAULT_FIELDS: [&str; 5] = ["route", "status", "count", "action", "latency_ms"];

async fn show(c: Console) -> Response {
    render(
        &c,
        &FormErrors::default(),
        &FaultForm::default(),
        StatusCode::OK,
    )
}

fn render(c: &Console, errors: &FormErrors, fault: &FaultForm, status: StatusCode) -> Response {
    let clock = control::clock_now(&c.app);
    let (test_mode, faults, ends) = {
        let g = c.app.lock();
        let ends: Vec<(String, String)> = g
            .campaigns
            .of_app(c.app_id())
            .iter()
            .rev()
            .filter(|r| r.c.end_at > clock.now)
            .map(|r| {
                (
                    r.c.id.clone(),
                    format!(
                        "{} (ends {})",
                        r.c.name,
                        r.c.end_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                )
            })
            .collect();
        (g.test_mode, g.faults.list().to_vec(), ends)
    };
    let body = html! {
        h1 { "Sandbox" }
        p class="muted" { "The clock, mode, faults and reset belong to the whole mock server: every app of it sees them." }
        section aria-labelledby="clock-h" class="card" {
            h2 id="clock-h" { "Virtual clock" }
            dl class="facts" {
                dt { "Now" } dd { time datetime=(clock.now.to_rfc3339()) { (clock.now.format("%Y-%m-%d %H:%M:%S UTC")) } }
                dt { "State" } dd { (if clock.frozen { "frozen" } else { "running" }) }
                dt { "Offset from real time" } dd { (clock.offset_seconds) " s" }
            }
            div class="actions" {
                form method="post" action="/console/sandbox/clock/advance" class="inline" {
                    (layout::csrf_field(c))
                    input type="hidden" name="seconds" value="3600";
                    button type="submit" { "Advance an hour" }
                }
                form method="post" action="/console/sandbox/clock/advance" class="inline" {
                    (layout::csrf_field(c))
                    input type="hidden" name="seconds" value="86400";
                    button type="submit" { "Advance a day" }
                }
                form method="post" action="/console/sandbox/clock/freeze" class="inline" {
                    (layout::csrf_field(c))
                    input type="hidden" name="frozen" value=(if clock.frozen { "false" } else { "true" });
                    button type="submit" class="secondary" { (if clock.frozen { "Unfreeze" } else { "Freeze" }) }
                }
            }
            form method="post" action="/console/sandbox/clock/advance" class="grid" {
                (layout::csrf_field(c))
                (layout::input(errors, "Advance by seconds", "seconds", "", "number"))
                div class="field" { span { "\u{a0}" } button type="submit" { "Advance" } }
            }
            @if !ends.is_empty() {
                form method="post" action="/console/sandbox/clock/to-end" class="grid" {
                    (layout::csrf_field(c))
                    (layout::select(errors, "Campaign", "campaign_id", &ends, ""))
                    div class="field" { span { "\u{a0}" } button type="submit" { "Advance to its end" } }
                }
            }
        }
        section aria-labelledby="mode-h" class="card" {
            h2 id="mode-h" { "Mode" }
            p { "The sandbox is in " strong { (if test_mode { "test" } else { "live" }) } " mode." }
            form method="post" action="/console/sandbox/mode" {
                (layout::csrf_field(c))
                input type="hidden" name="mode" value=(if test_mode { "live" } else { "test" });
                button type="submit" class="secondary" { "Switch to " (if test_mode { "live" } else { "test" }) " mode" }
            }
        }
        section aria-labelledby="faults-h" class="card" {
            h2 id="faults-h" { "Faults" }
            @if faults.is_empty() {
                p { "No fault is armed." }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr { th { "Route" } th { "Answer" } th class="num" { "Requests left" } } }
                        tbody {
                            @for f in &faults {
                                tr {
                                    td { code { (f.route) } }
                                    td { (fault_answer(f)) }
                                    td class="num" { (f.count) }
                                }
                            }
                        }
                    }
                }
                (layout::action_button(c, "/console/sandbox/faults/clear", "Clear all faults", "secondary"))
            }
            h3 { "Inject a fault" }
            (errors.general_box())
            form method="post" action="/console/sandbox/faults" {
                (layout::csrf_field(c))
                div class="grid" {
                    (layout::input(errors, "Route (METHOD /path)", "route", &fault.route, "text"))
                    (layout::input(errors, "Status (400–599)", "status", &fault.status, "number"))
                    (layout::select(errors, "Action", "action", &[
                        (String::new(), "(answer with the status)".into()),
                        ("rate_limit".into(), "rate_limit (429)".into()),
                        ("reset".into(), "reset (close the connection)".into()),
                    ], &fault.action))
                    (layout::input(errors, "Latency (ms)", "latency_ms", &fault.latency_ms, "number"))
                    (layout::input(errors, "Requests it applies to", "count", &fault.count, "number"))
                }
                button type="submit" { "Inject" }
            }
        }
        section aria-labelledby="reset-h" class="card" {
            h2 id="reset-h" { "Reset" }
            p { "Back to how the server started: the seeded demo and startup fixtures, the clock at real time. Every app's data goes." }
            (layout::action_button(c, "/console/sandbox/reset", "Reset the sandbox", "danger"))
        }
    };
    let mut r = layout::page(c, Section::Sandbox, "Sandbox", body);
    *r.status_mut() = status;
    r
}

fn fault_answer(f: &Fault) -> String {
    let mut parts = vec![];
    if let Some(a) = &f.action {
        parts.push(a.clone());
    }
    if let Some(s) = f.status {
        parts.push(format!("status {s}"));
    }
    if let Some(ms) = f.latency_ms {
        parts.push(format!("after {ms} ms"));
    }
    parts.join(", ")
}

/// Redirects back to the sandbox page with `result`'s message.
fn back<T>(c: &Console, result: Result<T, crate::domain::errors::ApiError>, ok: &str) -> Response {
    c.flash(match result {
        Ok(_) => Flash::notice(ok),
        Err(e) => Flash::error(e.message),
    });
    layout::redirect("/console/sandbox")
}

#[derive(Deserialize)]
struct Seconds {
    seconds: String,
}

async fn advance(c: Console, Form(f): Form<Seconds>) -> Response {
    let Ok(seconds) = f.seconds.trim().parse::<i64>() else {
        let e = crate::domain::errors::ApiError::validation(
            "seconds",
            "Give a whole number of seconds.",
        );
        return render(
            &c,
            &FormErrors::from_api(&e, &["seconds"]),
            &FaultForm::default(),
            StatusCode::BAD_REQUEST,
        );
    };
    let r = control::advance_checked(&c.app, seconds).await;
    back(&c, r, &format!("Clock advanced {seconds} s."))
}

#[derive(Deserialize)]
struct ToEnd {
    campaign_id: String,
}

async fn to_end(c: Console, Form(f): Form<ToEnd>) -> Response {
    let (end, frozen) = {
        let g = c.app.lock();
        match g.campaigns.own(c.app_id(), &f.campaign_id) {
            Ok(r) => (r.c.end_at, g.clock.is_frozen()),
            Err(e) => return back::<()>(&c, Err(e), ""),
        }
    };
    let r = control::set_clock_to(
        &c.app,
        SetClockBody {
            now: Some(end),
            frozen: Some(frozen),
        },
    )
    .await;
    back(&c, r, "Clock moved to the campaign's end.")
}

#[derive(Deserialize)]
struct Freeze {
    frozen: String,
}

async fn freeze(c: Console, Form(f): Form<Freeze>) -> Response {
    let frozen = f.frozen == "true";
    let r = control::set_clock_to(
        &c.app,
        SetClockBody {
            now: None,
            frozen: Some(frozen),
        },
    )
    .await;
    back(
        &c,
        r,
        if frozen {
            "Clock frozen."
        } else {
            "Clock running."
        },
    )
}

#[derive(Deserialize)]
struct ModeForm {
    mode: String,
}

async fn mode(c: Console, Form(f): Form<ModeForm>) -> Response {
    let msg = format!("Mode set to {}.", f.mode);
    let r = control::set_test_mode(&c.app, ModeBody { mode: f.mode });
    back(&c, r, &msg)
}

/// The fault form's fields, as typed.
#[derive(Default, Deserialize)]
struct FaultForm {
    #[serde(default)]
    route: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    latency_ms: String,
}

impl FaultForm {
    fn to_fault(&self) -> Result<Fault, crate::domain::errors::ApiError> {
        use crate::domain::errors::ApiError;
        fn num<T: std::str::FromStr>(name: &str, v: &str) -> Result<Option<T>, ApiError> {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            v.parse()
                .map(Some)
                .map_err(|_| ApiError::validation(name, "Give a whole number."))
        }
        Ok(Fault {
            route: self.route.trim().to_owned(),
            count: num("count", &self.count)?.unwrap_or(1),
            status: num("status", &self.status)?,
            latency_ms: num("latency_ms", &self.latency_ms)?,
            action: Some(self.action.clone()).filter(|a| !a.is_empty()),
            retry_after_seconds: None,
        })
    }
}

async fn add_fault(c: Console, Form(f): Form<FaultForm>) -> Response {
    match f
        .to_fault()
        .and_then(|fault| control::arm_fault(&c.app, fault))
    {
        Ok(fault) => {
            c.flash(Flash::notice(format!("Fault armed on {}.", fault.route)));
            layout::redirect("/console/sandbox")
        }
        Err(e) => render(
            &c,
            &FormErrors::from_api(&e, &FAULT_FIELDS),
            &f,
            StatusCode::BAD_REQUEST,
        ),
    }
}

async fn clear_faults(c: Console) -> Response {
    let _ = control::clear_all_faults(&c.app);
    c.flash(Flash::notice("Faults cleared."));
    layout::redirect("/console/sandbox")
}

async fn reset(c: Console) -> Response {
    match control::reset_sandbox(&c.app) {
        Ok(ack) => {
            // The reset may have removed the signed-in app; the next page says so if it did.
            c.flash(Flash::notice(ack.0.message));
            layout::redirect("/console/sandbox")
        }
        Err(e) => layout::api_error_page(&e).into_response(),
    }
}
