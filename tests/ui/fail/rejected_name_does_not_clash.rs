// A rejected `name` is reported once: the function's or field's own name does not stand in for
// it, so it cannot clash with another check that really has that name.
use health_axum::prelude::*;

#[derive(Clone)]
struct Upstream;

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
#[health(checks(db, primary))]
struct AppState {
    #[health(check(name = "Replica DB"))]
    replica: Upstream,
    #[health(check(name = "replica"))]
    other: Upstream,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(name = "Primary DB")]
async fn db() -> Result<(), String> {
    Ok(())
}

#[health_check(name = "db")]
async fn primary() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = AppState::health_router();
}
