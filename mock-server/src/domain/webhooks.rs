//! Webhook endpoints, signed delivery over HTTP, retries on the virtual clock, the delivery log.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::domain::errors::ApiError;
use crate::domain::ids;
use crate::domain::model::*;
use crate::domain::sandbox::{DueKind, EndpointRec, Sandbox};

/// Backoff after attempt n (1-based): 1 min, 5 min, 30 min, 2 h, 5 h, 10 h; 7 attempts in all.
pub const BACKOFF_SECONDS: [i64; 6] = [60, 300, 1800, 7200, 18000, 36000];

/// The event types.
pub const EVENT_TYPES: [&str; 8] = [
    "reward.issued",
    "reward.redeemed",
    "reward.shipped",
    "reward.delivered",
    "reward.expired",
    "reward.flagged",
    "campaign.state_changed",
    "campaign.budget_exhausted",
];

/// The longest endpoint URL, in bytes (the rule admits ASCII only).
pub const URL_MAX_LEN: usize = 1000;

/// Endpoint URLs, as the OpenAPI document states them and the endpoint check applies them: http(s), a
/// host (an IPv4 address, or a name whose labels are 1–63 letters, digits and inner hyphens, the
/// last starting with a letter), an optional port 0–65535, then any printable ASCII.
pub const URL_PATTERN: &str = concat!(
    "^https?://(?:",
    "(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
    "|(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    ")(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    "(?:[/?#][\\x21-\\x7E]*)?$"
);

/// Whether `url` matches [`URL_PATTERN`] and is at most [`URL_MAX_LEN`] long.
pub fn valid_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let octet = |o: &str| {
        !o.is_empty()
            && o.len() <= 3
            && o.bytes().all(|b| b.is_ascii_digit())
            && (o == "0" || !o.starts_with('0'))
            && o.parse::<u16>().is_ok_and(|n| n <= 255)
    };
    let ipv4 = host.split('.').count() == 4 && host.split('.').all(octet);
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let name = host.split('.').all(label)
        && host
            .rsplit('.')
            .next()
            .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_alphabetic()));
    let port_ok = port.is_none_or(|p| {
        (1..=5).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() < 5 || (!p.starts_with('0') && p.parse::<u32>().is_ok_and(|n| n <= 65_535)))
    });
    url.len() <= URL_MAX_LEN
        && (ipv4 || name)
        && port_ok
        && tail.bytes().all(|b| (0x21..=0x7E).contains(&b))
}

/// One event to one endpoint.
#[derive(Clone, Debug)]
pub struct WebhookJob {
    /// Event id.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// Endpoint id.
    pub endpoint_id: String,
    /// Raw body (shared with the delivery log's entries).
    pub body: std::sync::Arc<str>,
    /// Next attempt number.
    pub attempt: u32,
}

/// A send taken out of the lock.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct PendingSend {
    /// Job.
    pub job_id: u64,
    /// Which attempt of the job this is (1 for the first).
    pub attempt: u32,
    /// URL.
    pub url: String,
    /// Signature header.
    pub signature: String,
    /// Body.
    pub body: String,
    /// Event id.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
}

/// One delivery attempt in the log.
#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Event id.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// Endpoint.
    pub endpoint_id: String,
    /// URL.
    pub url: String,
    /// Attempt number (1–7).
    pub attempt: u32,
    /// HTTP status, if any answer.
    pub status: Option<u16>,
    /// Whether it succeeded (2xx).
    pub succeeded: bool,
    /// Connection or status error.
    pub error: Option<String>,
    /// When (server clock).
    pub at: DateTime<Utc>,
    /// Next retry, if any.
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// An attempt as the log keeps it: the control API's [`Delivery`] and what was sent, for the console.
#[derive(Clone, Debug)]
pub struct Sent {
    /// The attempt.
    pub delivery: Delivery,
    /// The payload (the event's JSON), shared by the event's attempts.
    pub body: std::sync::Arc<str>,
    /// The `Moments-Signature` header sent with it.
    pub signature: String,
}

/// Default overlap of a secret rotation: 24 hours.
pub const ROTATION_OVERLAP_DEFAULT_SECONDS: i64 = 86_400;
/// Longest overlap of a secret rotation: 7 days.
pub const ROTATION_OVERLAP_MAX_SECONDS: i64 = 7 * 86_400;

