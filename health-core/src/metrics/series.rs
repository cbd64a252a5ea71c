//! The handles of every series, registered once and recorded through from then on (feature
//! `metrics`). `off.rs` is the same interface recording nothing, for builds without it.

use std::array;
use std::time::{SystemTime, UNIX_EPOCH};

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics::{Counter, Gauge, Histogram, Unit};

use super::names::{
    kubernetes_type, CHECK_CIRCUIT_STATE, CHECK_CONSECUTIVE_FAILURES, CHECK_LAST_RESULT,
    CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS, CHECK_RUNS_TOTAL, CHECK_RUN_DURATION_SECONDS,
    CHECK_STATUS, GRPC_CHECK_RESPONSES_TOTAL, KUBERNETES_HEALTHCHECK,
    KUBERNETES_HEALTHCHECKS_TOTAL, LIFECYCLE_PHASE, PROBE_RESPONSES_TOTAL, SKIPPED_CIRCUIT_OPEN,
};
use crate::phase::Phase;
use crate::result::{CheckResult, RunEnd};
use crate::snapshot::Circuit;
use crate::spec::{Probe, Probes};
use crate::status::Status;

const STATUSES: [Status; 3] = [Status::Healthy, Status::Degraded, Status::Unhealthy];
const CIRCUITS: [&str; 3] = ["closed", "open", "half_open"];
const PHASES: [Phase; 4] = [
    Phase::Starting,
    Phase::Started,
    Phase::Ready,
    Phase::Draining,
];

/// Kubernetes' two series of one check in one probe `type`.
struct Sli {
    passing: Gauge,
    success: Counter,
    error: Counter,
}

impl Sli {
    fn new(name: &'static str, kind: &'static str) -> Sli {
        let total = |status: &'static str| counter!(KUBERNETES_HEALTHCHECKS_TOTAL, "name" => name, "status" => status, "type" => kind);
        Sli {
            passing: gauge!(KUBERNETES_HEALTHCHECK, "name" => name, "type" => kind),
            success: total("success"),
            error: total("error"),
        }
    }
}

/// Every series of one check.
pub(crate) struct CheckSeries {
    duration: Histogram,
    status: [Gauge; 3],
    last_result: [Gauge; 6],
    failures: Gauge,
    last_success: Gauge,
    circuit: [Gauge; 3],
    runs: [Counter; 6],
    skipped: Counter,
    /// `healthz`, then the probes the check gates.
    sli: Vec<Sli>,
}

impl CheckSeries {
    /// Registers the series of the check `name`, which gates `probes`.
    pub(crate) fn new(name: &'static str, probes: Probes) -> CheckSeries {
        let mut sli = vec![Sli::new(name, "healthz")];
        sli.extend(
            Probe::ALL
                .into_iter()
                .filter(|probe| probes.contains(*probe))
                .map(|probe| Sli::new(name, kubernetes_type(probe))),
        );
        let series = CheckSeries {
            duration: histogram!(CHECK_RUN_DURATION_SECONDS, "check" => name),
            status: array::from_fn(
                |i| gauge!(CHECK_STATUS, "check" => name, "status" => STATUSES[i].as_str()),
            ),
            last_result: array::from_fn(
                |i| gauge!(CHECK_LAST_RESULT, "check" => name, "result" => RunEnd::ALL[i].as_str()),
            ),
            failures: gauge!(CHECK_CONSECUTIVE_FAILURES, "check" => name),
            last_success: gauge!(CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS, "check" => name),
            circuit: array::from_fn(
                |i| gauge!(CHECK_CIRCUIT_STATE, "check" => name, "state" => CIRCUITS[i]),
            ),
            runs: array::from_fn(
                |i| counter!(CHECK_RUNS_TOTAL, "check" => name, "outcome" => RunEnd::ALL[i].as_str()),
            ),
            skipped: counter!(CHECK_RUNS_TOTAL, "check" => name, "outcome" => SKIPPED_CIRCUIT_OPEN),
            sli,
        };
        series.circuit(Circuit::Closed);
        series
    }

    /// A run ended with `result`; the check now reports `reported` (`None`: it is retired, its
    /// status shows no current value), after `failures` unhealthy runs in a row.
    pub(crate) fn ran(&self, result: &CheckResult, reported: Option<Status>, failures: u32) {
        self.duration.record(result.latency.as_secs_f64());
        self.runs[result.end.index()].increment(1);
        one_of(&self.last_result, result.end.index());
        self.failures.set(f64::from(failures));
        if result.status != Status::Unhealthy {
            let now = SystemTime::now().duration_since(UNIX_EPOCH);
            self.last_success
                .set(now.map_or(0.0, |since| since.as_secs_f64()));
        }
        let Some(reported) = reported else {
            return;
        };
        for sli in &self.sli {
            match reported {
                Status::Unhealthy => sli.error.increment(1),
                _ => sli.success.increment(1),
            }
        }
        self.reported(reported);
    }

