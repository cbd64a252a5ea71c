//! The runtime of the health-probe framework: check specs, concurrent execution with timeouts and
//! panic isolation, aggregation and the application lifecycle. No HTTP and no macros live here;
//! `health-axum` serves these reports over HTTP and `health-macros` generates the registry.
//!
//! Most users depend on `health-axum` only, which re-exports everything here.

mod check;
mod defaults;
mod engine;
mod lifecycle;
mod maintenance;
mod outcome;
#[cfg(feature = "postgres")]
mod postgres;
mod run;
mod scheduler;
mod spec;
mod state;
mod status;

pub use check::HealthCheck;
pub use defaults::{
    DEFAULT_FAILURE_THRESHOLD, DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS,
    DEFAULT_SUCCESS_THRESHOLD, DEFAULT_TIMEOUT_MS,
};
pub use engine::{CheckSnapshot, Circuit};
pub use lifecycle::{AsLifecycle, Lifecycle, Phase};
pub use maintenance::{return_to_service, take_out_of_service, UnknownCheck};
pub use outcome::{CheckOutcome, IntoCheckOutcome};
pub use run::{
    aggregate, check_deadline, evaluate, evaluate_check, evaluate_excluding, latest, refresh,
    run_check, run_checks, CheckReport, CheckResult, Message, Report, Scope,
};
pub use scheduler::{start_scheduler, Scheduler};
pub use spec::{BoxFuture, Breaker, CheckFn, CheckSpec, Damping, Probe, Probes};
pub use state::{AsHealthState, HealthState};
pub use status::Status;

/// Re-exports `async_trait` so that implementations of [`HealthCheck`] need no extra dependency.
pub use async_trait::async_trait;

/// Items used by the code the macros generate. Not public API: names here may change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use crate::{
        AsLifecycle, BoxFuture, CheckOutcome, CheckSpec, HealthCheck, HealthState,
        IntoCheckOutcome, Lifecycle, Probe,
    };
    pub use std::boxed::Box;

    /// Implemented by `#[health_check]` on a hidden type named like the function, so that
    /// `#[health(checks(path))]` can find the function's spec through the same path.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a `#[health_check]` function for state `{S}`",
        label = "not a health check of `{S}`",
        note = "every path in `#[health(checks(...))]` must name an `async fn` annotated with `#[health_check]` that takes no argument or `&{S}`"
    )]
    pub trait RegisteredCheck<S> {
        /// The check's spec.
        const SPEC: CheckSpec<S>;
    }

    /// The `Ok` type of a `Result` returned by a `#[health_check]` function.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be the `Ok` type of a health check's `Result`",
        label = "the `Ok` type must be `()` or `CheckOutcome`",
        note = "return `Result<(), E>` (healthy on `Ok(())`), or `Result<CheckOutcome, E>` to report degraded or attach details"
    )]
    pub trait CheckOk {
        /// The outcome of a run that returned `Ok(self)`.
        fn into_outcome(self) -> CheckOutcome;
    }

    impl CheckOk for () {
        fn into_outcome(self) -> CheckOutcome {
            CheckOutcome::healthy()
        }
    }

    impl CheckOk for CheckOutcome {
        fn into_outcome(self) -> CheckOutcome {
            self
        }
    }

    /// The error type of a `Result` returned by a `#[health_check]` function: anything that
    /// implements `Display`, whose text becomes the check's message.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` doesn't implement `Display`, so it cannot be the error of a health check",
        label = "a health check's error must implement `std::fmt::Display`: its text becomes the check's message",
        note = "implement `std::fmt::Display` for `{Self}`, or return `Result<(), String>` and convert the error where it arises with `.map_err(|e| format!(\"{{e:?}}\"))?`"
    )]
    pub trait CheckError {
        /// The unhealthy outcome of a run that returned `Err(self)`.
        fn into_outcome(self) -> CheckOutcome;
    }

    // Not recommended: an error type that is not `Display` is reported with `CheckError`'s own
    // message, on the error type, rather than as a missing `Display` bound.
    #[diagnostic::do_not_recommend]
    impl<E: core::fmt::Display> CheckError for E {
        fn into_outcome(self) -> CheckOutcome {
            CheckOutcome::unhealthy(self.to_string())
        }
    }

    /// Whether `names[index]` equals one of the names before it (evaluated at compile time to
    /// reject duplicate check names).
    pub const fn name_taken(names: &[&str], index: usize) -> bool {
        let mut i = 0;
        while i < index {
            if str_eq(names[i], names[index]) {
                return true;
            }
            i += 1;
        }
        false
    }

    /// A message assembled at compile time, for `panic!("{}", ..)` in const assertions.
    pub struct ConstMessage {
        buf: [u8; 512],
        len: usize,
    }

    impl ConstMessage {
        /// Concatenates `parts`, truncated to the buffer.
        pub const fn concat(parts: &[&str]) -> ConstMessage {
            let mut message = ConstMessage {
                buf: [0; 512],
                len: 0,
            };
            let mut p = 0;
            while p < parts.len() {
                let bytes = parts[p].as_bytes();
                let mut i = 0;
                while i < bytes.len() && message.len < message.buf.len() {
                    message.buf[message.len] = bytes[i];
                    message.len += 1;
                    i += 1;
                }
                p += 1;
            }
            message
        }

        /// The message (or a generic one if truncation split a character).
        pub const fn as_str(&self) -> &str {
            match core::str::from_utf8(self.buf.split_at(self.len).0) {
                Ok(s) => s,
                Err(_) => "two health checks have the same name",
            }
        }
    }

    const fn str_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
}
