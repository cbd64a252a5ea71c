//! The current state of an application at a glance, read from the slots without running
//! anything: what an event subscriber reads to start from, or after it missed events.

use std::sync::Arc;

use tokio::time::Instant;

use crate::engine::engine_of;
use crate::phase::Phase;
use crate::snapshot::Circuit;
use crate::state::HealthState;
use crate::status::Status;

/// The current state of every check, the phase and the liveness verdict, as the event stream
/// would have told them (see [`overview`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Overview {
    /// The lifecycle phase.
    pub phase: Phase,
    /// Why the application marked itself broken, if it did.
    pub broken: Option<Arc<str>>,
    /// Every registered check, in registry order.
    pub checks: Vec<CheckOverview>,
    /// The sequence number of the last event published before this overview was read: events
    /// numbered above it may not be reflected here yet.
    pub after_seq: u64,
}

/// One check in an [`Overview`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckOverview {
    /// The check's name.
    pub name: &'static str,
    /// Its reported status, or `None` before its first result.
    pub status: Option<Status>,
    /// Its circuit.
    pub circuit: Circuit,
    /// Why the application took it out of service, if it did.
    pub out_of_service: Option<Arc<str>>,
}

/// The current state of `state`'s checks and lifecycle, read without running any check (a
/// lock and a copy per check). A subscriber to the event stream reads it first, and again when
/// it is told it missed events.
pub fn overview<S: HealthState>(state: &S) -> Overview {
    let lifecycle = state.lifecycle();
    let after_seq = lifecycle.bus().last_seq();
    let engine = engine_of(state);
    let now = Instant::now();
    let checks = S::CHECKS
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let (status, view) = engine.slot(index).view(now);
            CheckOverview {
                name: spec.name(),
                status,
                circuit: view.circuit,
                out_of_service: view.out_of_service,
            }
        })
        .collect();
    Overview {
        phase: lifecycle.phase(),
        broken: lifecycle.broken(),
        checks,
        after_seq,
    }
}

/// The next instant at which what the probes answer may change with no event announcing it:
/// the earliest moment a fresh result goes stale (a stalled scheduler is judged when the result
/// is read, and growing stale publishes nothing), and, for a result already stale, the moment
/// its next run is due (a fresh result with an unchanged status publishes nothing either).
/// `None` when no check has a result. A subscriber that mirrors the probes (the gRPC health
/// `Watch`) evaluates again then, besides on each event.
pub fn next_unannounced_change<S: HealthState>(state: &S) -> Option<Instant> {
    let engine = engine_of(state);
    let now = Instant::now();
    S::CHECKS
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| {
            let (snapshot, _) = engine.slot(index).current(now)?;
            Some(if snapshot.is_stale_at(now) {
                crate::time::later(now, spec.interval())
            } else {
                snapshot.expires_at
            })
        })
        .min()
}
