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
///
/// One subscriber is installed for the whole process, the first time this is called, and routes
/// each event to the capture of the thread it is logged on, if any. It is interested in every
/// callsite, always, so no callsite's cached interest can depend on which thread registered it
/// first (a thread-local `set_default` per test raced with other tests' threads over that cache,
/// and lost events now and then).
pub fn capture() -> (Events, CaptureGuard) {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Fails only if another global subscriber is set, which no test here does.
        let _ = tracing::subscriber::set_global_default(Router);
        tracing::callsite::rebuild_interest_cache();
    });
    let events = Events::default();
    CURRENT.with(|current| *current.borrow_mut() = Some(events.clone()));
    (events, CaptureGuard(()))
}

/// Ends the capture of this thread when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CURRENT.with(|current| *current.borrow_mut() = None);
    }
}

thread_local! {
    /// The capture of this thread, if one is running.
    static CURRENT: std::cell::RefCell<Option<Events>> = const { std::cell::RefCell::new(None) };
}

/// The process-wide subscriber: every event goes to the capture of its thread.
struct Router;

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Router {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::always()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let Some(events) = CURRENT.with(|current| current.borrow().clone()) else {
            return;
        };
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        events.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
