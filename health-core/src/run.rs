//! Running checks (concurrently, each under its timeout, panics isolated), reading their latest
//! results, aggregating them, and evaluating a probe against the lifecycle.

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::engine::{
    later, spawn_run, Begin, CheckSnapshot, Circuit, Claim, Live, Read, WAIT_SLACK,
};
use crate::lifecycle::engine_of;
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
    begun: Instant,
    task: AbortOnDrop<(CheckOutcome, Duration)>,
}

tokio::task_local! {
    /// When the run of the check on this task is cut (see [`check_deadline`]).
    static DEADLINE: Instant;
}

/// The instant at which the check run in progress on this task is cut at its timeout, or `None`
/// outside a check run.
///
/// A check needs it only to report something better than "timed out" before it is cut: the
/// built-in pool check gives up waiting for a pooled connection halfway to the deadline and
/// uses the rest to find out why none came (the database refuses connections, say).
///
/// ```
/// # async fn example() -> health_core::CheckOutcome {
/// use health_core::{check_deadline, CheckOutcome};
///
/// let budget = check_deadline()
///     .map(|deadline| deadline.saturating_duration_since(tokio::time::Instant::now()));
/// CheckOutcome::healthy()
/// # }
/// ```
pub fn check_deadline() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}

fn start<'a, S: HealthState>(spec: &'a CheckSpec<S>, state: &S) -> Started<'a, S> {
    // Tokio's clock, not the system's: the deadline below is awaited on it, and a test on the
    // paused clock sees its runs start, time out and take as long as its virtual time says.
    let begun = Instant::now();
    let run = spec.run_fn();
    let state = state.clone();
    let deadline = later(begun, spec.timeout());
    let task = tokio::spawn(DEADLINE.scope(deadline, async move {
        let outcome = run(&state).await;
        (outcome, begun.elapsed())
    }));
    Started {
        spec,
        begun,
        task: AbortOnDrop(task),
    }
}

