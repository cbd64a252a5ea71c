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
    #[health(check(name = "database"))]
    primary: Pool,
    #[health(check(name = "database"))]
    replica: Pool,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
