use health_axum::prelude::*;

#[derive(Clone)]
struct Pool;

impl HealthCheck for Pool {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "database", timeout_ms = 0, critcal))]
    db: Pool,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
