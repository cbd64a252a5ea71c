//! Taking a check out of service (maintenance): the application says a dependency must not be
//! used for now, and readiness fails with that reason until it is back.

use std::fmt;
use std::sync::Arc;

use crate::engine::engine_of;
use crate::state::HealthState;

/// No check of that name is registered on the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCheck {
    name: String,
    known: String,
}

impl UnknownCheck {
    /// The name that was asked for.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for UnknownCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no health check is named {:?}", self.name)?;
        if !self.known.is_empty() {
            write!(f, "; the checks are: {}", self.known)?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownCheck {}

fn slot_index<S: HealthState>(check: &str) -> Result<usize, UnknownCheck> {
    S::CHECKS
        .iter()
        .position(|spec| spec.name() == check)
        .ok_or_else(|| UnknownCheck {
            name: check.to_string(),
            known: S::CHECKS
                .iter()
                .map(|spec| spec.name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Takes the check named `check` out of service with `reason` (a maintenance window, a failover
/// in progress): until [`return_to_service`], it reports unhealthy and counts as critical, so
/// readiness (and every probe it gates) answers 503. Every caller learns that the check is out
/// of service; the `reason` is shown to callers allowed to see details (and logged).
///
/// The check keeps running in the background, so its own result is current when it returns.
///
/// ```no_run
/// # use health_axum::prelude::*;
/// # #[derive(Clone, HealthState)]
/// # #[health(checks(database))]
/// # struct AppState {
/// #     #[health(lifecycle)]
/// #     lifecycle: Lifecycle,
/// # }
/// # #[health_check(name = "database")]
/// # async fn database() -> Result<(), String> { Ok(()) }
/// # fn failover(state: &AppState) -> Result<(), health_axum::UnknownCheck> {
/// health_axum::take_out_of_service(state, "database", "primary failover in progress")?;
/// // ... the failover ...
/// health_axum::return_to_service(state, "database")?;
/// # Ok(())
/// # }
/// ```
pub fn take_out_of_service<S: HealthState>(
    state: &S,
    check: &str,
    reason: impl Into<Arc<str>>,
) -> Result<(), UnknownCheck> {
    let index = slot_index::<S>(check)?;
    engine_of(state)
        .slot(index)
        .set_out_of_service(Some(reason.into()));
    Ok(())
}

/// Puts a check taken out of service with [`take_out_of_service`] back: it reports its own
/// result again.
pub fn return_to_service<S: HealthState>(state: &S, check: &str) -> Result<(), UnknownCheck> {
    let index = slot_index::<S>(check)?;
    engine_of(state).slot(index).set_out_of_service(None);
    Ok(())
}