fn mac_hex(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `Moments-Signature` header value for a body at unix time `t`.
#[cfg(test)]
pub fn sign(secret: &str, t: i64, body: &str) -> String {
    sign_all(&[secret], t, body)
}

/// `Moments-Signature` header value with one `v1=` entry per secret, in order.
pub fn sign_all(secrets: &[&str], t: i64, body: &str) -> String {
    let mut header = format!("t={t}");
    for s in secrets {
        header += ",v1=";
        header += &mac_hex(s, t, body);
    }
    header
}

/// Deliveries the log keeps (`GET /_mock/webhooks/deliveries`).
const DELIVERY_LOG: usize = 10_000;

/// The webhook endpoints of a server and what is owed to them: delivery jobs, sends made due and
/// not yet taken by a sender, and the log of attempts.
#[derive(Default)]
pub struct Webhooks {
    endpoints: HashMap<String, EndpointRec>,
    jobs: HashMap<u64, WebhookJob>,
    outbox: Vec<PendingSend>,
    deliveries: Vec<Sent>,
}

impl Webhooks {
    /// Whether any endpoint was ever created (events are built only then).
    pub fn has_endpoints(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// The endpoints of `app_id` subscribed to `kind`, in creation order.
    pub fn subscribers(&self, app_id: &str, kind: &str) -> Vec<String> {
        let mut targets: Vec<(u64, String)> = self
            .endpoints
            .values()
            .filter(|e| {
                !e.deleted
                    && e.app_id == app_id
                    && (e.e.events.is_empty() || e.e.events.iter().any(|t| t == kind))
            })
            .map(|e| (e.seq, e.e.id.clone()))
            .collect();
        targets.sort();
        targets.into_iter().map(|(_, id)| id).collect()
    }

    /// Adds an endpoint.
    pub fn add_endpoint(&mut self, rec: EndpointRec) {
        self.endpoints.insert(rec.e.id.clone(), rec);
    }

    /// A live endpoint of an app.
    pub fn endpoint(&self, app_id: &str, id: &str) -> Option<&EndpointRec> {
        self.endpoints
            .get(id)
            .filter(|e| !e.deleted && e.app_id == app_id)
    }

    /// A live endpoint of an app, to change.
    pub fn endpoint_mut(&mut self, app_id: &str, id: &str) -> Option<&mut EndpointRec> {
        self.endpoints
            .get_mut(id)
            .filter(|e| !e.deleted && e.app_id == app_id)
    }

    /// The live endpoints of an app, newest first.
    pub fn endpoints_of(&self, app_id: &str) -> Vec<&EndpointRec> {
        let mut v: Vec<_> = self
            .endpoints
            .values()
            .filter(|e| !e.deleted && e.app_id == app_id)
            .collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.seq));
        v
    }

    /// Adds job `id`: the first delivery attempt of an event to an endpoint (the caller schedules it).
    pub fn queue(&mut self, id: u64, ev: &Event, endpoint_id: &str) {
        self.jobs.insert(
            id,
            WebhookJob {
                event_id: ev.id.clone(),
                event_type: ev.kind.clone(),
                endpoint_id: endpoint_id.into(),
                body: serde_json::to_string(ev).unwrap_or_default().into(),
                attempt: 1,
            },
        );
    }

    /// Adds job `id`: an event sent again to an endpoint, as a first attempt, with the payload the log kept.
    fn queue_again(&mut self, id: u64, sent: &Sent) {
        let d = &sent.delivery;
        self.jobs.insert(
            id,
            WebhookJob {
                event_id: d.event_id.clone(),
                event_type: d.event_type.clone(),
                endpoint_id: d.endpoint_id.clone(),
                body: sent.body.clone(),
                attempt: 1,
            },
        );
    }

    /// The app of an endpoint, deleted or not.
    pub fn endpoint_owner(&self, id: &str) -> Option<&str> {
        self.endpoints.get(id).map(|e| e.app_id.as_str())
    }

    /// The attempts to `app_id`'s endpoints (deleted ones too), newest first.
    pub fn deliveries_of<'a>(&'a self, app_id: &'a str) -> impl Iterator<Item = &'a Sent> + 'a {
        self.deliveries
            .iter()
            .rev()
            .filter(move |s| self.endpoint_owner(&s.delivery.endpoint_id) == Some(app_id))
    }

    /// Makes a due job a pending send, signed at `now` (a job of a deleted endpoint is dropped).
    pub fn make_send(&mut self, job_id: u64, now: DateTime<Utc>) {
        let Some(job) = self.jobs.get(&job_id) else {
            return;
        };
        let Some(ep) = self.endpoints.get(&job.endpoint_id).filter(|e| !e.deleted) else {
            self.jobs.remove(&job_id);
            return;
        };
        // During a rotation's overlap the previous secret signs too.
        let mut secrets = vec![ep.secret.as_str()];
        if let Some((old, until)) = &ep.previous_secret
            && now < *until
        {
            secrets.push(old);
        }
        self.outbox.push(PendingSend {
            job_id,
            attempt: job.attempt,
            url: ep.e.url.clone(),
            signature: sign_all(&secrets, now.timestamp(), &job.body),
            body: job.body.to_string(),
            event_id: job.event_id.clone(),
            event_type: job.event_type.clone(),
        });
    }

    /// The sends waiting for a sender (copies; they stay in the outbox).
    pub fn pending_sends(&self) -> Vec<PendingSend> {
        self.outbox.clone()
    }

    /// Takes the sends `take` picks (the others stay in the outbox).
    pub fn take_sends_where(
        &mut self,
        mut take: impl FnMut(&PendingSend) -> bool,
    ) -> Vec<PendingSend> {
        let (taken, kept) = std::mem::take(&mut self.outbox)
            .into_iter()
            .partition(|s| take(s));
        self.outbox = kept;
        taken
    }

    /// Whether sends wait for a sender.
    pub fn has_pending_sends(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Takes the sends waiting for a sender.
    pub fn take_sends(&mut self) -> Vec<PendingSend> {
        std::mem::take(&mut self.outbox)
    }

    /// Records an attempt's result; when it failed and retries are left, when to try again (the
    /// caller schedules it).
    pub fn record(
        &mut self,
        send: &PendingSend,
        status: Option<u16>,
        error: Option<String>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let job = self.jobs.get_mut(&send.job_id)?;
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let attempt = job.attempt;
        let next = (!ok && (attempt as usize) <= BACKOFF_SECONDS.len())
            .then(|| now + Duration::seconds(BACKOFF_SECONDS[attempt as usize - 1]));
        let entry = Delivery {
            event_id: job.event_id.clone(),
            event_type: job.event_type.clone(),
            endpoint_id: job.endpoint_id.clone(),
            url: send.url.clone(),
            attempt,
            status,
            succeeded: ok,
            error: if ok {
                None
            } else {
                error.or_else(|| status.map(|s| format!("HTTP {s}")))
            },
            at: now,
            next_retry_at: next,
        };
        if self.deliveries.len() >= DELIVERY_LOG {
            self.deliveries.remove(0);
        }
        self.deliveries.push(Sent {
            delivery: entry,
            body: job.body.clone(),
            signature: send.signature.clone(),
        });
        match next {
            Some(_) => job.attempt += 1,
            None => {
                self.jobs.remove(&send.job_id);
            }
        }
        next
    }

    /// The log of attempts, oldest first.
    pub fn deliveries(&self) -> impl Iterator<Item = &Delivery> {
        self.deliveries.iter().map(|s| &s.delivery)
    }
}

