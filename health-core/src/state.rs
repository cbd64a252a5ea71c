//! The trait `#[derive(HealthState)]` implements on the application state, and the handles that
//! lead to one (the state itself, an `Arc` of it, or a state of your own that holds it).

use std::sync::Arc;

use crate::lifecycle::Lifecycle;
use crate::spec::CheckSpec;

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

/// A value that leads to a [`HealthState`]: the state itself, an `Arc` of it (axum services
/// often share their state as `Router<Arc<AppState>>`), or a router state of your own that holds
/// one (implement this trait for it, as you would axum's `FromRef`).
///
/// The probe router and `serve` accept any such value, so the probes are merged into, and
/// served with, the router state the application already uses.
///
/// ```
/// # use health_core::{AsHealthState, CheckSpec, HealthState, Lifecycle};
/// # #[derive(Clone)]
/// # struct AppState { lifecycle: Lifecycle }
/// # impl HealthState for AppState {
/// #     const CHECKS: &'static [CheckSpec<Self>] = &[];
/// #     const VERSION: &'static str = "1.0.0";
/// #     fn lifecycle(&self) -> &Lifecycle { &self.lifecycle }
/// # }
/// /// The router's state: the health state and more.
/// #[derive(Clone)]
/// struct Outer {
///     app: AppState,
///     greeting: &'static str,
/// }
///
/// impl AsHealthState for Outer {
///     type State = AppState;
///     fn health_state(&self) -> &AppState {
///         &self.app
///     }
/// }
/// # let outer = Outer { app: AppState { lifecycle: Lifecycle::new() }, greeting: "hi" };
/// # assert!(std::ptr::eq(outer.health_state(), &outer.app));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not lead to a health state",
    label = "neither a `HealthState`, nor an `Arc` of one, nor a state that implements `AsHealthState`",
    note = "use the `#[derive(HealthState)]` state itself or an `Arc` of it, or implement `health_axum::AsHealthState` for `{Self}` to say which of its fields is the health state"
)]
pub trait AsHealthState: Clone + Send + Sync + 'static {
    /// The health state this value leads to.
    type State: HealthState;

    /// The health state.
    fn health_state(&self) -> &Self::State;
}

impl<S: HealthState> AsHealthState for S {
    type State = S;

    fn health_state(&self) -> &S {
        self
    }
}

impl<S: HealthState> AsHealthState for Arc<S> {
    type State = S;

    fn health_state(&self) -> &S {
        self
    }
}
