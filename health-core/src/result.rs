//! The result the runtime records of one run: the outcome, timed and judged against the spec.

use std::borrow::Cow;
use std::time::Duration;

use crate::spec::Probes;
use crate::status::Status;

/// The result of one run of one check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckResult {
    /// The check's name.
    pub name: &'static str,
    /// Whether the check is critical.
    pub critical: bool,
    /// The probes the check gates.
    pub probes: Probes,
    /// The status, after the timeout and `degraded_ms` rules were applied.
    pub status: Status,
    /// How long the check took (its timeout, if it timed out).
    pub latency: Duration,
    /// Why the check is not healthy, or what it reported.
    pub message: Option<Cow<'static, str>>,
    /// Machine-readable details the check attached.
    pub details: Option<serde_json::Value>,
    /// How the run ended: what the check returned, or why it returned nothing.
    pub end: RunEnd,
}

/// How one run of a check ended, before damping: the status it returned (after `degraded_ms`),
/// or why it returned none. The `health_check_runs_total` series counts runs by this, and
/// `health_check_last_result` shows the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunEnd {
    /// It returned healthy.
    Healthy,
    /// It returned degraded, or returned healthy slower than its `degraded_ms`.
    Degraded,
    /// It returned unhealthy (or an error).
    Unhealthy,
    /// It was cut at its timeout.
    TimedOut,
    /// It panicked.
    Panicked,
    /// Its task was cancelled before it returned (the runtime shutting down).
    Cancelled,
}

impl RunEnd {
    /// Every value, in the order of [`RunEnd::index`].
    pub const ALL: [RunEnd; 6] = [
        RunEnd::Healthy,
        RunEnd::Degraded,
        RunEnd::Unhealthy,
        RunEnd::TimedOut,
        RunEnd::Panicked,
        RunEnd::Cancelled,
    ];

    /// The lowercase name: `healthy`, `degraded`, `unhealthy`, `timed_out`, `panicked` or
    /// `cancelled`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RunEnd::Healthy => "healthy",
            RunEnd::Degraded => "degraded",
            RunEnd::Unhealthy => "unhealthy",
            RunEnd::TimedOut => "timed_out",
            RunEnd::Panicked => "panicked",
            RunEnd::Cancelled => "cancelled",
        }
    }

    /// The position in [`RunEnd::ALL`].
    pub const fn index(self) -> usize {
        match self {
            RunEnd::Healthy => 0,
            RunEnd::Degraded => 1,
            RunEnd::Unhealthy => 2,
            RunEnd::TimedOut => 3,
            RunEnd::Panicked => 4,
            RunEnd::Cancelled => 5,
        }
    }

    /// The end of a run that returned `status`.
    pub const fn returned(status: Status) -> RunEnd {
        match status {
            Status::Healthy => RunEnd::Healthy,
            Status::Degraded => RunEnd::Degraded,
            Status::Unhealthy => RunEnd::Unhealthy,
        }
    }
}
