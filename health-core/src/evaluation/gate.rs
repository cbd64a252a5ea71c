//! The lifecycle gate: the one place that decides, from the phase and the application's own
//! verdict, whether a probe fails before any check is read, and why.

use std::borrow::Cow;
use std::sync::Arc;

use super::report::{CheckReport, Scope};
use crate::lifecycle::Lifecycle;
use crate::phase::Phase;
use crate::spec::Probe;
use crate::status::Status;

/// Why a probe fails regardless of its checks' own statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Start-up work is under way.
    NotStarted,
    /// Still starting, and nothing will ever start it (see [`Lifecycle::is_undriven`]).
    NotDriven,
    /// Readiness while shutting down.
    Draining,
    /// The startup probe, when draining began before start-up completed.
    DrainingBeforeStart,
    /// The application marked itself broken, with its reason.
    Broken(Arc<str>),
    /// The startup checks that have not passed yet (they gate readiness until they do).
    StartupPending(Cow<'static, str>),
}

impl Reason {
    /// The text a probe reports.
    pub(crate) fn into_text(self) -> Cow<'static, str> {
        match self {
            Reason::NotStarted => Cow::Borrowed("the application has not started"),
            Reason::NotDriven => Cow::Borrowed(
                "the application has not started, and nothing will start it: no `serve` (or \
                 `start_scheduler`) runs for this state; build the state once and pass clones \
                 of it to both the router and `serve`",
            ),
            Reason::Draining => Cow::Borrowed("the application is draining"),
            Reason::DrainingBeforeStart => Cow::Borrowed("draining before start-up completed"),
            Reason::Broken(reason) => {
                Cow::Owned(format!("the application marked itself broken: {reason}"))
            }
            Reason::StartupPending(text) => text,
        }
    }
}

/// What the lifecycle lets through for one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Gate {
    /// The probe fails with this reason; no check is read (while starting, a startup check
    /// must not even run: the work it checks is under way).
    Closed(Reason),
    /// The probe's checks decide. `startup_pending`: the application started but has not been
    /// ready yet, so the startup checks must also pass (and, once they do, make it ready).
    Open { startup_pending: bool },
    /// The startup probe once the application has been ready: it passes for good.
    Passed,
}

/// The gate for `scope`, in `phase` (read once by the caller, so the report it answers with
/// shows the phase the gate saw).
pub(crate) fn gate(scope: Scope, lifecycle: &Lifecycle, phase: Phase) -> Gate {
    let startup = scope == Scope::Probe(Probe::Startup);
    match scope {
        // Liveness ignores the phase: a starting or draining process is alive.
        Scope::Probe(Probe::Live) => Gate::Open {
            startup_pending: false,
        },
        _ if startup && lifecycle.has_been_ready() => Gate::Passed,
        _ if phase == Phase::Starting => Gate::Closed(if lifecycle.is_undriven() {
            Reason::NotDriven
        } else {
            Reason::NotStarted
        }),
        _ if startup && phase == Phase::Draining => Gate::Closed(Reason::DrainingBeforeStart),
        _ if phase == Phase::Draining => Gate::Closed(Reason::Draining),
        Scope::Probe(_) | Scope::Full => Gate::Open {
            startup_pending: phase == Phase::Started,
        },
    }
}

/// The application's own verdict on `scope`: liveness and the full report fail while the
/// application is marked broken (`Lifecycle::mark_broken`), after their checks were read, so the
/// body still lists them. One atomic load when it is not broken.
pub(crate) fn broken(scope: Scope, lifecycle: &Lifecycle) -> Option<Reason> {
    match scope {
        Scope::Probe(Probe::Live) | Scope::Full => lifecycle.broken().map(Reason::Broken),
        Scope::Probe(Probe::Startup | Probe::Ready) => None,
    }
}

/// Whether every startup check passed: for the startup probe every check counts as critical,
/// because before start-up there is nothing to degrade to.
pub(crate) fn startup_passed(checks: &[CheckReport]) -> bool {
    checks
        .iter()
        .filter(|c| c.probes.contains(Probe::Startup))
        .all(|c| c.status != Status::Unhealthy)
}

/// How many pending startup checks a reason names.
const NAMED_PENDING: usize = 5;

/// Why the startup gate holds: the startup checks that have not passed, by name (at most
/// [`NAMED_PENDING`] of them, then a count). Built only on that failing path.
pub(crate) fn startup_pending(checks: &[CheckReport]) -> Reason {
    let pending: Vec<&str> = checks
        .iter()
        .filter(|c| c.probes.contains(Probe::Startup) && c.status == Status::Unhealthy)
        .map(|c| c.name)
        .collect();
    let one = pending.len() == 1;
    let mut text = String::from(if one {
        "startup check "
    } else {
        "startup checks "
    });
    for (i, name) in pending.iter().take(NAMED_PENDING).enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push('"');
        text.push_str(name);
        text.push('"');
    }
    if pending.len() > NAMED_PENDING {
        text.push_str(&format!(" and {} more", pending.len() - NAMED_PENDING));
    }
    text.push_str(if one {
        " has not passed"
    } else {
        " have not passed"
    });
    Reason::StartupPending(Cow::Owned(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_decides_first_and_liveness_only_follows_the_verdict() {
        let live = Scope::Probe(Probe::Live);
        let ready = Scope::Probe(Probe::Ready);
        let startup = Scope::Probe(Probe::Startup);
        let open = |startup_pending| Gate::Open { startup_pending };
        let l = Lifecycle::new();
        let gate = |scope, l: &Lifecycle| gate(scope, l, l.phase());
        assert_eq!(gate(live, &l), open(false));
        assert_eq!(gate(ready, &l), Gate::Closed(Reason::NotStarted));
        assert_eq!(gate(Scope::Full, &l), Gate::Closed(Reason::NotStarted));
        assert_eq!(gate(startup, &l), Gate::Closed(Reason::NotStarted));
        l.mark_started();
        assert_eq!(gate(ready, &l), open(true));
        assert_eq!(gate(startup, &l), open(true));
        l.mark_ready();
        assert_eq!(gate(ready, &l), open(false));
        assert_eq!(gate(startup, &l), Gate::Passed);
        l.mark_broken("pool lost");
        let verdict = Some(Reason::Broken("pool lost".into()));
        assert_eq!(gate(live, &l), open(false), "the checks are still read");
        assert_eq!(broken(live, &l), verdict);
        assert_eq!(broken(Scope::Full, &l), verdict);
        assert_eq!(broken(ready, &l), None, "readiness ignores the verdict");
        assert_eq!(broken(startup, &l), None);
        l.mark_correct();
        assert_eq!(broken(live, &l), None);
        l.begin_drain();
        assert_eq!(gate(ready, &l), Gate::Closed(Reason::Draining));
        assert_eq!(
            gate(startup, &l),
            Gate::Passed,
            "ready once: passes for good"
        );
        assert_eq!(gate(live, &l), open(false));

        let early = Lifecycle::new();
        early.begin_drain();
        assert_eq!(
            gate(startup, &early),
            Gate::Closed(Reason::DrainingBeforeStart)
        );
    }
}
