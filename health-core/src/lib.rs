//! The runtime of the health-probe framework: check specs, concurrent execution with timeouts and
//! panic isolation, aggregation and the application lifecycle. No HTTP and no macros live here;
//! `health-axum` serves these reports over HTTP and `health-macros` generates the registry.
//!
//! Most users depend on `health-axum` only, which re-exports everything here.

mod check;
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
pub use engine::{CheckSnapshot, Circuit};
pub use lifecycle::{AsLifecycle, Lifecycle, Phase};
pub use maintenance::{return_to_service, take_out_of_service, UnknownCheck};
pub use outcome::{CheckOutcome, IntoCheckOutcome};
pub use run::{
    aggregate, check_deadline, evaluate, evaluate_check, evaluate_excluding, latest, refresh,
    run_check, run_checks, CheckReport, CheckResult, Message, Report, Scope,
};
pub use scheduler::{start_scheduler, Scheduler};
pub use spec::{
    BoxFuture, Breaker, CheckFn, CheckSpec, Damping, Probe, Probes, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS, DEFAULT_SUCCESS_THRESHOLD, DEFAULT_TIMEOUT_MS,
};
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

    /// Reports a function listed in `#[health(checks(...))]` without `#[health_check]`: the
    /// derive requires it of a type named like the function when the listed path names a value
    /// but no type, and implements it only for a type of its own that stands for "nothing wrong".
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is listed in `#[health(checks(...))]` but is not a `#[health_check]` function",
        label = "`{Self}` has no `#[health_check]` attribute",
        note = "add `#[health_check]` on the line above `async fn {Self}`: it registers the function as a health check (one that takes no argument or `&YourState`, and returns `Result<(), E>` with `E: Display`, or `CheckOutcome`)"
    )]
    pub trait HealthCheckAttribute {
        /// Compiles only when `Self` implements the trait.
        fn ok(_: core::marker::PhantomData<Self>) {}
    }

    /// Reports two function checks of one state with the same name: implemented only by
    /// [`Distinct`], which [`Select`] picks when the names differ.
    #[diagnostic::on_unimplemented(
        message = "the check `{Self}` has the same name as the check `{Earlier}`: the checks of one state must have distinct names",
        label = "a check of this name is already registered",
        note = "give one of them a distinct name with `#[health_check(name = \"...\")]` on its function"
    )]
    pub trait DistinctCheckName<Earlier: ?Sized> {
        /// Compiles only when the names differ.
        const DISTINCT: () = ();
    }

    impl<Earlier: ?Sized> DistinctCheckName<Earlier> for Distinct {}

    /// Reports a field check named like a function check (`Self`) of the same state.
    #[diagnostic::on_unimplemented(
        message = "this field check has the same name as the check `{Self}`: the checks of one state must have distinct names",
        label = "a check of this name is already registered",
        note = "give one of them a distinct name: `#[health(check(name = \"...\"))]` on this field, or `#[health_check(name = \"...\")]` on `async fn {Self}`"
    )]
    pub trait DistinctFieldCheckName {
        /// Compiles only when the names differ.
        const DISTINCT: () = ();
    }

    impl DistinctFieldCheckName for Distinct {}

    /// `Select<true>` picks the type it is given, `Select<false>` picks [`Distinct`]: the
    /// duplicate-name check of `#[derive(HealthState)]` turns a compile-time comparison into a
    /// type, so that a clash is reported as a trait error under the check's name.
    pub struct Select<const PICK: bool>;

    /// See [`Select`].
    pub trait Pick<T: ?Sized> {
        /// The picked type.
        type Out: ?Sized;
    }

    impl<T: ?Sized> Pick<T> for Select<true> {
        type Out = T;
    }

    impl<T: ?Sized> Pick<T> for Select<false> {
        type Out = Distinct;
    }

    /// A table of the checks of one state, by position: the duplicate-name check of
    /// `#[derive(HealthState)]` looks up the check whose name a later one repeats.
    pub trait CheckAt<const INDEX: usize> {
        /// The check's `#[health_check]` registration.
        type Type: ?Sized;
    }

    /// What [`Select`] picks when two check names differ.
    pub enum Distinct {}

    /// The index of the first name before `names[index]` that equals it, or `index` if there is
    /// none (evaluated at compile time to reject duplicate check names).
    pub const fn first_clash(names: &[&str], index: usize) -> usize {
        let mut i = 0;
        while i < index {
            if str_eq(names[i], names[index]) {
                return i;
            }
            i += 1;
        }
        index
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
