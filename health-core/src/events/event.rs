//! What is published: an [`Event`], about a [`Subject`], saying what [`Change`]d.

use std::sync::Arc;

use tokio::time::Instant;

use crate::phase::Phase;
use crate::result::CheckResult;
use crate::snapshot::{CheckSnapshot, Circuit};
use crate::status::Status;

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
    pub(crate) fn new(
        seq: u64,
        at: Instant,
        subject: Subject,
        change: Change,
        snapshot: Option<Arc<CheckSnapshot>>,
        circuit: Option<Circuit>,
    ) -> Event {
        Event {
            seq,
            at,
            subject,
            change,
            snapshot,
            circuit,
        }
    }

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
    pub(crate) fn new(count: u64) -> Missed {
        Missed { count }
    }

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
