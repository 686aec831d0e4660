//! The console's static assets (`mock-server/assets/console/`), compiled in and served under a URL
//! that names their content's hash, so they are cached for a year and never stale.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// A static asset: its file name, type and bytes.
pub struct Asset {
    /// The file name (before the hash is added).
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its content.
    pub bytes: &'static [u8],
}

/// The console's stylesheet.
pub const CSS: &Asset = &Asset {
    name: "console.css",
    content_type: "text/css; charset=utf-8",
    bytes: include_bytes!("../../../assets/console/console.css"),
};

/// htmx 2.0.11, vendored from the npm package `htmx.org` (0BSD licence: `vendor/htmx-LICENSE`).
pub const HTMX: &Asset = &Asset {
    name: "htmx.min.js",
    content_type: "text/javascript; charset=utf-8",
    bytes: include_bytes!("../../../assets/console/vendor/htmx-2.0.11.min.js"),
};

/// htmx's server-sent events extension 2.2.4, vendored from the npm package `htmx-ext-sse` (0BSD licence:
/// `vendor/htmx-ext-sse-LICENSE`), for the live request journal.
pub const HTMX_SSE: &Asset = &Asset {
    name: "htmx-ext-sse.min.js",
    content_type: "text/javascript; charset=utf-8",
    bytes: include_bytes!("../../../assets/console/vendor/htmx-ext-sse-2.2.4.min.js"),
};

/// Every asset served.
pub const ALL: [&Asset; 3] = [CSS, HTMX, HTMX_SSE];

/// The asset's file name with the first 16 hex digits of its SHA-256 (`console.0123….css`).
fn hashed_name(a: &Asset) -> String {
    let hash = hex::encode(&Sha256::digest(a.bytes)[..8]);
    match a.name.split_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{}.{hash}", a.name),
    }
}

fn names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| ALL.iter().map(|a| hashed_name(a)).collect())
}

/// The URL of an asset (`/console/assets/console.<hash>.css`).
pub fn url(a: &Asset) -> String {
    let i = ALL
        .iter()
        .position(|x| x.name == a.name)
        .expect("listed in ALL");
    format!("/console/assets/{}", names()[i])
}

/// `GET /console/assets/{file}`: an asset by its hashed name, cached for a year.
pub async fn serve(Path(file): Path<String>) -> Response {
    match names().iter().position(|n| *n == file) {
        Some(i) => (
            [
                (header::CONTENT_TYPE, ALL[i].content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            ALL[i].bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