/// Queues the first delivery attempt of an event to an endpoint.
pub fn queue_delivery(sb: &mut Sandbox, ev: &Event, endpoint_id: &str, at: DateTime<Utc>) {
    let id = sb.next_seq();
    sb.webhooks.queue(id, ev, endpoint_id);
    sb.schedule(at, DueKind::Webhook(id));
}

/// Sends an event to one of `app_id`'s live endpoints again, now, as a new first attempt with the
/// payload its last attempt sent (signed when sent, with the endpoint's current secret).
pub fn send_again(
    sb: &mut Sandbox,
    app_id: &str,
    event_id: &str,
    endpoint_id: &str,
) -> Result<(), ApiError> {
    let last = sb
        .webhooks
        .deliveries_of(app_id)
        .find(|s| s.delivery.event_id == event_id && s.delivery.endpoint_id == endpoint_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("webhook delivery", event_id))?;
    if sb.webhooks.endpoint(app_id, endpoint_id).is_none() {
        return Err(ApiError::not_found("webhook endpoint", endpoint_id));
    }
    let (id, now) = (sb.next_seq(), sb.now());
    sb.webhooks.queue_again(id, &last);
    // Due now: made a send at once, for the caller to deliver (retries are scheduled as usual).
    sb.webhooks.make_send(id, now);
    Ok(())
}

/// Records an attempt's result and schedules a retry when it failed.
pub fn record_delivery(
    sb: &mut Sandbox,
    send: &PendingSend,
    status: Option<u16>,
    error: Option<String>,
) {
    let now = sb.now();
    if let Some(at) = sb.webhooks.record(send, status, error, now) {
        sb.schedule(at, DueKind::Webhook(send.job_id));
    }
}

