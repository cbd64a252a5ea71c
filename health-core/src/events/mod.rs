//! The event spine: every change of a check's reported status, of its circuit, of its service
//! state, of the lifecycle phase and of the application's own liveness verdict is published
//! here once, as an [`Event`].
//!
//! The reported status is the one recorded with each run: the result after damping, unhealthy
//! while the circuit is open. What a probe adds when it reads it (a result that has grown stale
//! because the scheduler stalled, a check out of service) is judged at read time; being taken
//! out of service has its own event, growing stale has none.
//!
//! Publishing never waits: events go into a bounded ring ([`CAPACITY`]) that each subscriber
//! reads at its own pace. A subscriber that falls behind loses the oldest events and is told how
//! many ([`Missed`]); it can then read the current state (`health_core::overview`). Nothing is
//! published per probe request, only per change.
//!
//! The log line written once per change is one listener of this stream (`events/log.rs`). The
//! publisher writes it itself, in order, once it has released the lock under which the change
//! was made: a log writer that blocks delays the publisher, never a probe that only reads.
//!
//! ```no_run
//! # use health_axum::prelude::*;
//! # #[derive(Clone, HealthState)]
//! # #[health(checks(database))]
//! # struct AppState {
//! #     #[health(lifecycle)]
//! #     lifecycle: Lifecycle,
//! # }
//! # #[health_check(name = "database")]
//! # async fn database() -> Result<(), String> { Ok(()) }
//! use health_axum::events::{Change, Event, Subject};
//!
//! async fn watch(state: AppState) {
//!     // What is true now, then every change from here on.
//!     let mut events = state.lifecycle.subscribe();
//!     println!("{:?}", health_axum::overview(&state));
//!     while let Some(item) = events.recv().await {
//!         match item {
//!             Ok(event) => {
//!                 if let (Subject::Check(name), Change::Status { from, to }) =
//!                     (event.subject(), event.change())
//!                 {
//!                     println!("{name}: {from:?} -> {to} ({:?})", event.message());
//!                 }
//!             }
//!             // Fell behind: start again from the current state.
//!             Err(missed) => println!("{missed}; now {:?}", health_axum::overview(&state)),
//!         }
//!     }
//! }
//!
//! # fn listen(state: AppState) {
//! // Or a callback, on a task of its own:
//! let listening = state.lifecycle.listen(|event: &Event| {
//!     if let Change::Liveness { broken: Some(reason) } = event.change() {
//!         eprintln!("marked broken: {reason}");
//!     }
//! });
//! # }
//! ```

mod event;
mod listener;
mod log;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::snapshot::{CheckSnapshot, Circuit};
pub use event::{Change, Event, Missed, Subject};
pub(crate) use listener::spawn_listener;
pub use listener::{Listener, Listening, Subscription};

/// How many events the ring holds for a subscriber that has not read them yet. Changes are
/// rare (a flapping dependency makes a few per interval), so a subscriber that falls this far
/// behind has stopped reading.
pub const CAPACITY: usize = 1024;

/// The publishing side, one per lifecycle (shared by every clone of the application state).
pub(crate) struct Bus {
    /// The last sequence number given, held while an event is numbered and sent, so events
    /// reach subscribers in the order of their numbers (never across an `.await`, and never
    /// while anything else is done).
    order: Mutex<u64>,
    /// The last sequence number given, for readers that must not wait on `order`.
    last: AtomicU64,
    /// Created by the first subscriber: with none, publishing costs the log line only.
    sender: OnceLock<broadcast::Sender<Event>>,
}

/// Events published while a lock was held, to be logged once it is released: a log line may
/// block on a slow writer (a full pipe to the container runtime), and the lock must never wait
/// on it. Holds nothing, and allocates nothing, when nothing changed.
#[must_use = "call `log` once the lock under which the events were published is released"]
#[derive(Default)]
pub(crate) struct Published(Vec<Event>);

impl Published {
    /// Writes the log line of each event (the log is one listener of the stream).
    pub(crate) fn log(self) {
        for event in &self.0 {
            log::LogListener.on_event(event);
        }
    }
}

impl Bus {
    pub(crate) fn new() -> Bus {
        Bus {
            order: Mutex::new(0),
            last: AtomicU64::new(0),
            sender: OnceLock::new(),
        }
    }

    /// The sequence number of the last event published (0: none yet).
    pub(crate) fn last_seq(&self) -> u64 {
        self.last.load(Ordering::Acquire)
    }

    fn sender(&self) -> &broadcast::Sender<Event> {
        self.sender.get_or_init(|| broadcast::channel(CAPACITY).0)
    }

    /// A new subscription: it receives every event published from now on.
    pub(crate) fn subscribe(&self) -> Subscription {
        Subscription::new(self.sender().subscribe())
    }

    /// Publishes a change about the application.
    pub(crate) fn application(&self, change: Change, at: Instant, out: &mut Published) {
        self.publish(Subject::Application, change, None, None, at, out);
    }

    /// Publishes a change about the check `name`, with its latest snapshot and its circuit.
    pub(crate) fn check(
        &self,
        name: &'static str,
        change: Change,
        snapshot: Option<Arc<CheckSnapshot>>,
        circuit: Circuit,
        at: Instant,
        out: &mut Published,
    ) {
        self.publish(
            Subject::Check(name),
            change,
            snapshot,
            Some(circuit),
            at,
            out,
        );
    }

    fn publish(
        &self,
        subject: Subject,
        change: Change,
        snapshot: Option<Arc<CheckSnapshot>>,
        circuit: Option<Circuit>,
        at: Instant,
        out: &mut Published,
    ) {
        let mut last = self.order.lock().unwrap_or_else(|e| e.into_inner());
        *last += 1;
        let event = Event::new(*last, at, subject, change, snapshot, circuit);
        if let Some(sender) = self.sender.get() {
            // An error only says that nobody subscribes now.
            let _ = sender.send(event.clone());
        }
        self.last.store(*last, Ordering::Release);
        drop(last);
        out.0.push(event);
    }
}
