//! What a probe answers: the report of each check as the probe sees it, the report of the
//! whole probe, and how check statuses aggregate.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::slot::SlotView;
use crate::phase::Phase;
use crate::result::CheckResult;
use crate::snapshot::{CheckSnapshot, Circuit};
use crate::spec::{CheckSpec, Probe, Probes};
use crate::status::Status;

/// Aggregates `(status, critical)` pairs: any critical check unhealthy makes the aggregate
/// unhealthy; otherwise any check unhealthy or degraded makes it degraded; otherwise it is healthy.
pub fn aggregate(results: impl IntoIterator<Item = (Status, bool)>) -> Status {
    results
        .into_iter()
        .map(|(status, critical)| match status {
            Status::Unhealthy if critical => Status::Unhealthy,
            Status::Unhealthy | Status::Degraded => Status::Degraded,
            Status::Healthy => Status::Healthy,
        })
        .max()
        .unwrap_or(Status::Healthy)
}

/// What a report covers: one probe, or every check (the full `/health` report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The checks gating one probe, and that probe's lifecycle rule.
    Probe(Probe),
    /// Every registered check; passes when the application is ready and no critical check is
    /// unhealthy.
    Full,
}

impl From<Probe> for Scope {
    fn from(probe: Probe) -> Self {
        Scope::Probe(probe)
    }
}

/// One check as a probe sees it: the latest snapshot, judged at the time of the probe.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckReport {
    /// The check's name.
    pub name: &'static str,
    /// Whether the check is critical.
    pub critical: bool,
    /// The probes the check gates.
    pub probes: Probes,
    /// The status that counts: the snapshot's reported (damped) status, or unhealthy when the
    /// snapshot is stale.
    pub status: Status,
    /// Whether the snapshot is older than the check's `max_age` (the scheduler is stalled).
    pub stale: bool,
    /// Whether the check is no longer run: a check that gates only the startup probe, once the
    /// application has been ready. Its last result stands; it is never stale.
    pub retired: bool,
    /// How old the last result is.
    pub age: Duration,
    /// The circuit breaker's state.
    pub circuit: Circuit,
    /// Why the application took the check out of service (see [`take_out_of_service`](crate::take_out_of_service)), if it
    /// did: the check then counts as unhealthy and critical.
    pub out_of_service: Option<Arc<str>>,
    /// The latest snapshot: raw last result, counters, retry time.
    pub snapshot: Arc<CheckSnapshot>,
}

impl CheckReport {
    pub(crate) fn new<S>(
        spec: &CheckSpec<S>,
        snapshot: Arc<CheckSnapshot>,
        view: SlotView,
        latched: bool,
        now: Instant,
    ) -> Self {
        let stale = !latched && snapshot.is_stale_at(now);
        CheckReport {
            retired: latched,
            name: spec.name(),
            critical: spec.is_critical() || view.out_of_service.is_some(),
            probes: spec.probes(),
            status: if stale || view.out_of_service.is_some() {
                Status::Unhealthy
            } else {
                snapshot.status
            },
            stale,
            age: now.saturating_duration_since(snapshot.finished_at),
            circuit: view.circuit,
            out_of_service: view.out_of_service,
            snapshot,
        }
    }

    /// The raw result of the last run, before damping.
    pub fn raw(&self) -> &CheckResult {
        &self.snapshot.result
    }

    /// What to tell a reader about this check, if anything: why it is stale or its circuit is
    /// open, else the last run's message.
    pub fn message(&self) -> Option<Message<'_>> {
        if self.out_of_service.is_some()
            || self.stale
            || self.circuit != Circuit::Closed
            || self.raw().message.is_some()
        {
            Some(Message(self))
        } else {
            None
        }
    }
}

/// The human-readable message of a [`CheckReport`]; formatted without allocating.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a>(&'a CheckReport);

impl std::fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let report = self.0;
        let last = report.raw().message.as_deref();
        if let Some(reason) = &report.out_of_service {
            return write!(f, "out of service: {reason}");
        }
        if report.stale {
            write!(
                f,
                "stale: the last result is {} ms old; the background checker is stalled",
                report.age.as_millis()
            )?;
        } else {
            match report.circuit {
                Circuit::Closed => return f.write_str(last.unwrap_or("")),
                Circuit::Open { retry_in } => write!(
                    f,
                    "circuit open after {} consecutive failures; next trial in {} ms",
                    report.snapshot.consecutive_failures,
                    retry_in.as_millis()
                )?,
                Circuit::HalfOpen => f.write_str("circuit half-open: one trial run under way")?,
            }
        }
        match last {
            Some(last) => write!(f, "; last result: {last}"),
            None => write!(f, "; last result: {}", report.raw().status),
        }
    }
}

/// The answer to one probe: whether it passes, the aggregate status and each check's state.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// What was evaluated.
    pub scope: Scope,
    /// The lifecycle phase after evaluation.
    pub phase: Phase,
    /// The aggregate status.
    pub status: Status,
    /// Whether the probe passes (HTTP 200) or fails (HTTP 503).
    pub passing: bool,
    /// Why the probe fails regardless of the checks, if it does (e.g. draining, or the startup
    /// checks that have not passed yet, by name).
    pub reason: Option<Cow<'static, str>>,
    /// The checks evaluated, in registry order.
    pub checks: Vec<CheckReport>,
}

impl Report {
    /// A failing report decided by the lifecycle gate, before any check was read.
    pub(crate) fn refused(scope: Scope, phase: Phase, reason: Cow<'static, str>) -> Report {
        Report {
            scope,
            phase,
            status: Status::Unhealthy,
            passing: false,
            reason: Some(reason),
            checks: Vec::new(),
        }
    }
}

/// The `(status, critical)` pairs of `checks`, for [`aggregate`].
pub(crate) fn statuses(checks: &[CheckReport]) -> impl Iterator<Item = (Status, bool)> + '_ {
    checks.iter().map(|c| (c.status, c.critical))
}
