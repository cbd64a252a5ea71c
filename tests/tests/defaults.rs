//! The macros and the runtime agree on every default: a check declared with no key, by
//! `#[health_check]` or by `#[health(check)]` on a field, gets exactly the spec that
//! `CheckSpec::new` builds, and that spec holds the `DEFAULT_*` constants (which
//! `health-macros` validates against through its symbolic link to `health-core`'s
//! `defaults.rs`). `ui/fail/max_backoff_below_default_interval.rs` pins a message that quotes
//! a default.

use std::time::Duration;

use health_axum::engine::{
    BoxFuture, Breaker, CheckSpec, Damping, Probes, DEFAULT_FAILURE_THRESHOLD, DEFAULT_INTERVAL_MS,
    DEFAULT_MAX_BACKOFF_MS, DEFAULT_SUCCESS_THRESHOLD, DEFAULT_TIMEOUT_MS,
};
use health_axum::prelude::*;

#[derive(Clone)]
struct Plain;

impl HealthCheck for Plain {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
#[health(checks(bare))]
struct Defaults {
    #[health(check)]
    field: Plain,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn bare() -> Result<(), String> {
    Ok(())
}

fn never(_: &Defaults) -> BoxFuture<'_, CheckOutcome> {
    unreachable!("only the spec is read")
}

/// Every setting of a spec that a key configures, in a comparable form.
fn settings(spec: &CheckSpec<Defaults>) -> impl PartialEq + std::fmt::Debug {
    (
        spec.timeout(),
        spec.degraded_after(),
        spec.is_critical(),
        spec.probes(),
        spec.interval(),
        spec.damping(),
        spec.breaker(),
    )
}

#[test]
fn a_check_without_keys_is_the_runtime_default() {
    let runtime = CheckSpec::<Defaults>::new("runtime", never);
    for spec in Defaults::CHECKS {
        assert_eq!(settings(spec), settings(&runtime), "{}", spec.name());
    }
    assert_eq!(Defaults::CHECKS.len(), 2);
}

#[test]
fn the_runtime_default_is_the_constants() {
    let spec = CheckSpec::<Defaults>::new("runtime", never);
    assert_eq!(spec.timeout(), Duration::from_millis(DEFAULT_TIMEOUT_MS));
    assert_eq!(spec.interval(), Duration::from_millis(DEFAULT_INTERVAL_MS));
    assert_eq!(
        spec.damping(),
        Damping {
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            success_threshold: DEFAULT_SUCCESS_THRESHOLD,
        }
    );
    assert_eq!(
        spec.breaker(),
        Some(Breaker {
            threshold: DEFAULT_FAILURE_THRESHOLD + 1,
            backoff: Duration::from_millis(DEFAULT_INTERVAL_MS),
            max_backoff: Duration::from_millis(DEFAULT_MAX_BACKOFF_MS),
        })
    );
    assert_eq!(spec.probes(), Probes::READY);
    assert!(!spec.is_critical());
    assert_eq!(spec.degraded_after(), None);
}

#[test]
fn the_checks_are_named_after_their_function_and_field() {
    let names: Vec<&str> = Defaults::CHECKS.iter().map(|spec| spec.name()).collect();
    assert_eq!(names, ["bare", "field"]);
}
