//! Webhook delivery: sends the attempts the sandbox made due, over HTTP, and records their results.

use crate::app::AppState;
use crate::domain::webhooks;

/// Sends every pending webhook and records the results. Returns when all attempts finished.
pub async fn flush(app: &AppState) {
    let _serial = app.0.flush_lock.lock().await;
    loop {
        let sends = {
            let mut g = app.lock();
            g.webhooks.take_sends()
        };
        if sends.is_empty() {
            return;
        }
        let futs = sends.into_iter().map(|s| {
            let http = app.0.http.clone();
            async move {
                let res = http
                    .post(&s.url)
                    .header("content-type", "application/json")
                    .header("Moments-Signature", &s.signature)
                    .header("Moments-Event-Id", &s.event_id)
                    .header("Moments-Event-Type", &s.event_type)
                    .body(s.body.clone())
                    .timeout(std::time::Duration::from_secs(10))
                    .send()
                    .await;
                let (status, err) = match res {
                    Ok(r) => (Some(r.status().as_u16()), None),
                    Err(e) => (
                        None,
                        Some(if e.is_timeout() {
                            "timeout".to_string()
                        } else {
                            "connection error".to_string()
                        }),
                    ),
                };
                (s, status, err)
            }
        });
        let results = futures_util::future::join_all(futs).await;
        let mut g = app.lock_raw();
        for (s, status, err) in results {
            webhooks::record_delivery(&mut g, &s, status, err);
        }
    }
}
