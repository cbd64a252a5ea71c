//! The default of every check key that has one: the single source of truth for the runtime
//! (`CheckSpec::new` starts from these) and for `health-macros`, whose `src/defaults.rs` is a
//! symbolic link to this file (the macros validate keys against these values and quote them in
//! their messages). The file has no `use` and no intra-doc link, so that it compiles as a module
//! of either crate; `tests/tests/defaults.rs` checks that a check declared with no key gets
//! exactly these values.
//!
//! Two defaults are rules rather than numbers, and live in `CheckSpec::breaker`: the breaker
//! opens after `failure_threshold + 1` failed runs, and its first back-off is the interval.

/// Timeout applied to a check that declares no `timeout_ms`: 1000 ms.
///
/// One second bounds a hung dependency well inside a Kubernetes probe's `timeoutSeconds: 2`
/// while leaving room for a cold connection to be opened.
pub const DEFAULT_TIMEOUT_MS: u64 = 1000;

/// Interval between two background runs of a check that declares no `interval_ms`: 5000 ms.
///
/// Probes read the latest result instead of calling the dependency, so a result is at most one
/// interval (plus the check's own latency) old. Five seconds is half the kubelet's default
/// `periodSeconds` of 10: every probe sees a result newer than the previous probe, and a
/// dependency sees one query per pod every five seconds, however often it is probed.
pub const DEFAULT_INTERVAL_MS: u64 = 5000;

/// Consecutive results worse than the reported status needed before it turns worse: 2.
///
/// One failed query (a blip: a connection reset, a failover, a GC pause) does not take the pod
/// out of the Service; two in a row do, one interval later.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 2;

/// Consecutive results better than the reported status needed before it turns better: 1.
///
/// Recovery is reported at once: flapping is already held back by the failure threshold.
pub const DEFAULT_SUCCESS_THRESHOLD: u32 = 1;

/// Upper bound on the circuit breaker's back-off when no `max_backoff_ms` is given: 30 000 ms
/// (or the first back-off, if that is longer).
pub const DEFAULT_MAX_BACKOFF_MS: u64 = 30_000;
