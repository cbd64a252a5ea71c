//! What the engine records of a check and what a reader sees of it: the snapshot of its last
//! run, and its circuit breaker as seen at one instant.

use std::borrow::Cow;
use std::time::Duration;

use tokio::time::Instant;

use crate::result::{CheckResult, RunEnd};
use crate::spec::CheckSpec;
use crate::status::Status;
use crate::time::far_future;

/// The latest recorded state of one check: its raw last result and what is reported.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckSnapshot {
    /// The raw result of the last run, before damping.
    pub result: CheckResult,
    /// The reported status: the raw status after damping, and unhealthy while the circuit is open.
    pub status: Status,
    /// When the last run finished.
    pub finished_at: Instant,
    /// Consecutive unhealthy runs up to and including the last one.
    pub consecutive_failures: u32,
    /// Consecutive runs that were not unhealthy, up to and including the last one.
    pub consecutive_successes: u32,
    /// How many times the check has run.
    pub runs: u64,
    /// When the circuit breaker lets the next trial run through, while the circuit is open.
    pub retry_at: Option<Instant>,
    /// Until when the result is fresh: a probe that finds it older, with no scheduler running,
    /// refreshes it.
    pub(crate) fresh_until: Instant,
    /// From when the result is stale: it then counts as unhealthy.
    pub(crate) expires_at: Instant,
}

impl CheckSnapshot {
    /// A placeholder for a check that has no result at all because its first run has not
    /// finished within its timeout (its runner is stalled).
    pub(crate) fn missing<S>(spec: &CheckSpec<S>, waited: Duration, now: Instant) -> Self {
        // Unhealthy for what it is (no result), not "stale": it never held a result to age.
        let never = far_future(now);
        CheckSnapshot {
            result: CheckResult {
                name: spec.name(),
                critical: spec.is_critical(),
                probes: spec.probes(),
                status: Status::Unhealthy,
                latency: waited,
                message: Some(Cow::Borrowed(
                    "no result: the check's first run did not finish within its timeout",
                )),
                details: None,
                end: RunEnd::TimedOut,
            },
            status: Status::Unhealthy,
            finished_at: now,
            consecutive_failures: 0,
            consecutive_successes: 0,
            runs: 0,
            retry_at: None,
            fresh_until: now,
            expires_at: never,
        }
    }

    /// Whether the result is too old to be trusted at `now`: the scheduler that should have
    /// replaced it is stalled.
    pub fn is_stale_at(&self, now: Instant) -> bool {
        now >= self.expires_at
    }
}

/// A check's circuit breaker, as seen at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Runs go through.
    Closed,
    /// The check is not run; the next trial is due in `retry_in` (zero: due now).
    Open {
        /// Time until the trial run.
        retry_in: Duration,
    },
    /// One trial run is under way; its result closes or reopens the circuit.
    HalfOpen,
}

impl Circuit {
    /// `closed`, `open` or `half_open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Circuit::Closed => "closed",
            Circuit::Open { .. } => "open",
            Circuit::HalfOpen => "half_open",
        }
    }
}
