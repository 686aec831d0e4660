//! Idempotency keys of the Moments Rewards API: the one generator ([`RandomKeys`]) and the one
//! validity rule ([`is_valid_key`]) used by the client, the offline outbox and the mock.
//!
//! ```
//! use moments_idempotency::{IdempotencyKeySource, RandomKeys, is_valid_key};
//! let key = RandomKeys.next_key();
//! assert!(is_valid_key(&key));
//! assert_eq!(key.len(), 36); // 8-4-4-4-12 hex digits
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::sync::Mutex;

/// The longest key the API accepts, in bytes.
pub const MAX_KEY_LEN: usize = 255;

/// Whether a key is one the API accepts: 1–[`MAX_KEY_LEN`] printable ASCII characters
/// (`0x20`–`0x7E`, space included).
pub fn is_valid_key(k: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&k.len()) && k.bytes().all(|c| (0x20..0x7f).contains(&c))
}

/// Where idempotency keys come from. The default, [`RandomKeys`], uses the OS CSPRNG; tests may
/// plug in [`SeededKeys`] for reproducible keys.
pub trait IdempotencyKeySource: Send + Sync + 'static {
    /// A new key (valid by [`is_valid_key`]).
    fn next_key(&self) -> String;
}

/// UUID-v4-formatted keys (122 random bits) from the operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomKeys;

impl IdempotencyKeySource for RandomKeys {
    fn next_key(&self) -> String {
        let mut b = [0u8; 16];
        if getrandom::fill(&mut b).is_err() {
            // Without OS randomness, spread what there is: keys must stay distinct, not secret.
            let x = clock_bits().to_le_bytes();
            let y = (std::process::id() as u64) ^ clock_bits().rotate_left(17);
            b[..8].copy_from_slice(&x);
            b[8..].copy_from_slice(&y.to_le_bytes());
        }
        format_uuid_v4(b)
    }
}

fn clock_bits() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.subsec_nanos() as u64) ^ d.as_secs().rotate_left(32))
        .unwrap_or(0)
}

/// Deterministic UUID-v4-formatted keys from a seed (SplitMix64), for tests.
pub struct SeededKeys {
    state: Mutex<u64>,
}

impl SeededKeys {
    /// A source whose keys depend only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(seed),
        }
    }
}

impl fmt::Debug for SeededKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeededKeys")
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl IdempotencyKeySource for SeededKeys {
    fn next_key(&self) -> String {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&splitmix(&mut s).to_le_bytes());
        b[8..].copy_from_slice(&splitmix(&mut s).to_le_bytes());
        format_uuid_v4(b)
    }
}

fn format_uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from_digit((x >> 4) as u32, 16).expect("a nibble"));
        s.push(char::from_digit((x & 0xf) as u32, 16).expect("a nibble"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_keys_are_uuid_v4_and_distinct() {
        let a = RandomKeys.next_key();
        let b = RandomKeys.next_key();
        assert_ne!(a, b);
        for k in [&a, &b] {
            assert!(is_valid_key(k));
            let parts: Vec<&str> = k.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(parts[2].starts_with('4'), "version 4: {k}");
            assert!("89ab".contains(&parts[3][..1]), "RFC 4122 variant: {k}");
        }
    }

    #[test]
    fn seeded_keys_repeat_per_seed() {
        let (a, b, c) = (SeededKeys::new(7), SeededKeys::new(7), SeededKeys::new(8));
        let (ka, kb, kc) = (a.next_key(), b.next_key(), c.next_key());
        assert_eq!(ka, kb);
        assert_ne!(ka, kc);
        assert_ne!(a.next_key(), ka, "a source moves on");
    }

    #[test]
    fn the_validity_rule_is_the_apis() {
        assert!(is_valid_key("a"));
        assert!(is_valid_key("with space ~"));
        assert!(is_valid_key(&"k".repeat(MAX_KEY_LEN)));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key(&"k".repeat(MAX_KEY_LEN + 1)));
        assert!(!is_valid_key("tab\there"));
        assert!(!is_valid_key("é"));
        assert!(!is_valid_key("del\u{7f}"));
    }
}
