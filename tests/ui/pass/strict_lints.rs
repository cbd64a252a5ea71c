//! Generated code stays quiet under the lints strict crates enable.
#![deny(warnings, missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(unused_qualifications, unused_results, trivial_casts, unused_extern_crates)]
#![deny(non_snake_case, non_camel_case_types, dead_code, unused_imports)]

use health_axum::prelude::*;

/// The state.
#[derive(Clone, Debug, HealthState)]
#[health(checks(database, ping))]
pub struct AppState {
    #[health(check)]
    upstream: Upstream,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// A self-checking value.
#[derive(Clone, Debug)]
pub struct Upstream;

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

/// Checks the database.
#[health_check(critical)]
pub async fn database(_: &AppState) -> Result<(), String> {
    Ok(())
}

/// Pings.
#[health_check(live)]
pub async fn ping() -> CheckOutcome {
    CheckOutcome::healthy()
}

fn main() {
    let state = AppState { upstream: Upstream, lifecycle: Lifecycle::new() };
    let _router: Router = Router::new().merge(AppState::health_router()).with_state(state);
}
