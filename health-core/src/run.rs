//! Running checks (concurrently, each under its timeout, panics isolated), aggregating their
//! results, and evaluating a probe against the lifecycle.

use std::any::Any;
use std::borrow::Cow;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::{CheckOutcome, CheckSpec, HealthState, Phase, Probe, Probes, Status};

/// The result of one run of one check.
#[derive(Debug, Clone, PartialEq)]
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
}

/// Cancels a spawned check when the caller stops waiting for it (timeout or dropped request).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A check started on the runtime, not yet awaited.
struct Started<'a, S> {
    spec: &'a CheckSpec<S>,
    begun: tokio::time::Instant,
    task: AbortOnDrop<(CheckOutcome, Duration)>,
}

fn start<'a, S: HealthState>(spec: &'a CheckSpec<S>, state: &S) -> Started<'a, S> {
    let begun = Instant::now();
    let run = spec.run_fn();
    let state = state.clone();
    let task = tokio::spawn(async move {
        let outcome = run(&state).await;
        (outcome, begun.elapsed())
    });
    Started {
        spec,
        begun: tokio::time::Instant::from_std(begun),
        task: AbortOnDrop(task),
    }
}

async fn finish<S>(started: Started<'_, S>) -> CheckResult {
    let Started {
        spec,
        begun,
        mut task,
    } = started;
    let (outcome, latency) = match tokio::time::timeout_at(begun + spec.timeout(), &mut task.0)
        .await
    {
        Ok(Ok((outcome, latency))) => (outcome, latency),
        Ok(Err(error)) if error.is_panic() => (
            CheckOutcome::unhealthy(format!(
                "check panicked: {}",
                panic_message(error.into_panic().as_ref())
            )),
            begun.elapsed(),
        ),
        Ok(Err(_)) => (
            CheckOutcome::unhealthy("check was cancelled"),
            begun.elapsed(),
        ),
        Err(_) => (
            CheckOutcome::unhealthy(format!("timed out after {} ms", spec.timeout().as_millis())),
            begun.elapsed(),
        ),
    };
    let (mut status, mut message, details) = outcome.into_parts();
    if status == Status::Healthy {
        if let Some(limit) = spec.degraded_after() {
            if latency > limit {
                status = Status::Degraded;
                message = Some(Cow::Owned(format!(
                    "slow: took {} ms, above degraded_ms = {}",
                    latency.as_millis(),
                    limit.as_millis()
                )));
            }
        }
    }
    CheckResult {
        name: spec.name(),
        critical: spec.is_critical(),
        probes: spec.probes(),
        status,
        latency,
        message,
        details,
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "non-string panic payload"
    }
}

/// Runs one check under its timeout, isolating panics, and applies `degraded_ms`.
///
/// The check runs as its own task on the Tokio runtime: a panic inside it becomes an unhealthy
/// result and a check that overruns its timeout is cancelled.
pub async fn run_check<S: HealthState>(spec: &CheckSpec<S>, state: &S) -> CheckResult {
    finish(start(spec, state)).await
}

/// Runs every check for which `select` returns true, all at once, and returns their results in
/// registry order.
///
/// The answer never waits longer than the slowest selected check's timeout (plus scheduling).
pub async fn run_checks<S: HealthState>(
    state: &S,
    select: impl Fn(&CheckSpec<S>) -> bool,
) -> Vec<CheckResult> {
    // Start them all before awaiting any, so they run concurrently.
    let started: Vec<_> = S::CHECKS
        .iter()
        .filter(|spec| select(spec))
        .map(|spec| start(spec, state))
        .collect();
    let mut results = Vec::with_capacity(started.len());
    for check in started {
        results.push(finish(check).await);
    }
    results
}

