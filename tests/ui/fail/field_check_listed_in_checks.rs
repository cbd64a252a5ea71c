// A field check also listed in `checks(...)`: the field's attribute registers it already.
use health_axum::prelude::*;

#[derive(Clone)]
struct Upstream;

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
#[health(checks(database, upstream))]
struct AppState {
    #[health(check(name = "upstream"))]
    upstream: Upstream,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn database() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = AppState::health_router();
}
