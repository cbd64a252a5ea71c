//! The runtime of the health-probe framework: check specs, concurrent execution with timeouts and
//! panic isolation, the engine of per-check snapshots (single flight, damping, circuit breaker),
//! the event stream of every change, evaluation of the probes against the lifecycle, and the
//! background scheduler. No HTTP and no macros live here; `health-axum` serves these reports over
//! HTTP and `health-macros` generates the registry.
//!
//! Most users depend on `health-axum` only, which re-exports what a service needs from here.
//! `ARCHITECTURE.md` at the repository's root maps the modules.
//!
//! The modules, bottom to top (each imports only from the ones before it):
//! vocabulary (`status`, `phase`, `defaults`, `outcome`, `spec`, `result`, `snapshot`, `time`), [`events`],
//! [`metrics`], `lifecycle`, `check`, `state`, `execution`, `engine`, `evaluation`, `scheduler`,
//! `maintenance`, and the macro support.

// Vocabulary: plain data, no behaviour beyond its own.
mod defaults;
mod outcome;
mod phase;
mod result;
mod snapshot;
mod spec;
mod status;
mod time;

// The event spine, the metrics (feature `metrics`), and the handles that publish on them.
pub mod events;
mod lifecycle;
pub mod metrics;

// The user-facing traits.
mod check;
mod state;

// Running checks, keeping their results, answering probes.
mod engine;
mod evaluation;
mod execution;
mod maintenance;
mod scheduler;

/// The macro support (`macro_support.rs`), under the name generated code uses.
#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;
#[cfg(feature = "postgres")]
mod postgres;

pub use check::{CheckFuture, HealthCheck};
pub use defaults::{
    DEFAULT_FAILURE_THRESHOLD, DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS,
    DEFAULT_SUCCESS_THRESHOLD, DEFAULT_TIMEOUT_MS,
};
pub use engine::refresh;
pub use evaluation::overview::{next_unannounced_change, overview, CheckOverview, Overview};
pub use evaluation::report::{aggregate, CheckReport, Message, Report, Scope};
pub use evaluation::{evaluate, evaluate_check, evaluate_excluding, latest};
pub use execution::{check_deadline, run_check, run_checks, CHECK_SPAN_NAME};
pub use lifecycle::{AsLifecycle, Lifecycle};
pub use maintenance::{return_to_service, take_out_of_service, UnknownCheck};
pub use outcome::{CheckOutcome, IntoCheckOutcome};
pub use phase::Phase;
pub use result::{CheckResult, RunEnd};
pub use scheduler::{start_scheduler, Scheduler};
pub use snapshot::{CheckSnapshot, Circuit};
pub use spec::{BoxFuture, Breaker, CheckFn, CheckSpec, Damping, Probe, Probes};
pub use state::{AsHealthState, HealthState};
pub use status::Status;

/// The `async-trait` crate's attribute, for async traits of your own. An implementation of
/// [`HealthCheck`] takes no attribute (this one would break it: E0195); `health_axum`'s
/// `async_trait`, by contrast, accepts such an impl and leaves it unchanged.
pub use async_trait::async_trait;
