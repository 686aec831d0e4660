//! Cursor pagination over sequence-numbered records, newest first.

use base64::Engine;
use serde::Serialize;

use crate::domain::errors::ApiError;

/// A page of results.
#[derive(Clone, Debug, Serialize)]
pub struct List<T> {
    /// Always `list`.
    pub object: &'static str,
    /// The items of this page.
    pub data: Vec<T>,
    /// Whether more items follow.
    pub has_more: bool,
    /// The cursor for the next page, `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The cursors [`decode_cursor`] accepts: `c1:` and 1–19 digits, base64url without padding.
/// Each group of three digits encodes as four characters, a last one or two digits as two or three.
pub const CURSOR_PATTERN: &str = concat!(
    "^YzE6(?:(?:",
    "(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]",
    "){0,5}(?:",
    "(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]",
    "|(?:[MN][AQgw]|O[AQ])",
    "|(?:[MN][DTjz]|O[DT])[AEIMQUYcgk]",
    ")|(?:",
    "(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]",
    "){6}(?:[MN][AQgw]|O[AQ]))$"
);

/// Encodes a position as an opaque cursor.
pub fn encode_cursor(seq: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("c1:{seq}"))
}

/// Decodes a cursor.
pub fn decode_cursor(s: &str) -> Result<u64, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("c1:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            ApiError::validation("cursor", "`cursor` is not a cursor this server issued.")
        })
}

/// Builds a page from items ordered by descending `seq`, after the cursor position.
pub fn page<T, I: Iterator<Item = (u64, T)>>(
    iter: I,
    cursor: Option<u64>,
    limit: usize,
) -> List<T> {
    let mut data = Vec::with_capacity(limit);
    let mut last = 0;
    let mut has_more = false;
    for (seq, item) in iter.filter(|(s, _)| cursor.is_none_or(|c| *s < c)) {
        if data.len() == limit {
            has_more = true;
            break;
        }
        last = seq;
        data.push(item);
    }
    List {
        object: "list",
        data,
        has_more,
        next_cursor: has_more.then(|| encode_cursor(last)),
    }
}

/// Builds a page from items ordered by ascending `seq` (e.g. catalog by id).
pub fn page_asc<T, I: Iterator<Item = (u64, T)>>(
    iter: I,
    cursor: Option<u64>,
    limit: usize,
) -> List<T> {
    let mut data = Vec::with_capacity(limit);
    let mut last = 0;
    let mut has_more = false;
    for (seq, item) in iter.filter(|(s, _)| cursor.is_none_or(|c| *s > c)) {
        if data.len() == limit {
            has_more = true;
            break;
        }
        last = seq;
        data.push(item);
    }
    List {
        object: "list",
        data,
        has_more,
        next_cursor: has_more.then(|| encode_cursor(last)),
    }
}

/// Defines a named list schema for OpenAPI (`{"object": "list", "data": [...], ...}`).
#[macro_export]
macro_rules! list_schema {
    ($name:ident, $item:ty) => {
        /// A page of results.
        #[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            /// Always `list`.
            pub object: String,
            /// The items of this page.
            pub data: Vec<$item>,
            /// Whether more items follow.
            pub has_more: bool,
            /// Cursor of the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }
    };
}
