//! Evaluation: a probe (or the full report) answered from the latest snapshots, after the
//! lifecycle gate ([`gate`]) has had its say. Reports and aggregation live in [`report`]; the
//! current state without running anything, for event subscribers, in [`overview`].

pub(crate) mod gate;
pub(crate) mod overview;
pub(crate) mod report;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::engine_of;
use crate::engine::slot::{Read, SlotView};
use crate::phase::Phase;
use crate::snapshot::CheckSnapshot;
use crate::spec::{CheckSpec, Probe};
use crate::state::HealthState;
use crate::status::Status;
use crate::time::begun_before;
use gate::{gate, startup_passed, Gate, Reason};
use report::{aggregate, statuses, CheckReport, Report, Scope};

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
        match engine.read(index, state, now, latched(spec)) {
            Read::Have(snapshot, view) => {
                checks.push(CheckReport::new(spec, snapshot, view, latched(spec), now));
            }
            Read::Wait {
                generation,
                deadline,
            }
            | Read::Start {
                generation,
                deadline,
            } => {
                waits.push((checks.len(), index, generation, deadline));
                checks.push(missing(spec, Duration::ZERO, now));
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
        checks[position] = match slot.current(now) {
            Some((snapshot, view)) => CheckReport::new(spec, snapshot, view, latched(spec), now),
            None => {
                let begun = begun_before(deadline, spec.timeout(), now);
                missing(spec, now.saturating_duration_since(begun), now)
            }
        };
    }
    checks
}

/// The report of a check that has no result after waiting `waited` for its first run.
fn missing<S>(spec: &CheckSpec<S>, waited: Duration, now: Instant) -> CheckReport {
    let snapshot = Arc::new(CheckSnapshot::missing(spec, waited, now));
    CheckReport::new(spec, snapshot, SlotView::BLANK, false, now)
}

