//! [`Webhooks`]: the mock's webhook delivery log (`/_mock/webhooks/deliveries`), and
//! [`WebhookReceiver`], an endpoint in the test that the mock delivers to.

use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::{Control, Delivery, Error, Page, Result};

/// The webhook delivery log: every attempt the mock made to deliver an event, oldest first.
#[derive(Clone, Debug)]
pub struct Webhooks {
    control: Control,
}

impl Webhooks {
    pub(crate) fn new(control: Control) -> Webhooks {
        Webhooks { control }
    }

    /// Every delivery attempt, oldest first.
    pub async fn deliveries(&self) -> Result<Vec<Delivery>> {
        let page: Page<Delivery> = self.control.get("/_mock/webhooks/deliveries").await?;
        Ok(page.data)
    }

    /// The attempts for events of one type (`reward.issued`, `reward.redeemed`, …), oldest first.
    pub async fn deliveries_of(&self, event_type: &str) -> Result<Vec<Delivery>> {
        let q = serde_urlencoded::to_string([("event_type", event_type)])
            .map_err(|e| super::Error::invalid("event_type", e.to_string()))?;
        let page: Page<Delivery> = self
            .control
            .get(&format!("/_mock/webhooks/deliveries?{q}"))
            .await?;
        Ok(page.data)
    }

    /// A webhook endpoint of the demo app (`POST /v1/webhook_endpoints` with its secret key, as the
    /// app's backend would) for the given event types (none: every type), whose URL is a receiver
    /// started in the test's process on a free port: the mock's deliveries to it succeed (answered
    /// 200) and [`WebhookReceiver::received`] reads what it got. The receiver stops when dropped.
    pub async fn receiver(
        &self,
        events: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<WebhookReceiver> {
        let events: Vec<String> = events.into_iter().map(Into::into).collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::Transport(format!("bind a webhook receiver: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Transport(format!("webhook receiver address: {e}")))?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |body: String| async move {
                log.lock().unwrap_or_else(|e| e.into_inner()).push(body);
                "ok"
            }),
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let url = format!("http://{addr}/hooks");
        let body = serde_json::json!({ "url": url, "events": events });
        let endpoint = async {
            let key = self.control.demo().await?.secret_key;
            self.control
                .call_as::<EndpointId>(
                    reqwest::Method::POST,
                    "/v1/webhook_endpoints",
                    Some(&body),
                    Some(&key),
                )
                .await
        }
        .await;
        match endpoint {
            Ok(endpoint) => Ok(WebhookReceiver {
                url,
                endpoint_id: endpoint.id,
                received,
                task,
            }),
            Err(e) => {
                task.abort();
                Err(e)
            }
        }
    }

    /// Delivers every webhook due now and returns once their attempts are in the log. The mock sends
    /// webhooks in the background after the request that caused them; this waits for them (it
    /// advances the clock by 0 seconds, which delivers due webhooks before answering).
    pub async fn deliver_due(&self) -> Result<()> {
        self.control
            .clock()
            .advance(std::time::Duration::ZERO)
            .await
            .map(drop)
    }
}

#[derive(Deserialize)]
struct EndpointId {
    id: String,
}

/// A webhook endpoint of the demo app served in the test's process ([`Webhooks::receiver`]): it
/// answers every delivery 200 and keeps its body. Stops when dropped.
#[derive(Debug)]
pub struct WebhookReceiver {
    url: String,
    endpoint_id: String,
    received: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    /// The endpoint's URL (`http://127.0.0.1:PORT/hooks`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The endpoint's id (`whe_…`).
    pub fn endpoint_id(&self) -> &str {
        &self.endpoint_id
    }

    /// The bodies of the deliveries received so far (the signed events' JSON), oldest first.
    pub fn received(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
