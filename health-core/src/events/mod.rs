//! The event spine: every change of a check's reported status, of its circuit, of its service
//! state, of the lifecycle phase and of the application's own liveness verdict is published
//! here once, as an [`Event`].
//!
//! Publishing never waits: events go into a bounded ring ([`CAPACITY`]) that each subscriber
//! reads at its own pace. A subscriber that falls behind loses the oldest events and is told how
//! many ([`Missed`]); it can then read the current state (`health_core::overview`). Nothing is
//! published per probe request, only per change.
//!
//! The log line written once per change is one listener of this stream (`events/log.rs`); it
//! runs inline because handing a line to `tracing` does not wait.
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

mod log;

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::sync::broadcast;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use crate::outcome::CheckResult;
use crate::phase::Phase;
use crate::snapshot::{CheckSnapshot, Circuit};
use crate::status::Status;

/// How many events the ring holds for a subscriber that has not read them yet. Changes are
/// rare (a flapping dependency makes a few per interval), so a subscriber that falls this far
/// behind has stopped reading.
pub const CAPACITY: usize = 1024;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Subject {
    /// One check, by name.
    Check(&'static str),
    /// The application: its lifecycle phase and its own liveness verdict.
    Application,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A check's reported status: its raw result after damping, unhealthy while its circuit is
    /// open. `from` is `None` for the check's first result.
    Status {
        /// The status reported before.
        from: Option<Status>,
        /// The status reported now.
        to: Status,
    },
    /// A check's circuit breaker.
    Circuit {
        /// The state before.
        from: Circuit,
        /// The state now.
        to: Circuit,
    },
    /// The application took a check out of service (`Some(reason)`), or put it back (`None`).
    Service {
        /// Why the check is out of service, if it is.
        out_of_service: Option<Arc<str>>,
    },
    /// The lifecycle phase.
    Phase {
        /// The phase before.
        from: Phase,
        /// The phase now.
        to: Phase,
    },
    /// The application marked itself broken (`Some(reason)`: liveness fails), or correct again.
    Liveness {
        /// Why the application is broken, if it is.
        broken: Option<Arc<str>>,
    },
}

/// One change, as published on the stream.
#[derive(Debug, Clone)]
pub struct Event {
    seq: u64,
    at: Instant,
    subject: Subject,
    change: Change,
    snapshot: Option<Arc<CheckSnapshot>>,
    circuit: Option<Circuit>,
}

impl Event {
    /// The event's number: events of one application are numbered 1, 2, 3... in the order they
    /// were published. A gap in what a subscriber read is what it missed.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When the change happened (Tokio's clock).
    pub fn at(&self) -> Instant {
        self.at
    }

    /// What the event is about.
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// The check's name, for an event about a check.
    pub fn check(&self) -> Option<&'static str> {
        match self.subject {
            Subject::Check(name) => Some(name),
            Subject::Application => None,
        }
    }

    /// What changed, from what to what.
    pub fn change(&self) -> &Change {
        &self.change
    }

    /// For an event about a check: the raw result of its last run, before damping (absent if
    /// the check has not finished a run yet).
    pub fn raw(&self) -> Option<&CheckResult> {
        self.snapshot.as_deref().map(|snapshot| &snapshot.result)
    }

    /// For an event about a check: its latest snapshot (raw result, counters, retry time).
    pub fn snapshot(&self) -> Option<&Arc<CheckSnapshot>> {
        self.snapshot.as_ref()
    }

    /// The message that goes with the change: why a check is out of service or the application
    /// broken, or else the last run's message.
    pub fn message(&self) -> Option<&str> {
        match &self.change {
            Change::Service {
                out_of_service: Some(reason),
            }
            | Change::Liveness {
                broken: Some(reason),
            } => Some(reason),
            _ => self.raw().and_then(|raw| raw.message.as_deref()),
        }
    }

    /// For an event about a check: its consecutive unhealthy runs, up to the last one.
    pub fn consecutive_failures(&self) -> Option<u32> {
        self.snapshot
            .as_deref()
            .map(|snapshot| snapshot.consecutive_failures)
    }

    /// For an event about a check: its circuit when the event was published.
    pub fn circuit(&self) -> Option<Circuit> {
        self.circuit
    }
}

/// What a subscriber that fell behind lost: the oldest events it had not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed {
    count: u64,
}

impl Missed {
    /// How many events were lost.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl std::fmt::Display for Missed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fell behind the health event stream and missed {} events",
            self.count
        )
    }
}

