//! Each call runs in a `moments.request` span carrying method, route template, attempt and
//! request id; credentials never reach the logs.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use common::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

type Fields = BTreeMap<String, String>;

#[derive(Default, Clone)]
struct Captured {
    spans: Arc<Mutex<HashMap<u64, (String, Fields)>>>,
    events: Arc<Mutex<Vec<String>>>,
}

struct V<'a>(&'a mut BTreeMap<String, String>);

impl Visit for V<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Captured {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut V(&mut fields));
        self.spans
            .lock()
            .unwrap()
            .insert(id.into_u64(), (attrs.metadata().name().to_owned(), fields));
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut V(fields));
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut V(&mut fields));
        self.events.lock().unwrap().push(format!("{fields:?}"));
    }
}

#[tokio::test]
async fn a_call_is_traced_with_route_attempt_and_request_id() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .respond_with(error_body("service_unavailable", 503, None))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ok_json(200, reward_json("rwd_7")))
        .mount(&server)
        .await;
    client(&server).rewards().get("rwd_7").await.unwrap();

    let spans = captured.spans.lock().unwrap();
    let (_, fields) = spans
        .values()
        .find(|(name, _)| name == "moments.request")
        .expect("a moments.request span");
    assert_eq!(fields["method"], "GET");
    assert_eq!(fields["route"], "/v1/rewards/{id}");
    assert_eq!(fields["attempt"], "2");
    assert_eq!(fields["status"], "200");
    assert_eq!(fields["request_id"], "req_ok");
    for e in captured.events.lock().unwrap().iter() {
        assert!(!e.contains(SECRET), "secret in a log event: {e}");
    }
}