/// Registers an endpoint for the app; the answer holds its signing secret, this once
/// (`POST /v1/webhook_endpoints`).
pub fn create_endpoint(
    sb: &mut Sandbox,
    app_id: &str,
    b: WebhookEndpointCreate,
) -> Result<WebhookEndpoint, ApiError> {
    if !valid_url(&b.url) {
        return Err(ApiError::validation(
            "url",
            format!(
                "`url` must be an http(s) URL with a host name or IPv4 address, at most {URL_MAX_LEN} characters."
            ),
        ));
    }
    for (i, e) in b.events.iter().enumerate() {
        if !EVENT_TYPES.contains(&e.as_str()) {
            return Err(ApiError::validation(
                format!("events[{i}]"),
                format!("Unknown event type `{e}`."),
            ));
        }
    }
    let now = sb.now();
    let secret = ids::secret("whsec_", 24);
    let id = ids::new_id("whe_");
    let seq = sb.next_seq();
    let e = WebhookEndpoint {
        object: "webhook_endpoint".into(),
        id,
        url: b.url,
        events: b.events,
        secret: Some(secret.clone()),
        previous_secret_expires_at: None,
        created_at: now,
        deleted: None,
    };
    sb.webhooks.add_endpoint(EndpointRec {
        seq,
        app_id: app_id.into(),
        secret,
        previous_secret: None,
        deleted: false,
        e: e.clone(),
    });
    Ok(e)
}

/// Deletes one of the app's endpoints: nothing more is sent to it (`DELETE /v1/webhook_endpoints/{id}`).
pub fn delete_endpoint(
    sb: &mut Sandbox,
    app_id: &str,
    id: &str,
) -> Result<WebhookEndpoint, ApiError> {
    let now = sb.now();
    let e = sb
        .webhooks
        .endpoint_mut(app_id, id)
        .ok_or_else(|| ApiError::not_found("webhook endpoint", id))?;
    e.deleted = true;
    let mut v = view(e, now);
    v.deleted = Some(true);
    Ok(v)
}

/// The public view (no secret) at `now`.
pub fn view(e: &EndpointRec, now: DateTime<Utc>) -> WebhookEndpoint {
    let mut v = e.e.clone();
    v.secret = None;
    v.previous_secret_expires_at = e
        .previous_secret
        .as_ref()
        .map(|(_, until)| *until)
        .filter(|until| now < *until);
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_rule_is_the_documented_pattern() {
        for ok in [
            "http://127.0.0.1:9/hook",
            "https://brand.example.com/hooks/moments?x=1#f",
            "http://localhost:65535",
            "http://a:0000",
            "http://0.0.0.0",
            "https://x1.b-c.de:8080/%zz",
            "http://1.2.3.4.a/",
        ] {
            assert!(super::valid_url(ok), "{ok}");
        }
        for bad in [
            "ftp://example.com/",
            "http://",
            "http://example.com:65536/",
            "http://example.com:01234/",
            "http://example.com:/",
            "http://256.1.1.1/",
            "http://01.2.3.4/",
            "http://1.2.3/",
            "http://-a.com/",
            "http://a-.com/",
            "http://example.com./",
            "http://example.1com/",
            "http://exa_mple.com/",
            "http://example.com/a b",
            "http://example.com/\n",
            "http://user@example.com/",
        ] {
            assert!(!super::valid_url(bad), "{bad}");
        }
        let long = format!("http://a/{}", "x".repeat(super::URL_MAX_LEN - 9));
        assert!(super::valid_url(&long));
        assert!(!super::valid_url(&format!("{long}x")));
        let label = "a".repeat(63);
        assert!(super::valid_url(&format!("http://{label}/")));
        assert!(!super::valid_url(&format!("http://{label}a/")));
    }

    #[test]
    fn signature_is_hmac_of_t_dot_body() {
        let s = super::sign("whsec_test", 1_700_000_000, "{}");
        assert!(s.starts_with("t=1700000000,v1="));
        assert_eq!(s.len(), "t=1700000000,v1=".len() + 64);
    }

    #[test]
    fn sign_all_has_one_entry_per_secret_in_order() {
        let t = 1_700_000_000;
        let one = |s| super::sign(s, t, "{}");
        let both = super::sign_all(&["whsec_new", "whsec_old"], t, "{}");
        let v1 = |h: &str| h.split_once(",v1=").map(|(_, v)| v.to_owned()).unwrap();
        assert_eq!(
            both,
            format!("{},v1={}", one("whsec_new"), v1(&one("whsec_old")))
        );
        assert_ne!(v1(&one("whsec_new")), v1(&one("whsec_old")));
    }
}
