//! A minimal `tracing` subscriber that keeps every event's fields as text, for tests that
//! assert what was logged.

use std::sync::{Arc, Mutex};

/// The events captured so far, each as `name=value ` pairs (the message is `message=...`).
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Vec<String>>>);

impl Events {
    /// The events captured so far.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The events whose text contains every one of `parts`.
    pub fn matching(&self, parts: &[&str]) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|e| parts.iter().all(|p| e.contains(p)))
            .collect()
    }
}

/// Captures the events of the current thread until the guard is dropped (use a
/// `current_thread` runtime so that spawned tasks log on this thread too).
pub fn capture() -> (Events, tracing::subscriber::DefaultGuard) {
    let events = Events::default();
    let guard = tracing::subscriber::set_default(Capture(events.clone()));
    (events, guard)
}

struct Capture(Events);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        (self.0).0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
