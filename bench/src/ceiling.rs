//! The ceiling of this machine: a minimal axum server answering a fixed body of a given size.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::any;

/// Serves `body_bytes` bytes of JSON on every path until the process is killed.
pub async fn serve(port: u16, body_bytes: usize) -> std::io::Result<()> {
    let body = fixed_body(body_bytes);
    let app = Router::new().fallback(any(move || {
        let body = body.clone();
        async move { ([(CONTENT_TYPE, "application/json")], body) }
    }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

/// A JSON document of exactly `len` bytes (at least 2).
pub fn fixed_body(len: usize) -> String {
    let len = len.max(12);
    let mut body = String::with_capacity(len);
    body.push_str("{\"pad\":\"");
    while body.len() < len - 2 {
        body.push('x');
    }
    body.push_str("\"}");
    body
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fixed_body_has_the_asked_size_and_is_json() {
        for len in [12, 100, 1234] {
            let body = super::fixed_body(len);
            assert_eq!(body.len(), len);
            serde_json::from_str::<serde_json::Value>(&body).expect("valid JSON");
        }
    }
}
