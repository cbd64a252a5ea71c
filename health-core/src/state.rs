//! The trait `#[derive(HealthState)]` implements on the application state.

use crate::{CheckSpec, Lifecycle};

/// An application state that carries a registry of health checks and a lifecycle.
///
/// Implement it with `#[derive(HealthState)]`; the derive builds [`HealthState::CHECKS`] at
/// compile time from `#[health(checks(...))]` and `#[health(check(...))]` fields.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a health state",
    label = "`{Self}` does not implement `HealthState`",
    note = "add `#[derive(Clone, HealthState)]` to the state struct, with a `#[health(lifecycle)] lifecycle: Lifecycle` field"
)]
pub trait HealthState: Clone + Send + Sync + 'static {
    /// Every check registered on this state, in declaration order: the functions listed in
    /// `#[health(checks(...))]`, then the fields marked `#[health(check(...))]`.
    const CHECKS: &'static [CheckSpec<Self>];

    /// The version reported in probe bodies: the state's crate version unless overridden with
    /// `#[health(version = "...")]`.
    const VERSION: &'static str;

    /// The lifecycle handle (the `#[health(lifecycle)]` field).
    fn lifecycle(&self) -> &Lifecycle;

    /// The registered check named `name`, if any.
    fn check_named(name: &str) -> Option<&'static CheckSpec<Self>> {
        Self::CHECKS.iter().find(|spec| spec.name() == name)
    }
}
