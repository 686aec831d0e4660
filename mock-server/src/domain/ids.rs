//! Prefixed ids, reward tokens and secrets.
//!
//! Secrets (keys, customer tokens, webhook secrets) and reward tokens come straight from the
//! operating system's CSPRNG. Ids (`req_`, `rwd_`, …) are not secrets: they come from `rand`'s
//! thread-local ChaCha12 generator (itself a CSPRNG, seeded and periodically reseeded from the OS),
//! which saves a `getrandom` system call on every request.

use base64::Engine;

/// Fills `buf` with bytes from the OS CSPRNG.
///
/// While an entry of a persistent store is applied, they come from the entry's own stream instead
/// ([`crate::domain::applying`]), so that every instance applying it makes the same ids.
pub fn random_bytes(buf: &mut [u8]) {
    if crate::domain::applying::fill(buf) {
        return;
    }
    getrandom::fill(buf).expect("the OS random source failed");
}

/// A new id: `prefix` + 16 random hex characters (64 bits: opaque, unique in practice).
pub fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 8];
    if !crate::domain::applying::fill(&mut b) {
        b = rand::random();
    }
    let mut s = String::with_capacity(prefix.len() + 16);
    s.push_str(prefix);
    for byte in b {
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 15)]));
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A new reward's id and link token (the id derived from the token: [`LinkToken::reward_id`]).
pub fn fresh_reward(prefix: &str) -> (std::sync::Arc<str>, LinkToken) {
    let token = LinkToken::new();
    (token.reward_id(prefix).into(), token)
}

/// A reward link token: 24 random bytes from the OS, written as 32 base64url characters. Kept as
/// its bytes: the reward record holds it inline, with no allocation, and the reward's id is derived from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkToken([u8; 24]);

impl LinkToken {
    /// A new token.
    pub fn new() -> LinkToken {
        let mut b = [0u8; 24];
        random_bytes(&mut b);
        LinkToken(b)
    }

    /// The token written as `text`, if it is one (32 base64url characters).
    pub fn parse(text: &str) -> Option<LinkToken> {
        if text.len() != 32 {
            return None;
        }
        let mut b = [0u8; 24];
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode_slice(text, &mut b)
            .ok()?;
        (n == 24).then_some(LinkToken(b))
    }

    /// The id of the reward this token links to: `prefix` followed by 16 hex digits, the first 64 bits of
    /// SHA-256 over the token. The token finds its reward through the rewards map, with no index of its own;
    /// the id is public and reveals nothing usable about the token (a one-way function of 192 random bits).
    pub fn reward_id(&self, prefix: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"moments reward id\0")
            .chain_update(self.0)
            .finalize();
        let mut s = String::with_capacity(prefix.len() + 16);
        s.push_str(prefix);
        for byte in &digest[..8] {
            s.push(char::from(HEX[usize::from(byte >> 4)]));
            s.push(char::from(HEX[usize::from(byte & 15)]));
        }
        s
    }

    /// Compares two tokens in time independent of where they differ.
    pub fn ct_eq(&self, other: &LinkToken) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Appends the token's text to `out`.
    pub fn write_to(&self, out: &mut String) {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(self.0, out);
    }
}

impl Default for LinkToken {
    fn default() -> Self {
        LinkToken::new()
    }
}

impl std::fmt::Display for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::with_capacity(32);
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A token is a bearer credential for its reward: never printed in logs or panics.
        f.write_str("LinkToken(…)")
    }
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
    use super::LinkToken;

    #[test]
    fn tokens_are_192_bits_and_unique() {
        let (a, b) = (LinkToken::new(), LinkToken::new());
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), 32);
        assert!(
            text.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert!(super::new_id("rwd_").starts_with("rwd_"));
    }

    #[test]
    fn a_reward_id_is_derived_from_its_token() {
        let (id, token) = super::fresh_reward("rwd_");
        assert_eq!(&*id, token.reward_id("rwd_"));
        assert_eq!(id.len(), 4 + 16);
        assert!(id[4..].bytes().all(|c| c.is_ascii_hexdigit()));
        let other = LinkToken::new();
        assert_ne!(other.reward_id("rwd_"), *id);
        assert!(token.ct_eq(&token) && !token.ct_eq(&other));
        assert!(
            !id.contains(&token.to_string()[..8]),
            "the id does not carry the token"
        );
    }

    #[test]
    fn tokens_parse_back_and_nothing_else_does() {
        let t = LinkToken::new();
        assert_eq!(LinkToken::parse(&t.to_string()), Some(t));
        for bad in [
            "",
            "short",
            &"A".repeat(31),
            &"A".repeat(33),
            &format!("{}=", &"A".repeat(31)),
        ] {
            assert_eq!(LinkToken::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            format!("{t:?}"),
            "LinkToken(…)",
            "Debug never shows the token"
        );
    }
}
