//! The metrics every check, probe and the lifecycle publish through the `metrics` facade
//! crate, with the cargo feature `metrics` (of `health-axum`, or of this crate).
//!
//! The application installs the exporter (`metrics-exporter-prometheus`, StatsD,
//! OpenTelemetry...); this crate installs none. **Install it first thing in `main`**, before
//! the probe router or the gRPC health service is built and before the state's first probe or
//! scheduler (`serve` starts it): every series is registered once, by the router and the
//! service when they are built and when the state's engine is created at its first use, and
//! recorded through the handles kept from then on, so a run records without looking anything
//! up and a probe request without allocating or locking.
//!
//! The series are the process's: labels name checks and probes, not states, so two states
//! with a check of the same name (or two copies of one state) add up in one series, and the
//! phase is the last one set. A check whose result goes stale (its scheduler stalled) keeps
//! its last gauges; `health_check_last_success_timestamp_seconds` and the run counters stop
//! moving, which is what to alert on. A check that gates only the startup probe is retired by
//! the scheduler within one interval of the application becoming ready: its status and circuit
//! gauges are all 0 from then on (a `refresh` that runs it again counts the run only), and
//! `kubernetes_healthcheck` is 1 (it fails no probe).
//!
//! Labels carry only names the program fixes at compile time (check names, probe names,
//! status values, HTTP status codes): never a message or an error's text, so the number of
//! series is fixed by the number of checks. Each check has at most
//! [`SERIES_PER_CHECK`] series (a histogram counting as one), whatever happens at run time.
//!
//! | series | type | labels | what it is |
//! |---|---|---|---|
//! | `kubernetes_healthcheck` | gauge | `name`, `type` | 1 while the check passes, 0 while it fails or before its first result; `type` is the probe it gates: `startupz`, `livez`, `readyz`, and `healthz` (the full report) for every check. The same name and labels as Kubernetes' own components. |
//! | `kubernetes_healthchecks_total` | counter | `name`, `status`, `type` | runs of the check, by the reported status after the run: `success` or `error` (Kubernetes counts a check at each probe request; checks here run on their own schedule, so this counts runs) |
//! | `health_check_run_duration_seconds` | histogram | `check` | how long each run took (a timed-out run: its timeout) |
//! | `health_check_status` | gauge | `check`, `status` | the reported status (after damping, the circuit and maintenance): 1 on the current one of `healthy`, `degraded`, `unhealthy`, 0 on the others (all 0 before the first result) |
//! | `health_check_last_result` | gauge | `check`, `result` | the raw end of the last run, before damping: 1 on one of `healthy`, `degraded`, `unhealthy`, `timed_out`, `panicked`, `cancelled` |
//! | `health_check_consecutive_failures` | gauge | `check` | unhealthy runs in a row, up to the last one |
//! | `health_check_last_success_timestamp_seconds` | gauge | `check` | Unix time of the end of the last run that was not unhealthy (0: none yet) |
//! | `health_check_circuit_state` | gauge | `check`, `state` | 1 on the circuit's state: `closed`, `open` or `half_open` |
//! | `health_check_runs_total` | counter | `check`, `outcome` | runs by how they ended: `healthy`, `degraded`, `unhealthy`, `timed_out`, `panicked`, `cancelled`, and `skipped_circuit_open` for each round of the background scheduler that the open circuit kept the check from running (a round whose trial comes before the next round is that trial, delayed) |
//! | `health_lifecycle_phase` | gauge | `phase` | 1 on the current phase: `starting`, `started`, `ready`, `draining` |
//! | `health_probe_responses_total` | counter | `probe`, `code` | HTTP answers of the probe routes, by probe (`startup`, `liveness`, `readiness`, `full`) and status code (`200`, `503`, `404`, `405`, or `other`) |
//! | `health_grpc_check_responses_total` | counter | `probe`, `status` | gRPC health `Check` answers (feature `grpc`), by what was asked (`startup`, `liveness`, `readiness`, `check` for one check's name, `unknown`) and answer (`serving`, `not_serving`, `not_found`) |

#[cfg(feature = "metrics")]
mod series;
#[cfg(not(feature = "metrics"))]
#[path = "off.rs"]
mod series;

mod names;

pub use names::{
    kubernetes_type, CHECK_CIRCUIT_STATE, CHECK_CONSECUTIVE_FAILURES, CHECK_LAST_RESULT,
    CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS, CHECK_RUNS_TOTAL, CHECK_RUN_DURATION_SECONDS,
    CHECK_STATUS, GRPC_CHECK_RESPONSES_TOTAL, KUBERNETES_HEALTHCHECK,
    KUBERNETES_HEALTHCHECKS_TOTAL, LIFECYCLE_PHASE, PROBE_RESPONSES_TOTAL, SERIES_PER_CHECK,
    SKIPPED_CIRCUIT_OPEN,
};
pub(crate) use series::{CheckSeries, PhaseSeries};
