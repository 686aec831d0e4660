//! Log forwarding: `tracing` events of the SDK (and of `moments-client`) go to an app callback.
//!
//! Modelled on bitwarden's `log_callback.rs`: one global subscriber with a layer that forwards to whatever
//! `LogSink` is installed; installing another sink or level replaces the previous one at any time.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Severity of a log record, most verbose first.
#[derive(uniffi::Enum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl From<&Level> for LogLevel {
    fn from(level: &Level) -> Self {
        match *level {
            Level::TRACE => Self::Trace,
            Level::DEBUG => Self::Debug,
            Level::INFO => Self::Info,
            Level::WARN => Self::Warn,
            _ => Self::Error,
        }
    }
}

/// One log line of the SDK.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub level: LogLevel,
    /// The Rust module that logged, e.g. `moments_client::http`.
    pub target: String,
    /// The message followed by its fields as `key=value`.
    pub line: String,
}

/// Implemented by the app to receive the SDK's logs (forward them to Logcat, `os_log`, …).
///
/// Called from SDK threads, never the caller's; it must be quick and must not call back into the SDK.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// Receives one record at or above the level given to `setLogSink`.
    fn log(&self, record: LogRecord);
}

struct Installed {
    sink: Arc<dyn LogSink>,
    level: LogLevel,
}

static SINK: RwLock<Option<Installed>> = RwLock::new(None);
static INSTALL: Once = Once::new();

/// Installs (or replaces) the app's log sink, receiving records at `level` and above.
///
/// The SDK sets a global `tracing` subscriber the first time; if the host process already has one (a Rust
/// app embedding the SDK), that one is kept and this sink receives nothing.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, level: LogLevel) {
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(ForwardLayer);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = Some(Installed { sink, level });
}

/// Removes the app's log sink; logs are dropped afterwards.
#[uniffi::export]
pub fn clear_log_sink() {
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = None;
}

struct ForwardLayer;

impl<S: Subscriber> Layer<S> for ForwardLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = LogLevel::from(event.metadata().level());
        let sink = {
            let guard = SINK.read().unwrap_or_else(|e| e.into_inner());
            match guard.as_ref() {
                Some(installed) if level >= installed.level => Arc::clone(&installed.sink),
                _ => return,
            }
        };
        let record = LogRecord {
            level,
            target: event.metadata().target().to_owned(),
            line: format_event(event),
        };
        // A sink that throws must not take the SDK (or the app) down with it.
        let _ = catch_unwind(AssertUnwindSafe(|| sink.log(record)));
    }
}

fn format_event(event: &Event<'_>) -> String {
    #[derive(Default)]
    struct Visitor {
        message: String,
        fields: String,
    }
    impl Visit for Visitor {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                let _ = write!(self.message, "{value:?}");
            } else {
                let _ = write!(self.fields, " {}={value:?}", field.name());
            }
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "message" {
                self.message.push_str(value);
            } else {
                let _ = write!(self.fields, " {}={value}", field.name());
            }
        }
    }
    let mut visitor = Visitor::default();
    event.record(&mut visitor);
    visitor.message + &visitor.fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Collect(Mutex<Vec<LogRecord>>);
    impl LogSink for Collect {
        fn log(&self, record: LogRecord) {
            self.0.lock().unwrap().push(record);
        }
    }

    struct Panics;
    impl LogSink for Panics {
        fn log(&self, _record: LogRecord) {
            panic!("sink failed");
        }
    }

    #[test]
    fn records_at_or_above_the_level_are_forwarded_and_a_panicking_sink_is_contained() {
        let sink = Arc::new(Collect(Mutex::new(Vec::new())));
        set_log_sink(sink.clone(), LogLevel::Info);
        tracing::debug!(target: "moments_ffi::test", "hidden");
        tracing::info!(target: "moments_ffi::test", attempt = 2, "sent {}", "request");
        tracing::warn!(target: "moments_ffi::test", "careful");
        let records = sink.0.lock().unwrap().clone();
        let ours: Vec<_> = records
            .iter()
            .filter(|r| r.target == "moments_ffi::test")
            .collect();
        assert_eq!(ours.len(), 2, "{ours:?}");
        assert_eq!(ours[0].level, LogLevel::Info);
        assert_eq!(ours[0].line, "sent request attempt=2");
        assert_eq!(ours[1].level, LogLevel::Warn);

        set_log_sink(Arc::new(Panics), LogLevel::Trace);
        tracing::error!(target: "moments_ffi::test", "must not unwind");
        clear_log_sink();
        tracing::error!(target: "moments_ffi::test", "dropped");
        // Only this test's records: other tests of this binary may log meanwhile (the sink is global).
        let ours_after = sink
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.target == "moments_ffi::test")
            .count();
        assert_eq!(ours_after, 2, "nothing reached the replaced sink");
    }
}
