use health_axum::prelude::*;

#[derive(Clone)]
struct Pool;

impl HealthCheck for Pool {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
#[health(checks(db))]
struct AppState {
    #[health(check)]
    db: Pool,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn db(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