/// Aggregates results: any critical check unhealthy makes the aggregate unhealthy; otherwise any
/// check unhealthy or degraded makes it degraded; otherwise it is healthy.
pub fn aggregate<'a>(results: impl IntoIterator<Item = &'a CheckResult>) -> Status {
    results
        .into_iter()
        .map(|r| match r.status {
            Status::Unhealthy if r.critical => Status::Unhealthy,
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

/// The answer to one probe: whether it passes, the aggregate status and each check's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What was evaluated.
    pub scope: Scope,
    /// The lifecycle phase after evaluation.
    pub phase: Phase,
    /// The aggregate status.
    pub status: Status,
    /// Whether the probe passes (HTTP 200) or fails (HTTP 503).
    pub passing: bool,
    /// Why the probe fails regardless of the checks, if it does (e.g. draining).
    pub reason: Option<&'static str>,
    /// The checks that ran, in registry order.
    pub checks: Vec<CheckResult>,
}

impl Report {
    fn lifecycle_fail(scope: Scope, phase: Phase, reason: &'static str) -> Report {
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

/// Whether every startup check passed: for the startup probe every check counts as critical,
/// because before start-up there is nothing to degrade to.
fn startup_passed(results: &[CheckResult]) -> bool {
    results
        .iter()
        .filter(|r| r.probes.contains(Probe::Startup))
        .all(|r| r.status != Status::Unhealthy)
}

/// Evaluates a probe (or the full report) against the lifecycle and the checks.
///
/// - startup: fails until the app is started and every `startup` check passes once, which
///   moves the lifecycle to ready; passes from then on (also while draining).
/// - live: passes unless a critical `live` check is unhealthy; the lifecycle does not matter.
/// - ready: fails while starting or draining, else follows the readiness checks (degraded passes).
/// - full: runs every check; passes when the app is ready and no critical check of any probe
///   is unhealthy.
pub async fn evaluate<S: HealthState>(state: &S, scope: Scope) -> Report {
    let lifecycle = state.lifecycle();
    let phase = lifecycle.phase();
    match scope {
        Scope::Probe(Probe::Live) => {
            let checks = run_checks(state, |s| s.is_in(Probe::Live)).await;
            let status = aggregate(&checks);
            Report {
                scope,
                phase: lifecycle.phase(),
                status,
                passing: status != Status::Unhealthy,
                reason: None,
                checks,
            }
        }
        Scope::Probe(Probe::Startup) => {
            if lifecycle.has_been_ready() {
                return Report {
                    scope,
                    phase,
                    status: Status::Healthy,
                    passing: true,
                    reason: None,
                    checks: Vec::new(),
                };
            }
            match phase {
                Phase::Starting => {
                    return Report::lifecycle_fail(scope, phase, "the application has not started")
                }
                Phase::Draining => {
                    return Report::lifecycle_fail(
                        scope,
                        phase,
                        "draining before start-up completed",
                    )
                }
                Phase::Started | Phase::Ready => {}
            }
            let checks = run_checks(state, |s| s.is_in(Probe::Startup)).await;
            let passed = startup_passed(&checks);
            if passed {
                lifecycle.mark_ready();
            }
            Report {
                scope,
                phase: lifecycle.phase(),
                status: if passed {
                    aggregate(&checks)
                } else {
                    Status::Unhealthy
                },
                passing: passed,
                reason: (!passed).then_some("a startup check has not passed"),
                checks,
            }
        }
        Scope::Probe(Probe::Ready) | Scope::Full => {
            match phase {
                Phase::Starting => {
                    return Report::lifecycle_fail(scope, phase, "the application has not started")
                }
                Phase::Draining => {
                    return Report::lifecycle_fail(scope, phase, "the application is draining")
                }
                Phase::Started | Phase::Ready => {}
            }
            let full = scope == Scope::Full;
            let pending_startup = phase == Phase::Started;
            let checks = run_checks(state, |s| {
                full || s.is_in(Probe::Ready) || (pending_startup && s.is_in(Probe::Startup))
            })
            .await;
            if pending_startup {
                if startup_passed(&checks) {
                    lifecycle.mark_ready();
                } else {
                    return Report {
                        checks,
                        ..Report::lifecycle_fail(scope, phase, "a startup check has not passed")
                    };
                }
            }
            // Only the readiness checks decide readiness; the full report shows them all.
            let status = aggregate(
                checks
                    .iter()
                    .filter(|r| full || r.probes.contains(Probe::Ready)),
            );
            let phase = lifecycle.phase();
            let draining = phase == Phase::Draining;
            Report {
                scope,
                phase,
                status,
                passing: status != Status::Unhealthy && !draining,
                reason: draining.then_some("the application is draining"),
                checks,
            }
        }
    }
}
