//! Webhook signature verification and event parsing.
//!
//! The API signs each delivery with the endpoint's secret: header
//! `Moments-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, the HMAC over `"<t>.<raw body>"`.
//! Several `v1=` entries may appear during secret rotation; any match is valid.
//!
//! ```
//! use moments_client::webhooks;
//!
//! let secret = "whsec_example";
//! let body = br#"{"object":"event","id":"evt_1","type":"reward.issued","created_at":"2026-11-23T10:00:00Z","data":{"object":{}}}"#;
//! let now = chrono::Utc::now();
//! let header = webhooks::sign(body, secret, now.timestamp());
//! let event = webhooks::construct_event(body, &header, secret)?;
//! assert_eq!(event.id, "evt_1");
//! # Ok::<(), moments_client::Error>(())
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, WebhookSignatureError};
use crate::models::Event;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "Moments-Signature";
/// The event id header's name.
pub const EVENT_ID_HEADER: &str = "Moments-Event-Id";
/// The event type header's name.
pub const EVENT_TYPE_HEADER: &str = "Moments-Event-Type";
/// The default replay window: 300 s either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

struct ParsedHeader {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

fn parse_header(header: &str) -> Result<ParsedHeader, WebhookSignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            return Err(WebhookSignatureError::MalformedHeader);
        };
        match k.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(WebhookSignatureError::MalformedHeader);
                }
                timestamp = Some(
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| WebhookSignatureError::MalformedHeader)?,
                );
            }
            // A v1 entry that is not hex cannot match; skip it rather than fail the others.
            "v1" => {
                if let Ok(sig) = hex::decode(v.trim()) {
                    signatures.push(sig);
                }
            }
            _ => {} // other schemes: ignored
        }
    }
    match (timestamp, signatures.is_empty()) {
        (Some(timestamp), false) => Ok(ParsedHeader {
            timestamp,
            signatures,
        }),
        _ => Err(WebhookSignatureError::MalformedHeader),
    }
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(payload);
    m
}

/// Verifies `payload` (the raw body bytes, exactly as received) against the `Moments-Signature`
/// header value with the endpoint's `secret`, at time `now`, allowing `tolerance` of clock skew
/// and delay. Comparison is constant time.
pub fn verify(
    payload: &[u8],
    signature_header: &str,
    secret: &str,
    tolerance: Duration,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let parsed = parse_header(signature_header)?;
    let base = mac(secret, parsed.timestamp, payload);
    let matched = parsed.signatures.iter().fold(false, |acc, sig| {
        base.clone().verify_slice(sig).is_ok() | acc
    });
    if !matched {
        return Err(WebhookSignatureError::NoMatchingSignature.into());
    }
    let age = now.timestamp().saturating_sub(parsed.timestamp);
    if age.unsigned_abs() > tolerance.as_secs() {
        return Err(WebhookSignatureError::TimestampOutsideTolerance { age_seconds: age }.into());
    }
    Ok(())
}

/// Verifies the delivery (default tolerance, current time) and parses the event.
pub fn construct_event(
    payload: &[u8],
    signature_header: &str,
    secret: &str,
) -> Result<Event, Error> {
    construct_event_at(
        payload,
        signature_header,
        secret,
        DEFAULT_TOLERANCE,
        Utc::now(),
    )
}

/// [`construct_event`] with an explicit tolerance and time.
pub fn construct_event_at(
    payload: &[u8],
    signature_header: &str,
    secret: &str,
    tolerance: Duration,
    now: DateTime<Utc>,
) -> Result<Event, Error> {
    verify(payload, signature_header, secret, tolerance, now)?;
    serde_json::from_slice(payload)
        .map_err(|e| WebhookSignatureError::InvalidPayload(e.to_string()).into())
}

/// Computes the `Moments-Signature` header value for `payload` at `timestamp` (unix seconds), as
/// the server does. Useful to test webhook handlers.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let sig = mac(secret, timestamp, payload).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(sig))
}
