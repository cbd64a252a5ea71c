//! The names of the series and of the label values that are not the vocabulary's own.

use crate::spec::Probe;

/// Kubernetes' per-check gauge: `kubernetes_healthcheck{name, type}`.
pub const KUBERNETES_HEALTHCHECK: &str = "kubernetes_healthcheck";
/// Kubernetes' per-check counter: `kubernetes_healthchecks_total{name, status, type}`.
pub const KUBERNETES_HEALTHCHECKS_TOTAL: &str = "kubernetes_healthchecks_total";
/// `health_check_run_duration_seconds{check}`, a histogram.
pub const CHECK_RUN_DURATION_SECONDS: &str = "health_check_run_duration_seconds";
/// `health_check_status{check, status}`, a gauge per status value.
pub const CHECK_STATUS: &str = "health_check_status";
/// `health_check_last_result{check, result}`, a gauge per result value.
pub const CHECK_LAST_RESULT: &str = "health_check_last_result";
/// `health_check_consecutive_failures{check}`, a gauge.
pub const CHECK_CONSECUTIVE_FAILURES: &str = "health_check_consecutive_failures";
/// `health_check_last_success_timestamp_seconds{check}`, a gauge.
pub const CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS: &str =
    "health_check_last_success_timestamp_seconds";
/// `health_check_circuit_state{check, state}`, a gauge per circuit state.
pub const CHECK_CIRCUIT_STATE: &str = "health_check_circuit_state";
/// `health_check_runs_total{check, outcome}`, a counter per outcome.
pub const CHECK_RUNS_TOTAL: &str = "health_check_runs_total";
/// `health_lifecycle_phase{phase}`, a gauge per phase.
pub const LIFECYCLE_PHASE: &str = "health_lifecycle_phase";
/// `health_probe_responses_total{probe, code}`, a counter per probe and status code.
pub const PROBE_RESPONSES_TOTAL: &str = "health_probe_responses_total";

/// `health_grpc_check_responses_total{probe, status}`, a counter per probe (or `check`, or
/// `unknown`) and serving status, of the gRPC health service's `Check` answers.
pub const GRPC_CHECK_RESPONSES_TOTAL: &str = "health_grpc_check_responses_total";

/// The `outcome` of [`CHECK_RUNS_TOTAL`] counting the rounds an open circuit skipped.
pub const SKIPPED_CIRCUIT_OPEN: &str = "skipped_circuit_open";

/// The most series one check has, counting a histogram as one: 4 `kubernetes_healthcheck`, 8
/// `kubernetes_healthchecks_total`, and 1 + 3 + 6 + 1 + 1 + 3 + 7 of its own.
pub const SERIES_PER_CHECK: usize = 34;

/// The `type` label Kubernetes gives a probe: `startupz`, `livez` or `readyz`.
pub const fn kubernetes_type(probe: Probe) -> &'static str {
    match probe {
        Probe::Startup => "startupz",
        Probe::Live => "livez",
        Probe::Ready => "readyz",
    }
}
