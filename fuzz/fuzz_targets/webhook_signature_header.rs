//! The webhook `Moments-Signature` header parser and verifier: arbitrary headers, payloads and
//! secrets never panic, a header that was not signed with the secret never verifies, and a
//! genuine signature always does.
//!
//! Input: `secret \0 header \0 payload` (missing parts are empty).
#![no_main]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use moments_client::webhooks;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let secret = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let header = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let payload = parts.next().unwrap_or_default();
    let t = 1_790_000_000i64;
    let now = Utc.timestamp_opt(t, 0).single().expect("time");
    let tol = Duration::from_secs(300);

    // Arbitrary header: must not panic, and may only verify if it carries the genuine MAC for
    // its own timestamp.
    let genuine = webhooks::sign(payload, &secret, t);
    if webhooks::verify(payload, &header, &secret, tol, now).is_ok() {
        let th: i64 = header
            .split(',')
            .find_map(|p| p.trim().strip_prefix("t="))
            .and_then(|v| v.trim().parse().ok())
            .expect("a verified header has a timestamp");
        let expected = webhooks::sign(payload, &secret, th);
        let hex = expected
            .split_once(",v1=")
            .map(|(_, h)| h)
            .unwrap_or_default();
        assert!(
            header.to_ascii_lowercase().contains(hex),
            "verified without the genuine signature: {header:?}"
        );
    }
    // The genuine header always verifies, also with noise entries around it.
    webhooks::verify(payload, &genuine, &secret, tol, now).expect("genuine signature");
    let noisy = format!("{genuine},v1={},v0=x", "0".repeat(64));
    webhooks::verify(payload, &noisy, &secret, tol, now).expect("genuine among others");
    // One flipped payload byte never verifies.
    if let Some((first, rest)) = payload.split_first() {
        let mut changed = vec![first ^ 0x80];
        changed.extend_from_slice(rest);
        assert!(webhooks::verify(&changed, &genuine, &secret, tol, now).is_err());
    }
    let _ = webhooks::construct_event_at(payload, &header, &secret, tol, now);
});