async fn finish<S>(started: Started<'_, S>) -> CheckResult {
    let Started {
        spec,
        begun,
        mut task,
    } = started;
    let (outcome, latency) =
        match tokio::time::timeout_at(later(begun, spec.timeout()), &mut task.0).await {
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
                CheckOutcome::unhealthy(format!(
                    "timed out after {} ms",
                    spec.timeout().as_millis()
                )),
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
    fn new<S>(
        spec: &CheckSpec<S>,
        snapshot: Arc<CheckSnapshot>,
        live: Live,
        latched: bool,
        now: Instant,
    ) -> Self {
        let stale = !latched && snapshot.is_stale_at(now);
        CheckReport {
            retired: latched,
            name: spec.name(),
            critical: spec.is_critical() || live.out_of_service.is_some(),
            probes: spec.probes(),
            status: if stale || live.out_of_service.is_some() {
                Status::Unhealthy
            } else {
                snapshot.status
            },
            stale,
            age: now.saturating_duration_since(snapshot.finished_at),
            circuit: live.circuit,
            out_of_service: live.out_of_service,
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
    fn lifecycle_fail(scope: Scope, phase: Phase, reason: &'static str) -> Report {
        Report {
            scope,
            phase,
            status: Status::Unhealthy,
            passing: false,
            reason: Some(Cow::Borrowed(reason)),
            checks: Vec::new(),
        }
    }
}

fn statuses(checks: &[CheckReport]) -> impl Iterator<Item = (Status, bool)> + '_ {
    checks.iter().map(|c| (c.status, c.critical))
}

/// Whether every startup check passed: for the startup probe every check counts as critical,
/// because before start-up there is nothing to degrade to.
fn startup_passed(checks: &[CheckReport]) -> bool {
    checks
        .iter()
        .filter(|c| c.probes.contains(Probe::Startup))
        .all(|c| c.status != Status::Unhealthy)
}

/// The latest state of every check `select` picks, in registry order.
///
/// Answers from the snapshots: a check whose result is fresh, or that the background scheduler
/// owns, costs a lock and a reference count. A check with no result yet (cold), or whose result
/// is older than its interval while no scheduler runs, is run once for all concurrent callers
/// (single flight) and waited for, at most until its timeout.
pub async fn latest<S: HealthState>(
    state: &S,
    select: impl Fn(&CheckSpec<S>) -> bool,
) -> Vec<CheckReport> {
    let engine = engine_of(state);
    let engine = engine.as_ref();
    let ready_once = state.lifecycle().has_been_ready();
    let latched =
        |spec: &CheckSpec<S>| ready_once && !spec.is_in(Probe::Live) && !spec.is_in(Probe::Ready);
    let now = Instant::now();
    // Exactly the room needed: nothing is allocated for a probe without checks.
    let mut checks = Vec::with_capacity(S::CHECKS.iter().filter(|spec| select(spec)).count());
    let mut waits = Vec::new();
    for (index, spec) in S::CHECKS.iter().enumerate() {
        if !select(spec) {
            continue;
        }
        let latched = latched(spec);
        match engine.slot(index).read(engine, index, state, now, latched) {
            Read::Have(snapshot, live) => {
                checks.push(CheckReport::new(spec, snapshot, live, latched, now));
            }
            Read::Wait {
                generation,
                deadline,
            } => {
                waits.push((checks.len(), index, generation, deadline));
                let missing = Arc::new(CheckSnapshot::missing(spec, Duration::ZERO, now));
                checks.push(CheckReport::new(spec, missing, Live::CLOSED, false, now));
            }
        }
    }
    // Every run was started above, so waiting for them one after another takes as long as the
    // slowest.
    for (position, index, generation, deadline) in waits {
        let slot = engine.slot(index);
        slot.wait(generation, deadline).await;
        let now = Instant::now();
        let spec = &S::CHECKS[index];
        let latched = latched(spec);
        checks[position] = match slot.current(now) {
            Some((snapshot, live)) => CheckReport::new(spec, snapshot, live, latched, now),
            None => {
                let begun = deadline
                    .checked_sub(spec.timeout().saturating_add(WAIT_SLACK))
                    .unwrap_or(now);
                let waited = now.saturating_duration_since(begun);
                let missing = Arc::new(CheckSnapshot::missing(spec, waited, now));
                CheckReport::new(spec, missing, Live::CLOSED, false, now)
            }
        };
    }
    checks
}

/// Runs every check of `state` now (joining a run already in flight instead of starting a
/// second one) and records the results, as the scheduler would; a check whose circuit is open
/// is left alone. Returns when every result is recorded.
///
/// Useful after changing something a check depends on (maintenance, tests), to avoid waiting
/// for the next interval. The results still go through damping.
pub async fn refresh<S: HealthState>(state: &S) {
    let engine = engine_of(state);
    let engine = engine.as_ref();
    let now = Instant::now();
    let mut waits = Vec::with_capacity(S::CHECKS.len());
    for index in 0..S::CHECKS.len() {
        let slot = engine.slot(index);
        match slot.begin(now) {
            Begin::Run => {
                let generation = slot.generation();
                spawn_run(Claim::new(engine, index), state);
                waits.push((index, generation, now));
            }
            Begin::Busy { generation, since } => {
                waits.push((index, generation, since));
            }
            Begin::OpenUntil(_) => {}
        }
    }
    for (index, generation, since) in waits {
        let timeout = S::CHECKS[index].timeout();
        engine
            .slot(index)
            .wait(generation, later(since, timeout.saturating_add(WAIT_SLACK)))
            .await;
    }
}

/// Evaluates a probe (or the full report) against the lifecycle and the latest check results
/// (see [`latest`]).
///
/// - startup: fails until the app is started and every `startup` check passes once, which
///   moves the lifecycle to ready; passes from then on (also while draining).
/// - live: passes unless a critical `live` check is unhealthy; the lifecycle does not matter.
/// - ready: fails while starting or draining, else follows the readiness checks (degraded passes).
/// - full: every check; passes when the app is ready and no critical check of any probe
///   is unhealthy.
pub async fn evaluate<S: HealthState>(state: &S, scope: Scope) -> Report {
    evaluate_excluding(state, scope, |_| false).await
}

/// [`evaluate`], with the checks for which `excluded` returns true left out of the aggregate and
/// of the report (an operator's `?exclude=name`).
///
/// Excluding never changes what the lifecycle decides: a starting or draining application still
/// fails readiness, and before the application has been ready once, the startup checks still
/// gate it in full (an excluded startup check cannot make it ready). Only the aggregate of the
/// probe's own checks, once the lifecycle allows it, leaves the excluded checks out.
pub async fn evaluate_excluding<S: HealthState>(
    state: &S,
    scope: Scope,
    excluded: impl Fn(&CheckSpec<S>) -> bool,
) -> Report {
    let mut report = evaluate_all(state, scope).await;
    if S::CHECKS.iter().any(&excluded) {
        let excluded_name = |name: &str| S::check_named(name).is_some_and(&excluded);
        report.checks.retain(|c| !excluded_name(c.name));
        // A reason means the lifecycle (starting, draining, the startup gate) decided: keep it.
        if report.reason.is_none() {
            let counted = report
                .checks
                .iter()
                .filter(|c| scope == Scope::Full || c.probes.contains(probe_of(scope)));
            report.status = aggregate(counted.map(|c| (c.status, c.critical)));
            report.passing = report.status != Status::Unhealthy;
        }
    }
    report
}

/// The probe whose checks count for `scope` (the full report counts every check).
fn probe_of(scope: Scope) -> Probe {
    match scope {
        Scope::Probe(probe) => probe,
        Scope::Full => Probe::Ready,
    }
}

/// Why the startup gate holds: the startup checks that have not passed, by name (at most
/// [`NAMED_PENDING`] of them, then a count). Built only on that failing path.
fn startup_pending(checks: &[CheckReport]) -> Cow<'static, str> {
    let pending: Vec<&str> = checks
        .iter()
        .filter(|c| c.probes.contains(Probe::Startup) && c.status == Status::Unhealthy)
        .map(|c| c.name)
        .collect();
    let mut reason = String::from(if pending.len() == 1 {
        "startup check "
    } else {
        "startup checks "
    });
    for (i, name) in pending.iter().take(NAMED_PENDING).enumerate() {
        if i > 0 {
            reason.push_str(", ");
        }
        reason.push('"');
        reason.push_str(name);
        reason.push('"');
    }
    if pending.len() > NAMED_PENDING {
        reason.push_str(&format!(" and {} more", pending.len() - NAMED_PENDING));
    }
    reason.push_str(if pending.len() == 1 {
        " has not passed"
    } else {
        " have not passed"
    });
    Cow::Owned(reason)
}

/// How many pending startup checks a reason names.
const NAMED_PENDING: usize = 5;

/// The answer for one check alone (`/health/ready/<name>`): its latest state, judged at the
/// time of the request. The lifecycle still decides first, as for the whole probe: while the
/// application is starting or draining, `ready/<name>` fails with the reason (so a probe pointed
/// at one check still takes a draining pod out of the Service). `None` if no check of that name
/// gates `scope`.
pub async fn evaluate_check<S: HealthState>(state: &S, scope: Scope, name: &str) -> Option<Report> {
    let spec = S::check_named(name)?;
    if let Scope::Probe(probe) = scope {
        if !spec.is_in(probe) {
            return None;
        }
    }
    let lifecycle = state.lifecycle();
    let phase = lifecycle.phase();
    let gate = match (scope, phase) {
        (Scope::Probe(Probe::Live), _) => None,
        (Scope::Probe(Probe::Startup), _) if lifecycle.has_been_ready() => None,
        (_, Phase::Starting) => Some(lifecycle.starting_reason()),
        (Scope::Probe(Probe::Startup), Phase::Draining) => Some(REASON_DRAINING_BEFORE_START),
        (_, Phase::Draining) => Some(REASON_DRAINING),
        (_, Phase::Started | Phase::Ready) => None,
    };
    if let Some(reason) = gate {
        // The lifecycle decides, as for the whole probe: the check is not read (while starting,
        // a startup check must not even run: the work it checks is under way).
        return Some(Report::lifecycle_fail(scope, phase, reason));
    }
    let checks = latest(state, |s| s.name() == spec.name()).await;
    let status = checks.first().map_or(Status::Unhealthy, |c| c.status);
    Some(Report {
        scope,
        phase,
        status,
        passing: status != Status::Unhealthy,
        reason: None,
        checks,
    })
}

/// Why readiness fails while the application drains.
const REASON_DRAINING: &str = "the application is draining";

/// Why the startup probe fails when draining began before start-up completed.
const REASON_DRAINING_BEFORE_START: &str = "draining before start-up completed";

async fn evaluate_all<S: HealthState>(state: &S, scope: Scope) -> Report {
    let lifecycle = state.lifecycle();
    let phase = lifecycle.phase();
    match scope {
        Scope::Probe(Probe::Live) => {
            let checks = latest(state, |s| s.is_in(Probe::Live)).await;
            let status = aggregate(statuses(&checks));
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
                // Passed once, passes for good; the same checks are listed as before (those that
                // gate only this probe are retired: their last result, no longer run).
                let checks = latest(state, |s| s.is_in(Probe::Startup)).await;
                return Report {
                    scope,
                    phase,
                    status: aggregate(statuses(&checks)),
                    passing: true,
                    reason: None,
                    checks,
                };
            }
            match phase {
                Phase::Starting => {
                    return Report::lifecycle_fail(scope, phase, lifecycle.starting_reason())
                }
                Phase::Draining => {
                    return Report::lifecycle_fail(scope, phase, REASON_DRAINING_BEFORE_START)
                }
                Phase::Started | Phase::Ready => {}
            }
            let checks = latest(state, |s| s.is_in(Probe::Startup)).await;
            let passed = startup_passed(&checks);
            if passed {
                lifecycle.mark_ready();
            }
            Report {
                scope,
                phase: lifecycle.phase(),
                status: if passed {
                    aggregate(statuses(&checks))
                } else {
                    Status::Unhealthy
                },
                passing: passed,
                // The startup gate itself: exclusions never lift it.
                reason: (!passed).then(|| startup_pending(&checks)),
                checks,
            }
        }
        Scope::Probe(Probe::Ready) | Scope::Full => {
            match phase {
                Phase::Starting => {
                    return Report::lifecycle_fail(scope, phase, lifecycle.starting_reason())
                }
                Phase::Draining => return Report::lifecycle_fail(scope, phase, REASON_DRAINING),
                Phase::Started | Phase::Ready => {}
            }
            let full = scope == Scope::Full;
            let pending_startup = phase == Phase::Started;
            let mut checks = latest(state, |s| {
                full || s.is_in(Probe::Ready) || (pending_startup && s.is_in(Probe::Startup))
            })
            .await;
            if pending_startup {
                let passed = startup_passed(&checks);
                // The startup checks gate readiness until they pass once, but readiness lists
                // only its own checks, before start-up as after it: those that hold it are
                // named in the reason.
                let reason = (!passed).then(|| startup_pending(&checks));
                if !full {
                    checks.retain(|c| c.probes.contains(Probe::Ready));
                }
                if passed {
                    lifecycle.mark_ready();
                } else {
                    return Report {
                        checks,
                        reason,
                        ..Report::lifecycle_fail(scope, phase, "")
                    };
                }
            }
            // Only the readiness checks decide readiness; the full report shows them all.
            let status = aggregate(
                checks
                    .iter()
                    .filter(|c| full || c.probes.contains(Probe::Ready))
                    .map(|c| (c.status, c.critical)),
            );
            let phase = lifecycle.phase();
            let draining = phase == Phase::Draining;
            Report {
                scope,
                phase,
                status,
                passing: status != Status::Unhealthy && !draining,
                reason: draining.then_some(Cow::Borrowed(REASON_DRAINING)),
                checks,
            }
        }
    }
}
