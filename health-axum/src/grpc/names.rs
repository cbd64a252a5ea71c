//! What a gRPC health service name means, and its status now: the same evaluation as the HTTP
//! probes (lifecycle gate first, then the checks' snapshots), mapped to `SERVING` or
//! `NOT_SERVING`.

use health_core::{evaluate, evaluate_check, HealthState, Probe, Report, Scope, Status};

use super::proto::ServingStatus;

/// The name of each probe as a gRPC service.
pub(crate) const PROBE_NAMES: [(&str, Probe); 3] = [
    ("startup", Probe::Startup),
    ("liveness", Probe::Live),
    ("readiness", Probe::Ready),
];

/// What a service name asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A probe's verdict (the empty name is one of these, by configuration).
    Probe(Probe),
    /// One check: its registry index.
    Check(usize),
}

/// How names map and what fails, fixed when the service is built.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// What `""` answers.
    pub(crate) empty: Probe,
    /// Whether a degraded aggregate is `NOT_SERVING`, per probe (startup, live, ready) and for a
    /// single check (last).
    pub(crate) fail_degraded: [bool; 4],
    /// Whether `Watch` is answered (not on a port whose connections take one call each).
    pub(crate) watch: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            empty: Probe::Live,
            fail_degraded: [false; 4],
            watch: true,
        }
    }
}

impl Config {
    /// Which slot of `fail_degraded` a scope is.
    pub(crate) fn slot(scope: Scope) -> usize {
        match scope {
            Scope::Probe(Probe::Startup) => 0,
            Scope::Probe(Probe::Live) => 1,
            Scope::Probe(Probe::Ready) => 2,
            _ => 3,
        }
    }
}

/// The target of `name`, or `None` for a name the server does not know. The probes' names come
/// first: a check named like a probe is reached by the HTTP path only.
pub(crate) fn target<S: HealthState>(name: &str, config: &Config) -> Option<Target> {
    if name.is_empty() {
        return Some(Target::Probe(config.empty));
    }
    if let Some((_, probe)) = PROBE_NAMES.iter().find(|(n, _)| *n == name) {
        return Some(Target::Probe(*probe));
    }
    S::CHECKS
        .iter()
        .position(|spec| spec.name() == name)
        .map(Target::Check)
}

/// Every name the server knows, `""` first, then the probes, then the checks in registry order
/// (a check named like a probe is listed once, as the probe).
pub(crate) fn all_names<S: HealthState>() -> Vec<&'static str> {
    let mut names = vec![""];
    names.extend(PROBE_NAMES.iter().map(|(name, _)| *name));
    for spec in S::CHECKS {
        if !names.contains(&spec.name()) {
            names.push(spec.name());
        }
    }
    names
}

/// The status of `target` now, as the HTTP probe (or check path) would answer. Reads snapshots
/// only, since a scheduler runs (the service starts one before its first answer).
pub(crate) async fn status_of<S: HealthState>(
    state: &S,
    target: Target,
    config: &Config,
) -> ServingStatus {
    let (report, scope) = match target {
        Target::Probe(probe) => {
            let scope = Scope::Probe(probe);
            (Some(evaluate(state, scope).await), scope)
        }
        Target::Check(index) => {
            let name = S::CHECKS[index].name();
            (evaluate_check(state, Scope::Full, name).await, Scope::Full)
        }
    };
    match report {
        Some(report) if serving(&report, config.fail_degraded[Config::slot(scope)]) => {
            ServingStatus::Serving
        }
        _ => ServingStatus::NotServing,
    }
}

/// As over HTTP: a passing report is served (degraded too, unless degraded fails this scope).
fn serving(report: &Report, fail_degraded: bool) -> bool {
    report.passing && !(fail_degraded && report.status == Status::Degraded)
}