/// Evaluates a probe (or the full report) against the lifecycle and the latest check results
/// (see [`latest`]).
///
/// - startup: fails until the app is started and every `startup` check passes once, which
///   moves the lifecycle to ready; passes from then on (also while draining).
/// - live: passes unless a critical `live` check is unhealthy, or the application marked
///   itself broken (`Lifecycle::mark_broken`: the checks are still listed); the phase does not
///   matter.
/// - ready: fails while starting or draining, else follows the readiness checks (degraded passes).
/// - full: every check; passes when the app is ready, not broken, and no critical check of any
///   probe is unhealthy.
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
    let lifecycle = state.lifecycle();
    let phase = lifecycle.phase();
    let mut report = match gate(scope, lifecycle, phase) {
        Gate::Closed(reason) => return Report::refused(scope, phase, reason.into_text()),
        Gate::Passed => evaluate_passed_startup(state, phase).await,
        Gate::Open { startup_pending } => match scope {
            Scope::Probe(Probe::Startup) => evaluate_startup(state).await,
            Scope::Probe(Probe::Live) => evaluate_live(state).await,
            Scope::Probe(Probe::Ready) | Scope::Full => {
                evaluate_ready(state, scope, startup_pending).await
            }
        },
    };
    if let Some(reason) = gate::broken(scope, lifecycle) {
        report.passing = false;
        report.reason = Some(reason.into_text());
    }
    if S::CHECKS.iter().any(&excluded) {
        let excluded_name = |name: &str| S::check_named(name).is_some_and(&excluded);
        report.checks.retain(|c| !excluded_name(c.name));
        // A reason means the lifecycle (draining, the startup gate, the broken verdict)
        // decided: keep it.
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

/// A report decided by its checks alone.
fn judged(scope: Scope, phase: Phase, checks: Vec<CheckReport>) -> Report {
    let status = aggregate(statuses(&checks));
    Report {
        scope,
        phase,
        status,
        passing: status != Status::Unhealthy,
        reason: None,
        checks,
    }
}

async fn evaluate_live<S: HealthState>(state: &S) -> Report {
    let checks = latest(state, |s| s.is_in(Probe::Live)).await;
    judged(Scope::Probe(Probe::Live), state.lifecycle().phase(), checks)
}

/// The startup probe once the application has been ready: it passes for good, and lists the
/// same checks as before (those that gate only this probe are retired: their last result, no
/// longer run).
async fn evaluate_passed_startup<S: HealthState>(state: &S, phase: Phase) -> Report {
    let checks = latest(state, |s| s.is_in(Probe::Startup)).await;
    Report {
        passing: true,
        ..judged(Scope::Probe(Probe::Startup), phase, checks)
    }
}

/// The startup probe after start-up work, before the application was ready: every startup
/// check must pass, and when they do the application becomes ready.
async fn evaluate_startup<S: HealthState>(state: &S) -> Report {
    let lifecycle = state.lifecycle();
    let checks = latest(state, |s| s.is_in(Probe::Startup)).await;
    let passed = startup_passed(&checks);
    if passed {
        lifecycle.mark_ready();
    }
    Report {
        scope: Scope::Probe(Probe::Startup),
        phase: lifecycle.phase(),
        status: if passed {
            aggregate(statuses(&checks))
        } else {
            Status::Unhealthy
        },
        passing: passed,
        // The startup gate itself: exclusions never lift it.
        reason: (!passed).then(|| gate::startup_pending(&checks).into_text()),
        checks,
    }
}

/// Readiness, or the full report: the readiness checks decide (every check, for the full
/// report), and while start-up is pending the startup checks gate it too.
async fn evaluate_ready<S: HealthState>(state: &S, scope: Scope, startup_pending: bool) -> Report {
    let lifecycle = state.lifecycle();
    let full = scope == Scope::Full;
    let mut checks = latest(state, |s| {
        full || s.is_in(Probe::Ready) || (startup_pending && s.is_in(Probe::Startup))
    })
    .await;
    if startup_pending {
        let passed = startup_passed(&checks);
        // The startup checks gate readiness until they pass once, but readiness lists only its
        // own checks, before start-up as after it: those that hold it are named in the reason.
        let reason = (!passed).then(|| gate::startup_pending(&checks));
        if !full {
            checks.retain(|c| c.probes.contains(Probe::Ready));
        }
        match reason {
            None => {
                lifecycle.mark_ready();
            }
            Some(reason) => {
                return Report {
                    checks,
                    ..Report::refused(scope, lifecycle.phase(), reason.into_text())
                }
            }
        }
    }
    let mut report = judged(scope, lifecycle.phase(), checks);
    // A drain that began while the checks were read still fails readiness.
    if report.phase == Phase::Draining {
        report.passing = false;
        report.reason = Some(Reason::Draining.into_text());
    }
    report
}

/// The answer for one check alone (`/health/ready/<name>`): its latest state, judged at the
/// time of the request. The lifecycle still decides first, as for the whole probe: while the
/// application is starting or draining, `ready/<name>` fails with the reason (so a probe pointed
/// at one check still takes a draining pod out of the Service), and while it is marked broken,
/// `live/<name>` and `<name>` fail as liveness and the full report do. `None` if no check of
/// that name gates `scope`.
pub async fn evaluate_check<S: HealthState>(state: &S, scope: Scope, name: &str) -> Option<Report> {
    let spec = S::check_named(name)?;
    if let Scope::Probe(probe) = scope {
        if !spec.is_in(probe) {
            return None;
        }
    }
    let lifecycle = state.lifecycle();
    let phase = lifecycle.phase();
    if let Gate::Closed(reason) = gate(scope, lifecycle, phase) {
        return Some(Report::refused(scope, phase, reason.into_text()));
    }
    let checks = latest(state, |s| s.name() == spec.name()).await;
    let status = checks.first().map_or(Status::Unhealthy, |c| c.status);
    let broken = gate::broken(scope, lifecycle);
    Some(Report {
        scope,
        phase,
        status,
        passing: status != Status::Unhealthy && broken.is_none(),
        reason: broken.map(Reason::into_text),
        checks,
    })
}