    /// The check reports `status` now.
    pub(crate) fn reported(&self, status: Status) {
        let index = STATUSES.iter().position(|s| *s == status).unwrap_or(2);
        one_of(&self.status, index);
        let passing = if status == Status::Unhealthy {
            0.0
        } else {
            1.0
        };
        for sli in &self.sli {
            sli.passing.set(passing);
        }
    }

    /// The circuit is in `circuit` now.
    pub(crate) fn circuit(&self, circuit: Circuit) {
        let index = CIRCUITS
            .iter()
            .position(|state| *state == circuit.as_str())
            .unwrap_or(0);
        one_of(&self.circuit, index);
    }

    /// The check is retired (it gates only the startup probe, and the application has been
    /// ready): it no longer runs and no longer fails any probe. Its status and circuit show no
    /// current value (all 0), and `kubernetes_healthcheck` is 1.
    pub(crate) fn retired(&self) {
        zero(&self.status);
        zero(&self.circuit);
        for sli in &self.sli {
            sli.passing.set(1.0);
        }
    }

    /// A round the open circuit kept the check from running.
    pub(crate) fn skipped(&self) {
        self.skipped.increment(1);
    }
}

/// The lifecycle's phase series.
pub(crate) struct PhaseSeries {
    phase: [Gauge; 4],
}

impl PhaseSeries {
    /// Registers the phase series (and describes every series of this crate, once per
    /// registration: the exporter keeps the last description).
    pub(crate) fn new() -> PhaseSeries {
        describe();
        PhaseSeries {
            phase: array::from_fn(|i| gauge!(LIFECYCLE_PHASE, "phase" => PHASES[i].as_str())),
        }
    }

    /// The phase is `phase` now.
    pub(crate) fn set(&self, phase: Phase) {
        one_of(&self.phase, usize::from(phase.rank()));
    }
}

/// Sets the gauge at `index` to 1 and the others to 0: one series per value of a state.
fn one_of(gauges: &[Gauge], index: usize) {
    for (i, gauge) in gauges.iter().enumerate() {
        gauge.set(if i == index { 1.0 } else { 0.0 });
    }
}

/// Sets every gauge of a one-hot set to 0: no current value.
fn zero(gauges: &[Gauge]) {
    for gauge in gauges {
        gauge.set(0.0);
    }
}

/// Gives every series its help text and unit.
fn describe() {
    describe_gauge!(
        KUBERNETES_HEALTHCHECK,
        "This metric records the result of a single healthcheck: 1 passing, 0 failing."
    );
    describe_counter!(
        KUBERNETES_HEALTHCHECKS_TOTAL,
        "This metric records the results of all healthchecks: runs by reported status."
    );
    describe_histogram!(
        CHECK_RUN_DURATION_SECONDS,
        Unit::Seconds,
        "How long each run of a health check took (a timed-out run: its timeout)."
    );
    describe_gauge!(
        CHECK_STATUS,
        "The status a health check reports (after damping, the circuit breaker, and unhealthy while taken out of service): 1 on the current status."
    );
    describe_gauge!(
        CHECK_LAST_RESULT,
        "How the last run of a health check ended, before damping: 1 on that result."
    );
    describe_gauge!(
        CHECK_CONSECUTIVE_FAILURES,
        "Unhealthy runs of a health check in a row, up to the last run."
    );
    describe_gauge!(
        CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS,
        Unit::Seconds,
        "Unix time of the end of the last run of a health check that was not unhealthy (0: none)."
    );
    describe_gauge!(
        CHECK_CIRCUIT_STATE,
        "The circuit breaker of a health check: 1 on its state."
    );
    describe_counter!(
        CHECK_RUNS_TOTAL,
        "Runs of a health check by outcome, and rounds skipped while its circuit was open."
    );
    describe_gauge!(
        LIFECYCLE_PHASE,
        "The phase of the application's life: 1 on the current phase."
    );
    describe_counter!(
        PROBE_RESPONSES_TOTAL,
        "HTTP answers of the health probe routes, by probe and status code."
    );
    describe_counter!(
        GRPC_CHECK_RESPONSES_TOTAL,
        "gRPC health Check answers, by what was asked and the serving status answered."
    );
}