impl std::error::Error for Missed {}

/// The publishing side, one per lifecycle (shared by every clone of the application state).
pub(crate) struct Bus {
    seq: AtomicU64,
    /// Created by the first subscriber: with none, publishing costs the log line only.
    sender: OnceLock<broadcast::Sender<Event>>,
}

impl Bus {
    pub(crate) fn new() -> Bus {
        Bus {
            seq: AtomicU64::new(0),
            sender: OnceLock::new(),
        }
    }

    /// The sequence number of the last event published (0: none yet).
    pub(crate) fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    fn sender(&self) -> &broadcast::Sender<Event> {
        self.sender.get_or_init(|| broadcast::channel(CAPACITY).0)
    }

    /// A new subscription: it receives every event published from now on.
    pub(crate) fn subscribe(&self) -> Subscription {
        Subscription {
            inner: BroadcastStream::new(self.sender().subscribe()),
        }
    }

    /// Publishes a change about the application.
    pub(crate) fn application(&self, change: Change, at: Instant) {
        self.publish(Subject::Application, change, None, None, at);
    }

    /// Publishes a change about the check `name`, with its latest snapshot and its circuit.
    pub(crate) fn check(
        &self,
        name: &'static str,
        change: Change,
        snapshot: Option<Arc<CheckSnapshot>>,
        circuit: Circuit,
        at: Instant,
    ) {
        self.publish(Subject::Check(name), change, snapshot, Some(circuit), at);
    }

    fn publish(
        &self,
        subject: Subject,
        change: Change,
        snapshot: Option<Arc<CheckSnapshot>>,
        circuit: Option<Circuit>,
        at: Instant,
    ) {
        let event = Event {
            seq: self.seq.fetch_add(1, Ordering::AcqRel) + 1,
            at,
            subject,
            change,
            snapshot,
            circuit,
        };
        log::LogListener.on_event(&event);
        if let Some(sender) = self.sender.get() {
            // An error only says that nobody subscribes now.
            let _ = sender.send(event);
        }
    }
}

/// A subscription to the events of one application: an async [`Stream`] of
/// `Result<Event, Missed>`, or [`Subscription::recv`] for one at a time.
///
/// It holds no lock and slows nothing: a subscription that is not read only loses its oldest
/// events, and is told how many at its next read.
pub struct Subscription {
    inner: BroadcastStream<Event>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next event, `Err(Missed)` if events were lost since the last read, or `None` once
    /// every handle to the application state is gone.
    pub async fn recv(&mut self) -> Option<Result<Event, Missed>> {
        self.next().await
    }
}

impl Stream for Subscription {
    type Item = Result<Event, Missed>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx).map(|item| {
            item.map(|result| {
                result.map_err(|BroadcastStreamRecvError::Lagged(count)| Missed { count })
            })
        })
    }
}

/// A callback that receives every event, on a task of its own (see `Lifecycle::listen`): a slow
/// listener delays only itself.
///
/// Any `FnMut(&Event) + Send + 'static` closure is a listener.
pub trait Listener: Send + 'static {
    /// Called with each event, in order.
    fn on_event(&mut self, event: &Event);

    /// Called when the listener fell behind and `missed` events were lost. By default this is
    /// logged as a warning.
    fn on_missed(&mut self, missed: Missed) {
        tracing::warn!(
            missed = missed.count(),
            "a health event listener fell behind"
        );
    }
}

impl<F: FnMut(&Event) + Send + 'static> Listener for F {
    fn on_event(&mut self, event: &Event) {
        self(event)
    }
}

/// A listener running on its own task, returned by `Lifecycle::listen`. Dropping the handle does
/// not stop the listener; [`Listening::stop`] does.
#[derive(Debug, Clone)]
pub struct Listening {
    task: AbortHandle,
}

impl Listening {
    /// Stops the listener: it receives no further event.
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Whether the listener still runs (it ends when stopped, when it panics, or when every
    /// handle to the application state is gone).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

/// Runs `listener` over `subscription` on a task of its own.
pub(crate) fn spawn_listener(
    mut subscription: Subscription,
    mut listener: impl Listener,
) -> Listening {
    let task = tokio::spawn(async move {
        while let Some(item) = subscription.recv().await {
            match item {
                Ok(event) => listener.on_event(&event),
                Err(missed) => listener.on_missed(missed),
            }
        }
    });
    Listening {
        task: task.abort_handle(),
    }
}
