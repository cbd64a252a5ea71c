//! Checks as values: types that know how to check themselves.

use std::future::Future;
use std::sync::Arc;

use crate::outcome::CheckOutcome;

/// A value that can check itself: a database pool, a client, a path on disk.
///
/// Implement it with a plain `async fn`; no attribute is needed:
///
/// ```no_run
/// use health_axum::prelude::*;
///
/// /// A client of another service.
/// #[derive(Clone)]
/// struct UpstreamClient {
///     base_url: String,
/// }
///
/// impl HealthCheck for UpstreamClient {
///     async fn check(&self) -> CheckOutcome {
///         // A real client would call `{base_url}/health` here.
///         if self.base_url.is_empty() {
///             CheckOutcome::unhealthy("no upstream configured")
///         } else {
///             CheckOutcome::healthy()
///         }
///     }
/// }
///
/// #[derive(Clone, HealthState)]
/// struct AppState {
///     #[health(check(name = "upstream", timeout_ms = 300, critical))]
///     upstream: UpstreamClient,
///     #[health(lifecycle)]
///     lifecycle: Lifecycle,
/// }
/// ```
///
/// Register a state field whose type implements it with a field attribute taking the same
/// arguments as `#[health_check]`, as above. Timeouts and panic isolation are applied by the
/// runtime: an implementation does not need its own.
///
/// **The signature.** The trait declares `fn check(&self) -> impl CheckFuture + Send` (a native
/// `async fn` in a trait, Rust 1.75), which an `async fn check(&self) -> CheckOutcome` in the
/// impl satisfies as written. A synchronous `fn check(&self) -> CheckOutcome`, or an
/// `async fn` with another output, is rejected with a message saying what to write (see
/// [`CheckFuture`]). The future must be `Send`: the runtime runs each check on a task of its
/// own. A future written by hand is accepted too: `fn check(&self) -> impl Future<Output =
/// CheckOutcome> + Send`, or a named type such as `Pin<Box<dyn Future<Output = CheckOutcome> +
/// Send + '_>>` (for which rustc's `refining_impl_trait` lint warns that the impl promises more
/// than the trait; `#[allow(refining_impl_trait)]` on the method says that is meant).
///
/// **`#[async_trait]`.** The attribute `health_axum::async_trait` (also in the prelude) accepts
/// an impl of this trait and leaves it as written, so impls written for earlier versions, as
/// `#[async_trait] impl HealthCheck for ...`, still compile. The attribute of the `async-trait`
/// crate itself (`async_trait::async_trait`, or `health_core::async_trait`) rewrites the
/// method into one returning a boxed future, which this trait does not declare: rustc then
/// reports E0195 ("lifetime parameters or bounds on method `check` do not match the trait
/// declaration"). Remove the attribute.
///
/// **Not `dyn`-compatible.** A method returning `impl Trait` cannot be called through a
/// `dyn HealthCheck`; the runtime never needs one (each field check is a function of its own in
/// the state's table, which boxes the future it returns). To choose a check at run time, hold
/// an enum of the possible checks, or a type of your own that matches on its configuration.
/// `Arc<T>` and `Box<T>` implement it when `T` does.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `HealthCheck`, so it cannot be registered with `#[health(check(...))]`",
    label = "this field's type is not a health check",
    note = "if `{Self}` is a type of your crate, implement `HealthCheck` for it, with no attribute: `impl HealthCheck for {Self} {{ async fn check(&self) -> CheckOutcome {{ ... }} }}`",
    note = "for a type of another crate, write a `#[health_check]` async fn that checks it and list the fn in `#[health(checks(...))]`"
)]
pub trait HealthCheck: Send + Sync {
    /// Runs the check once. Implement it as `async fn check(&self) -> CheckOutcome`.
    fn check(&self) -> impl CheckFuture + Send;
}

/// What [`HealthCheck::check`] returns: a future of a [`CheckOutcome`], which is what an
/// `async fn check(&self) -> CheckOutcome` is. Every such future implements it; there is
/// nothing to implement by hand.
///
/// It exists for its error message: a `check` that is not an `async fn`, or whose output is not
/// `CheckOutcome`, is reported as breaking this bound, in words that say what to write, rather
/// than as "`CheckOutcome` is not a future".
#[diagnostic::on_unimplemented(
    message = "`check` in an `impl HealthCheck` must be `async fn check(&self) -> CheckOutcome`",
    label = "expected `async fn check(&self) -> CheckOutcome`",
    note = "the runtime awaits the check under its timeout: write `async fn` (no attribute is needed) and report `CheckOutcome::healthy()`, `CheckOutcome::degraded(..)` or `CheckOutcome::unhealthy(..)`",
    note = "to report a `Result<(), E>` (`E: Display`), convert it: `health_axum::IntoCheckOutcome::into_outcome(result)` is healthy on `Ok(())` and unhealthy with the error's text on `Err`"
)]
pub trait CheckFuture: Future<Output = CheckOutcome> {}

// Not recommended: a future of another output, or a type that is no future at all, is reported
// with `CheckFuture`'s own message, not as a missing `Future` bound.
#[diagnostic::do_not_recommend]
impl<F: Future<Output = CheckOutcome> + ?Sized> CheckFuture for F {}

impl<T: HealthCheck + ?Sized> HealthCheck for Arc<T> {
    fn check(&self) -> impl CheckFuture + Send {
        T::check(self)
    }
}

impl<T: HealthCheck + ?Sized> HealthCheck for Box<T> {
    fn check(&self) -> impl CheckFuture + Send {
        T::check(self)
    }
}
