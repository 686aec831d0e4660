//! Prefixed ids, reward tokens and secrets.
//!
//! Secrets (keys, customer tokens, webhook secrets) and reward tokens come straight from the
//! operating system's CSPRNG. Ids (`req_`, `rwd_`, …) are not secrets: they come from `rand`'s
//! thread-local ChaCha12 generator (itself a CSPRNG, seeded and periodically reseeded from the OS),
//! which saves a `getrandom` system call on every request.

use base64::Engine;

/// Fills `buf` with CSPRNG bytes.
pub fn random_bytes(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the OS random source failed");
}

/// A new id: `prefix` + 16 random hex characters (64 bits: opaque, unique in practice).
pub fn new_id(prefix: &str) -> String {
    let b: [u8; 8] = rand::random();
    let mut s = String::with_capacity(prefix.len() + 16);
    s.push_str(prefix);
    for byte in b {
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 15)]));
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A reward token: 24 CSPRNG bytes (192 bits), base64url without padding.
pub fn reward_token() -> String {
    let mut b = [0u8; 24];
    random_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A secret of `bytes` random bytes, base64url, with a prefix (`sk_test_`, `ct_`, `whsec_`, `mk_`).
pub fn secret(prefix: &str, bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    random_bytes(&mut b);
    let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    // Keep secrets alphanumeric so they copy-paste cleanly.
    let s: String = s
        .chars()
        .map(|c| if c == '-' || c == '_' { 'x' } else { c })
        .collect();
    format!("{prefix}{s}")
}

/// Masks a secret for display: prefix, an ellipsis and the last 4 characters.
pub fn hint(secret: &str, prefix: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}…{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_192_bits_and_unique() {
        let a = super::reward_token();
        let b = super::reward_token();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(super::new_id("rwd_").starts_with("rwd_"));
    }
}
