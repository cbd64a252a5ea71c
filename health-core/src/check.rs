//! Checks as values: types that know how to check themselves.

use std::sync::Arc;

use async_trait::async_trait;

use crate::outcome::CheckOutcome;

/// A value that can check itself: a database pool, a client, a path on disk.
///
/// Register a state field whose type implements it with a field attribute taking the same
/// arguments as `#[health_check]`:
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
/// #[async_trait]
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
/// Timeouts and panic isolation are applied by the runtime: an implementation does not need
/// its own.
#[async_trait]
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `HealthCheck`, so it cannot be registered with `#[health(check(...))]`",
    label = "this field's type is not a health check",
    note = "if `{Self}` is a type of your crate, implement `health_axum::HealthCheck` for it (with `#[async_trait]`); for any type, write a `#[health_check]` async fn that checks it and list it in `#[health(checks(...))]`",
    note = "a `sqlx::Pool` (`PgPool`, `AnyPool`, ...) is a health check with the `postgres` feature of `health-axum`: `health-axum = {{ ..., features = [\"postgres\"] }}` in Cargo.toml",
    note = "`Option<T>` is not a health check (what would `None` report?): wrap it in a type of your own and implement `HealthCheck` on that, saying what an absent value reports"
)]
pub trait HealthCheck: Send + Sync {
    /// Runs the check once.
    async fn check(&self) -> CheckOutcome;
}

#[async_trait]
impl<T: HealthCheck + ?Sized> HealthCheck for Arc<T> {
    async fn check(&self) -> CheckOutcome {
        T::check(self).await
    }
}

#[async_trait]
impl<T: HealthCheck + ?Sized> HealthCheck for Box<T> {
    async fn check(&self) -> CheckOutcome {
        T::check(self).await
    }
}
