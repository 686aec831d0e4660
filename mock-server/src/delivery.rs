//! Webhook delivery: sends the attempts the sandbox made due, over HTTP, and records their results.

use crate::app::AppState;
use crate::domain::webhooks;

/// Sends every pending webhook and records the results. Returns when all attempts finished.
///
/// With a persistent store, each attempt is sent by the one instance that claims it in the store,
/// and its result is an entry of the log ([`crate::sync::record_deliveries`]). While an entry is
/// applied nothing is sent: a flush asked for then runs once the entry is committed, before the
/// request is answered ([`crate::domain::applying::flush_after`]).
pub async fn flush(app: &AppState) {
    if crate::domain::applying::active() {
        // Not while the entry is applied (the sends are not committed yet): after its commit.
        crate::domain::applying::flush_after();
        return;
    }
    let _serial = app.0.flush_lock.lock().await;
    if let Some(sync) = app.0.sync.clone() {
        return flush_claimed(app, &sync).await;
    }
    loop {
        let sends = {
            let mut g = app.lock();
            g.webhooks.take_sends()
        };
        if sends.is_empty() {
            return;
        }
        let results = send_all(app, sends).await;
        let mut g = app.lock_raw();
        for (s, status, err) in results {
            webhooks::record_delivery(&mut g, &s, status, err);
        }
    }
}

/// The sends of this instance's outbox that it claims in the store, sent, with their results
/// recorded as entries; the others are another instance's, whose results arrive through the log.
async fn flush_claimed(app: &AppState, sync: &crate::sync::Sync) {
    let key = |s: &webhooks::PendingSend| {
        format!("{}:{}:{}:{}", sync.tenant, s.event_id, s.job_id, s.attempt)
    };
    loop {
        let pending = app.lock_raw().webhooks.pending_sends();
        let mut mine = Vec::new();
        for s in pending {
            match sync
                .store
                .claim(&key(&s), &sync.instance, crate::sync::CLAIM_STALE)
                .await
            {
                Ok(true) => mine.push(key(&s)),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!("webhook claims: {e}");
                    return;
                }
            }
        }
        if mine.is_empty() {
            return;
        }
        let sends = app
            .lock_raw()
            .webhooks
            .take_sends_where(|s| mine.contains(&key(s)));
        let results = send_all(app, sends)
            .await
            .into_iter()
            .map(
                |(send, status, error)| crate::store::entry::DeliveryResult {
                    send,
                    status,
                    error,
                },
            )
            .collect();
        if let Err(e) = crate::sync::record_deliveries(app, results).await {
            tracing::warn!("webhook results: {e}");
            return;
        }
    }
}

/// Sends each attempt, all at once; their results.
async fn send_all(
    app: &AppState,
    sends: Vec<webhooks::PendingSend>,
) -> Vec<(webhooks::PendingSend, Option<u16>, Option<String>)> {
    {
        {
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
            futures_util::future::join_all(futs).await
        }
    }
}
